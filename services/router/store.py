"""The router's own state on Kafka: a compacted changelog keyed by ticket id, one partition per
input partition, restored when a partition is assigned.

One record holds all a ticket's state at once: the kernel's ticket, the updates parked until
its request arrives, and an outbox — every event the inputs of the last write caused, with
where those inputs lie. The record is written (and acknowledged) before any of those events
is sent, and input offsets are committed only after every send is acknowledged. So after a
crash anywhere, the new owner either finds the inputs not applied (they are redelivered and
decided again: the same ids, the same content, nothing was sent) or applied with their outbox,
which it sends again before taking new input, as long as one of the outbox's inputs is at or
after the committed offset (consumers dedupe on the ids, which derive from the causes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.router.kernel.state import Ticket

log = logging.getLogger(__name__)

Coordinates = tuple[str, int, int]
"""(physical topic, partition, offset) of a consumed record"""
Output = tuple[str, bytes, bytes]
"""(physical topic, key, value) of an event to send"""


@dataclass(frozen=True, slots=True)
class Parked:
    """An input held until its ticket's request arrives, with the coordinates of its record
    (a refusal then dead-letters its own bytes and coordinates)."""

    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: int | None
    """Kafka's record timestamp, milliseconds"""

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value.decode(),
            "key": self.key.decode() if self.key is not None else None,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Parked:
        key = item.get("key")
        return cls(
            item["value"].encode(),
            key.encode() if key is not None else None,
            item["topic"],
            item["partition"],
            item["offset"],
            item.get("timestamp"),
        )


@dataclass
class Entry:
    """One ticket's changelog record."""

    ticket: Ticket | None = None
    parked: list[Parked] = field(default_factory=list)
    causes: list[Coordinates] = field(default_factory=list)
    outbox: list[Output] = field(default_factory=list)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "ticket": self.ticket.model_dump(mode="json") if self.ticket is not None else None,
                "parked": [p.as_json() for p in self.parked],
                "causes": self.causes,
                "outbox": [[t, k.decode(), v.decode()] for t, k, v in self.outbox],
            }
        )

    @classmethod
    def decode(cls, value: bytes) -> Entry:
        doc = orjson.loads(value)
        ticket = doc.get("ticket")
        return cls(
            Ticket.model_validate(ticket) if ticket is not None else None,
            [Parked.from_json(p) for p in doc.get("parked", [])],
            [(t, p, o) for t, p, o in doc.get("causes", [])],
            [(t, k.encode(), v.encode()) for t, k, v in doc.get("outbox", [])],
        )

    def unsent(self, committed: dict[tuple[str, int], int]) -> bool:
        """Some input of the outbox is at or after its partition's committed offset: it will
        be redelivered, and its decisions may not have been sent."""
        return any(offset >= committed.get((t, p), -1) for t, p, offset in self.causes)


async def read_to_end(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], stall_timeout: float = 30.0
) -> dict[TopicPartition, list[Any]]:
    """Every record of ``tps`` from the beginning to (at least) the end known now; the
    consumer stays where it stopped, so it can follow the partitions on.

    The end is the larger of the broker's end offset and the high watermark of the first
    fetch: Tansu 0.6 answers ListOffsets with the last batch's base offset + 1."""
    found: dict[TopicPartition, list[Any]] = {tp: [] for tp in tps}
    if not tps:
        return found
    consumer.assign(tps)
    begins = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    for tp in tps:
        consumer.seek(tp, begins[tp])
    left = {tp for tp in tps if ends[tp] > begins[tp]}
    seen: set[TopicPartition] = set()
    loop = asyncio.get_running_loop()
    progress = loop.time()
    while left:
        batch = await consumer.getmany(*left, timeout_ms=200, max_records=20_000)
        for tp, records in batch.items():
            progress = loop.time()
            if tp not in seen:
                seen.add(tp)
                ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
            found[tp].extend(records)  # past the end too: newer, and the follower's
        for tp in list(left):
            if tp in seen and await consumer.position(tp) >= ends[tp]:
                left.discard(tp)
        if left and loop.time() - progress > stall_timeout:
            raise TimeoutError(f"restoring router state: {len(left)} partitions stalled")
    return found


def latest(records: list[Any]) -> dict[str, Entry | None]:
    """The compacted view of changelog records: the last per key (None: deleted)."""
    out: dict[str, bytes | None] = {}
    for record in records:
        if record.key is not None:
            out[record.key.decode()] = record.value
    return {k: Entry.decode(v) if v else None for k, v in out.items()}
