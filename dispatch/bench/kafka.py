"""Kafka helpers for the benchmarks: bulk produce, and collect what a topic receives."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.codec import HEADERS
from services.common.bus import make_consumer, make_producer


class BenchError(RuntimeError):
    """A measurement could not complete (a service died, a deadline passed)."""


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def produce_all(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Write every (key, value), batched, and return once all are acknowledged."""
    producer = make_producer(bootstrap, linger_ms=5)
    await producer.start()
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key, headers=HEADERS))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


@dataclass
class Seen:
    """Records a watcher saw: Kafka timestamps (ms) and arrival wall times (time.time())."""

    kafka_ms: list[int] = field(default_factory=list)
    arrived: dict[bytes, float] = field(default_factory=dict)
    values: list[bytes] = field(default_factory=list)


class Watcher:
    """Reads a topic from its current end, keeping what matches, until told to stop."""

    def __init__(
        self, bootstrap: str, topic: str, keep: Callable[[bytes], bool], keep_values: bool = False
    ) -> None:
        self.topic = topic
        self.keep = keep
        self.keep_values = keep_values
        self.seen = Seen()
        self._consumer: AIOKafkaConsumer = make_consumer(
            bootstrap, topic, group=None, auto_offset_reset="latest", fetch_max_wait_ms=50
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.seek_to_end()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.time()
            for records in batch.values():
                for record in records:
                    if record.value is not None and self.keep(record.value):
                        self.seen.kafka_ms.append(record.timestamp)
                        if record.key is not None:
                            self.seen.arrived.setdefault(record.key, now)
                        if self.keep_values:
                            self.seen.values.append(record.value)

    async def wait_for(
        self, count: int, timeout: float, alive: Callable[[], None] | None = None
    ) -> Seen:
        deadline = time.monotonic() + timeout
        while len(self.seen.kafka_ms) < count:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.topic}: {len(self.seen.kafka_ms)} of {count} records "
                    f"after {timeout:.0f}s"
                )
            if alive is not None:
                alive()
            await asyncio.sleep(0.05)
        return self.seen

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


def rate(count: int, kafka_ms: list[int]) -> float:
    """Events per second between the first and the last record (Kafka timestamps)."""
    span = (max(kafka_ms) - min(kafka_ms)) / 1000
    return round(count / span, 1) if span > 0 else float("inf")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}
