"""Kafka plumbing shared by the services: topic creation, producers, publishing events."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from schemas import topics
from schemas.codec import HEADERS, encode, key_of
from schemas.envelope import CloudEvent, derive_id
from schemas.events import InputRejected, InputRejectedData, Origin
from services.common.settings import Settings

log = logging.getLogger(__name__)


class Topics:
    """The physical topic names of one deployment (its prefix applied to the catalog)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __call__(self, name: str) -> str:
        return topics.topic_name(name, self.prefix)

    def of(self, event: CloudEvent) -> str:
        return self(event.TOPIC)


def kafka_security(settings: Settings | None = None) -> dict[str, Any]:
    """The aiokafka keyword arguments that authenticate and encrypt a client's connections.

    Every Kafka client of the project is built with these (the builders below call this; a
    client built elsewhere must pass ``**kafka_security(settings)``). Without ``settings`` they
    come from the ``DISPATCH_KAFKA_*`` environment, the same for every client of a process.
    """
    s = settings if settings is not None else Settings()
    options: dict[str, Any] = {"security_protocol": s.kafka_security_protocol}
    if s.kafka_security_protocol.endswith("SSL"):
        cafile = str(s.kafka_ca_file) if s.kafka_ca_file else None
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if s.kafka_security_protocol.startswith("SASL_"):
        password = s.kafka_sasl_password
        options |= {
            "sasl_mechanism": s.kafka_sasl_mechanism,
            "sasl_plain_username": s.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else "",
        }
    return options


def catalog_configs(min_insync_replicas: int | None = None) -> dict[str, dict[str, str]]:
    """Catalog name → the configs its topic is created with (what compose and k8s repeat)."""
    extra = {} if min_insync_replicas is None else {"min.insync.replicas": str(min_insync_replicas)}
    return {spec.name: spec.topic_configs() | extra for spec in topics.CATALOG}


async def ensure_topics(
    bootstrap: str,
    prefix: str,
    partitions: int,
    replication: int,
    timeout: float = 30.0,
    *,
    min_insync_replicas: int | None = None,
    security: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create every catalog topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=10_000,
        **(kafka_security() if security is None else security),
    )
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except KafkaError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                topics.topic_name(name, prefix), partitions, replication, topic_configs=configs
            )
            for name, configs in catalog_configs(min_insync_replicas).items()
            if topics.topic_name(name, prefix) not in existing
        ]
        if not wanted:
            return []
        response = await admin.create_topics(wanted)
        created = []
        for name, code, message in _topic_errors(response):
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise KafkaError(f"cannot create topic {name}: error {code} {message or ''}")
        return created
    finally:
        await admin.close()


def _topic_errors(response: object) -> Iterable[tuple[str, int, str | None]]:
    for item in getattr(response, "topic_errors", []):
        name, code = item[0], item[1]
        message = item[2] if len(item) > 2 else None
        yield name, code, message


_PARTITIONER = DefaultPartitioner()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a producer's default partitioner (murmur2) puts ``key`` on."""
    every = list(range(partitions))
    found: int = _PARTITIONER(key, every, every)
    return found


def make_producer(
    bootstrap: str, *, security: Mapping[str, Any] | None = None, **overrides: object
) -> AIOKafkaProducer:
    """A producer that reports a send only once every in-sync replica has it (acks=all)."""
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        **(kafka_security() if security is None else security),
        "acks": "all",
        "linger_ms": 2,
        "request_timeout_ms": 10_000,
        "max_batch_size": 262_144,
        **overrides,
    }
    return AIOKafkaProducer(**options)


def make_consumer(
    bootstrap: str,
    *names: str,
    group: str | None,
    security: Mapping[str, Any] | None = None,
    **overrides: object,
) -> AIOKafkaConsumer:
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        **(kafka_security() if security is None else security),
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "max_poll_interval_ms": 60_000,
        **overrides,
    }
    return AIOKafkaConsumer(*names, **options)


async def publish(producer: AIOKafkaProducer, names: Topics, event: CloudEvent) -> None:
    """Write ``event`` to its topic, keyed by ticket id; returns once the broker acknowledged."""
    await producer.send_and_wait(names.of(event), encode(event), key=key_of(event), headers=HEADERS)


def rejected(
    value: bytes | None,
    key: bytes | None,
    reason: str,
    errors: list[str],
    origin: Origin,
    when: datetime,
    subject: str | None = None,
) -> InputRejected:
    """The dead letter for an input that cannot be handled: original bytes, reason, origin."""
    where = f"{origin.topic}/{origin.partition}/{origin.offset}" if origin.topic else reason
    cause = f"{origin.service}:{where}"
    return InputRejected(
        id=derive_id(cause, "rejected"),
        source=f"/dispatch/{origin.service}",
        time=when,
        subject=subject or (key.decode("utf-8", "replace") if key else where)[:128] or "-",
        causationid=cause[:256],
        correlationid=cause[:256],
        data=InputRejectedData(
            reason=reason,
            errors=errors[:50],
            origin=origin,
            original=base64.b64encode(value or b"").decode(),
            original_key=base64.b64encode(key).decode() if key is not None else None,
        ),
    )
