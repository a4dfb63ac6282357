"""The notifier's side of the ``dispatch.decisions`` consumer group: which partitions it owns,
which offsets it may commit (``progress.py``), and the hand-over of a partition.

A partition taken over is processed only once the ledger has caught up with every outcome
recorded so far (by any instance); a partition given away first lets its deliveries finish
for a while and commits what is finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.notifier.ledger import LedgerFollower
from services.notifier.progress import PartitionProgress, Progress

log = logging.getLogger(__name__)


class Offsets(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        follower: LedgerFollower,
        max_in_flight: int,
        grace_s: float,
    ) -> None:
        self.consumer = consumer
        self.follower = follower
        self.max_in_flight = max_in_flight
        self.grace_s = grace_s
        self.progress: Progress[TopicPartition] = Progress()
        self.settling: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self.synced: set[TopicPartition] = set()

    async def ready(self, partitions: Iterable[TopicPartition]) -> None:
        """Catch the ledger up before the first decision of a partition taken over."""
        fresh = set(partitions) - self.synced
        if fresh:
            await self.follower.sync()
            self.synced |= fresh

    def owns(self, partition: TopicPartition) -> bool:
        return partition in self.consumer.assignment()

    def begin(self, partition: TopicPartition, offset: int) -> PartitionProgress:
        progress = self.progress.of(partition)
        progress.begin(offset)
        return progress

    def settling_on(self, partition: TopicPartition, task: asyncio.Task[None]) -> None:
        waiting = self.settling.setdefault(partition, set())
        waiting.add(task)
        task.add_done_callback(waiting.discard)

    def throttle(self) -> None:
        """Stop fetching while too many decisions are in flight (a receiver is down)."""
        owned = self.consumer.assignment()
        if self.progress.in_flight >= self.max_in_flight:
            self.consumer.pause(*owned)
        elif self.consumer.paused():
            self.consumer.resume(*owned)

    async def commit(self, only: set[TopicPartition] | None = None) -> None:
        owned = self.consumer.assignment()
        offsets = self.progress.to_commit(owned if only is None else only & owned)
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("commit of %s failed (redelivered later, not re-sent): %r", offsets, exc)
            return
        self.progress.mark(offsets)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        waiting = [task for p in revoked for task in self.settling.get(p, ())]
        if waiting:
            await asyncio.wait(waiting, timeout=self.grace_s)
        await self.commit(set(revoked))
        for partition in revoked:
            self.progress.drop(partition)
            self.settling.pop(partition, None)
            self.synced.discard(partition)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("decisions partitions assigned: %s", sorted(p.partition for p in assigned))

    async def drain(self) -> None:
        """Let every settling decision see its (cancelled or finished) deliveries."""
        tasks = [task for waiting in self.settling.values() for task in waiting]
        await asyncio.gather(*tasks, return_exceptions=True)
