"""The read side of ``dispatch watch``: a plain consumer (no group, nothing committed, no topic
ever created) over the deployment's topics from the beginning, folded with ``Kpis.fold``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.envelope import CloudEvent
from services.common.bus import Topics
from services.console.kpis import Kpis

WATCHED = (
    topics.REQUESTS,
    topics.UPDATES,
    topics.DECISIONS,
    topics.NOTIFICATIONS,
    topics.DEADLETTER,
)
DISCOVER_S = 5.0  # how often the live view looks for topics created after it started
STALL_S = 30.0  # --once gives up when the broker sends nothing for this long


class WatchError(RuntimeError):
    """The topics cannot be read: no broker at the address, or none of the topics."""


def in_order(records: list[ConsumerRecord[bytes, bytes]]) -> tuple[list[CloudEvent], int]:
    """The events of ``records`` in event-time order (a batch from several topics interleaves
    them: a claim may come before its assignment), and how many records were not events."""
    events: list[CloudEvent] = []
    skipped = 0
    for record in records:
        try:
            events.append(decode(record.value or b""))
        except EventDecodeError:
            skipped += 1  # the producers dead-letter bad input; the view only reads
    rank = {name: i for i, name in enumerate(WATCHED)}
    events.sort(key=lambda e: (e.time, rank.get(e.TOPIC, len(WATCHED))))  # stable: offsets kept
    return events, skipped


@dataclass
class Reader:
    """The consumer and what was read through it."""

    consumer: AIOKafkaConsumer
    names: Topics
    kpis: Kpis = field(default_factory=Kpis)
    folded: int = 0
    skipped: int = 0  # records that are not events (the producers dead-letter bad input)
    subscribed: frozenset[str] = frozenset()
    warning: str = ""

    def fold(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        events, skipped = in_order(records)
        self.skipped += skipped
        self.folded += sum(1 for e in events if self.kpis.fold(e))

    async def discover(self) -> bool:
        """Subscribe to every watched topic that exists (re-reading is harmless: the fold
        dedupes by id); True when the subscription changed."""
        wanted = {self.names(t) for t in WATCHED}
        present = frozenset(wanted & await self.consumer.topics())
        if present == self.subscribed:
            return False
        self.consumer.subscribe(topics=sorted(present))
        self.subscribed = present
        return True

    async def fetch(self, timeout_s: float) -> list[ConsumerRecord[bytes, bytes]]:
        if not self.subscribed:
            await asyncio.sleep(timeout_s)
            return []
        batch = await self.consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=5000)
        return [record for records in batch.values() for record in records]

    def status(self, bootstrap: str) -> str:
        parts = [bootstrap, f"前缀 {self.names.prefix or '(无)'}", f"已处理 {self.folded} 条事件"]
        if not self.subscribed:
            parts.append("等待主题创建…")
        if self.skipped:
            parts.append(f"跳过 {self.skipped} 条无法解析的记录")
        if self.warning:
            parts.append(f"⚠ {self.warning}")
        return " · ".join(parts)


async def catch_up(reader: Reader, stop: asyncio.Event) -> None:
    """Read every subscribed partition up to its end offset as of now, then fold it all."""
    consumer = reader.consumer
    given_up = time.monotonic() + STALL_S
    while {tp.topic for tp in consumer.assignment()} != reader.subscribed:
        if stop.is_set():
            return
        if time.monotonic() > given_up:
            raise WatchError(f"no partitions of {sorted(reader.subscribed)} after {STALL_S:.0f}s")
        await asyncio.sleep(0.05)  # the subscription's partitions arrive with metadata
    ends = await consumer.end_offsets(list(consumer.assignment()))
    records: list[ConsumerRecord[bytes, bytes]] = []
    quiet_since = time.monotonic()
    while not stop.is_set():
        behind = [tp for tp, end in ends.items() if await consumer.position(tp) < end]
        if not behind:
            break
        batch = await reader.fetch(0.2)
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > STALL_S:
            raise WatchError(f"the broker sent nothing for {STALL_S:.0f}s; behind on {behind}")
        records += batch
    reader.fold(records)
