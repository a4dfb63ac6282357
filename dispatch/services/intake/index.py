"""Which tickets exist: rebuilt from ``dispatch.requests`` itself, so it survives an intake
restart and every intake instance sees the tickets any other instance accepted."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from dispatch.bus import Topics, make_consumer
from dispatch.schemas import topics

log = logging.getLogger(__name__)


class TicketIndex:
    """Ticket ids seen on the requests topic (the key of every record is its ticket id)."""

    def __init__(self, bootstrap: str, names: Topics) -> None:
        self._bootstrap = bootstrap
        self._topic = names(topics.REQUESTS)
        self._known: set[str] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def __contains__(self, ticket_id: str) -> bool:
        return ticket_id in self._known

    def add(self, ticket_id: str) -> None:
        self._known.add(ticket_id)

    async def start(self) -> None:
        consumer = make_consumer(self._bootstrap, group=None)
        await consumer.start()
        self._consumer = consumer
        await consumer.topics()  # fills the metadata cache
        partitions = consumer.partitions_for_topic(self._topic) or set()
        assigned = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned) if assigned else {}
        self._task = asyncio.create_task(self._run(ends), name="ticket-index")

    async def _run(self, ends: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        pending = {tp: end for tp, end in ends.items() if end > 0}
        if not pending:
            self.ready.set()
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    if record.key:
                        self._known.add(record.key.decode("utf-8", "replace"))
                if tp in pending and records and records[-1].offset + 1 >= pending[tp]:
                    del pending[tp]
            if not pending and not self.ready.is_set():
                log.info("ticket index caught up: %d tickets", len(self._known))
                self.ready.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
