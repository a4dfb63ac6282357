"""Faust on aiokafka, with a fetch wait that keeps latency low on every broker.

Faust hardcodes ``fetch_max_wait_ms=1500`` for its consumer. Apache Kafka answers a fetch as
soon as data arrives, but Tansu (the embedded broker) holds every fetch for the whole wait: a
request then waited about half of 1.5 s for the router (measured: median 428 ms at 1500 ms,
2 ms at 10 ms). A short wait costs an idle broker a few more empty fetches a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.auth import CredentialsT

FETCH_MAX_WAIT_MS = 20


def credentials(security: Mapping[str, Any]) -> CredentialsT | None:
    """``services.common.bus.kafka_security`` in Faust's terms (its producer, consumer and
    admin client all connect with them); ``None`` for plaintext."""
    protocol = security.get("security_protocol", "PLAINTEXT")
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=security["sasl_plain_username"],
            password=security["sasl_plain_password"],
            ssl_context=security.get("ssl_context") if protocol == "SASL_SSL" else None,
            mechanism=security["sasl_mechanism"],
        )
    if protocol == "SSL":
        return faust.SSLCredentials(security["ssl_context"])
    return None


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when it starts its fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


class App(faust.App):
    """A Faust app whose consumer uses the short fetch wait."""

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)


RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes}


def faust_broker_url(bootstrap: str) -> str:
    """``h1:9092,h2:9092`` → ``kafka://h1:9092;kafka://h2:9092`` (Faust's form)."""
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def faust_app(settings: Any, bootstrap: str, name: str = "dispatch-router") -> faust.App:
    """The settings the router ran with as a Faust app (kept for the bench's Faust floor)."""
    return App(
        f"{settings.topic_prefix}{name}",
        broker=faust_broker_url(bootstrap),
        store="memory://",
        datadir=str(settings.state_dir / name),
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_rebalance_timeout=5,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
    )


def serve(app: faust.App, settings: Any) -> None:
    """Run a Faust app in this process until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    # At WARNING and above Faust turns the root logger to DEBUG to spin a terminal spinner on
    # every record: every send then builds a debug LogRecord (~10% of the router's time).
    worker.spinner = None
    worker.execute_from_commandline()
