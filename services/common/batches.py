"""Many records sent at once: one aiokafka record batch per topic partition instead of one
``send`` per record.

``AIOKafkaProducer.send`` costs tens of microseconds a record in Python (the partitioner's
murmur2, the accumulator, a future each); a service that writes hundreds of records a batch
(the router) spends more time there than deciding them. Here the records of one partition go
into aiokafka's own ``BatchBuilder`` (its C record builder) and are handed over with
``send_batch``: a future a batch. Keyed records land on the partition ``send`` would have
chosen (aiokafka's ``DefaultPartitioner``, murmur2 as in the Java client), so the co-partitioning
every consumer relies on does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    partition: int | None = None
    """None: the key's partition (as ``send`` would choose it)"""


@lru_cache(maxsize=1 << 16)
def _hash(key: bytes) -> int:
    found: int = murmur2(key)
    return found & 0x7FFFFFFF


class Sender:
    """Sends lists of records through one producer; knows each topic's partition count."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.partitions: dict[str, list[int]] = {}

    async def _partitions(self, topic: str) -> list[int]:
        found = self.partitions.get(topic)
        if found is None:
            found = sorted(await self.producer.partitions_for(topic))
            self.partitions[topic] = found
        return found

    async def send(self, records: Sequence[Record]) -> list[Any]:
        """Queue every record, in order within each partition; returns the batches' futures
        (each resolves once the broker has acknowledged its batch, or fails)."""
        groups: dict[tuple[str, int], list[Record]] = {}
        for record in records:
            partition = record.partition
            if partition is None:
                if record.key is None:
                    raise ValueError(f"a record for {record.topic} has neither key nor partition")
                every = await self._partitions(record.topic)
                partition = every[_hash(record.key) % len(every)]
            groups.setdefault((record.topic, partition), []).append(record)
        futures = []
        for (topic, partition), members in groups.items():
            builder = self.producer.create_batch()
            for record in members:
                headers = list(record.headers)
                added = builder.append(
                    timestamp=None, key=record.key, value=record.value, headers=headers
                )
                if added is not None:
                    continue
                # full: send it and go on in a new one (whose first record always fits)
                futures.append(await self.producer.send_batch(builder, topic, partition=partition))
                builder = self.producer.create_batch()
                builder.append(timestamp=None, key=record.key, value=record.value, headers=headers)
            futures.append(await self.producer.send_batch(builder, topic, partition=partition))
        return futures
