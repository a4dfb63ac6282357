"""The open-place index on Kafka (``dispatch.router.places``, compacted, keyed by place): every
router process reads all of it at start and follows it, so a repeat report on any partition
meets the open ticket on any other. A process skips its own records (it applied them in
memory, in order, when it decided them); the rules of the index are the kernel's
(``kernel/places.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common.batches import Record
from services.common.bus import Topics, make_consumer
from services.router.store import read_to_end

PLACES = "dispatch.router.places"
WRITER = "dispatch-router"


def change(names: Topics, instance: str, place: str, holder: str | None) -> Record:
    """One change of the index (None frees the place: a tombstone), as a record to send."""
    return Record(
        names(PLACES),
        place.encode(),
        holder.encode() if holder is not None else None,
        headers=((WRITER, instance.encode()),),
    )


class PlaceLog:
    def __init__(self, bootstrap: str, names: Topics, instance: str, index: dict[str, str]):
        self.topic = names(PLACES)
        self.instance = instance.encode()
        self.index = index
        self.consumer: AIOKafkaConsumer = make_consumer(
            bootstrap, group=None, fetch_max_wait_ms=100
        )

    async def start(self) -> None:
        """The whole index as the log has it now."""
        await self.consumer.start()
        await self.consumer.topics()
        parts = sorted(self.consumer.partitions_for_topic(self.topic) or ())
        found = await read_to_end(self.consumer, [TopicPartition(self.topic, p) for p in parts])
        for records in found.values():
            for record in records:
                self.keep(record, own_too=True)

    async def follow(self) -> None:
        """Other routers' changes, as they come."""
        while True:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                for record in records:
                    self.keep(record, own_too=False)
            await asyncio.sleep(0)

    def keep(self, record: Any, own_too: bool) -> None:
        if record.key is None:
            return
        if not own_too and (WRITER, self.instance) in list(record.headers or ()):
            return
        place = record.key.decode()
        if record.value:
            self.index[place] = record.value.decode()
        else:
            self.index.pop(place, None)

    async def stop(self) -> None:
        await self.consumer.stop()
