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
