"""Follow topics from their beginning, in this process: the shell under the ledger and the
read model. ``ready`` is set once the end offsets seen at start are reached; ``sync()`` waits
until every record the broker had acknowledged before the call has been applied, which gives
read-your-writes across intake instances. Records this process wrote itself (``wrote``) and
already applied need no wait: a ``sync()`` behind only by those returns at once, so an
instance's own admissions do not wait for a fetch of what they just wrote.

With a ``Snapshot`` (``store.py``), a tail resumes where the snapshot's positions say, once the
broker is found to hold the same records there, and hands the snapshot its positions after
every batch it applied, to be written with the state they reflect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Protocol, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from services.common.bus import make_consumer, partition_of
from services.intake.store import Position, digest

log = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]


class TailUnavailableError(RuntimeError):
    """The broker did not answer in time: the view cannot be brought up to date."""


VERIFY_TIMEOUT_S = 10.0
CHECKPOINT_EVERY_S = 1.0
"""How often at most the snapshot is written while records arrive (and once more at stop): a
transaction per batch made a resident's POST pay for a SQLite write (and a compression) of each
of its ticket's states; in between, the states not yet written are served from memory, and a
crash costs a restart at most this much of the log read again."""


class Snapshot(Protocol):
    def positions(self) -> dict[TopicPartition, Position]:
        """Where the state written last stands in each partition."""
        ...

    def forget(self) -> None:
        """The log is not the one the snapshot was taken of: start from nothing."""
        ...

    def checkpoint(self, moved: dict[TopicPartition, Position]) -> None:
        """Write the state applied so far with the positions it reflects (one transaction)."""
        ...


class Tail:
    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        apply: Callable[[Record], None],
        name: str,
        snapshot: Snapshot | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._snapshot = snapshot
        self._last: dict[TopicPartition, Position] = {}
        self.resumed = 0
        """records the snapshot spared this start (0: read from the beginning)"""
        self._topics = topics
        self._apply = apply
        self._name = name
        self._consumer: AIOKafkaConsumer | None = None
        # End offsets from a consumer that fetches nothing: the following consumer's requests
        # queue behind its own long-polling fetch (Tansu holds it for fetch_max_wait_ms).
        self._offsets: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._partitions: list[TopicPartition] = []
        self._counts: dict[str, int] = {}  # partitions of each topic, known at start
        self._positions: dict[TopicPartition, int] = {}
        self._own: dict[TopicPartition, set[int]] = {}
        self._moved = asyncio.Condition()
        self._unsaved = False
        self.ready = asyncio.Event()

    async def start(self) -> None:
        consumer = make_consumer(self._bootstrap, group=None, fetch_max_wait_ms=100)
        await consumer.start()
        self._consumer = consumer
        self._offsets = make_consumer(self._bootstrap, group=None)
        await self._offsets.start()
        await consumer.topics()  # fills the metadata cache
        self._partitions = [
            TopicPartition(topic, p)
            for topic in self._topics
            for p in sorted(consumer.partitions_for_topic(topic) or set())
        ]
        consumer.assign(self._partitions)
        for tp in self._partitions:
            self._counts[tp.topic] = self._counts.get(tp.topic, 0) + 1
        ends = await consumer.end_offsets(self._partitions) if self._partitions else {}
        starts = await self._resume(consumer, ends)
        for tp in self._partitions:
            if tp in starts:
                consumer.seek(tp, starts[tp][0])
            else:
                await consumer.seek_to_beginning(tp)
        self._task = asyncio.create_task(self._run(ends), name=f"tail-{self._name}")

    async def _resume(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> dict[TopicPartition, Position]:
        """The snapshot's positions, if the broker holds the records they were taken after."""
        if self._snapshot is None:
            return {}
        saved = {tp: p for tp, p in self._snapshot.positions().items() if tp in ends}
        wrong = await self._differs(consumer, saved, ends)
        if wrong is not None:
            log.warning("%s: snapshot dropped (%s); reading from the beginning", self._name, wrong)
            self._snapshot.forget()
            return {}
        self._last = dict(saved)
        self.resumed = sum(n for n, _ in saved.values())
        if saved:
            log.info("%s resumes from its snapshot (%d records spared)", self._name, self.resumed)
        return saved

    async def _differs(
        self,
        consumer: AIOKafkaConsumer,
        saved: dict[TopicPartition, Position],
        ends: dict[TopicPartition, int],
    ) -> str | None:
        """Why the snapshot does not match the log, or None when it does."""
        begins = await consumer.beginning_offsets(list(saved)) if saved else {}
        check: dict[TopicPartition, Position] = {}
        for tp, (position, noted) in saved.items():
            if ends[tp] < position:
                return f"{tp.topic}/{tp.partition} ends at {ends[tp]}, the snapshot at {position}"
            if position > begins[tp]:  # the record before it is still there: compare
                check[tp] = (position - 1, noted)
        for tp, (offset, _) in check.items():
            consumer.seek(tp, offset)
        found: dict[TopicPartition, str] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + VERIFY_TIMEOUT_S
        while len(found) < len(check):
            if loop.time() > deadline:
                return "the records before its positions could not be read"
            wanted = [tp for tp in check if tp not in found]
            batch = await consumer.getmany(*wanted, timeout_ms=200, max_records=len(wanted))
            for tp, records in batch.items():
                at = next((r for r in records if r.offset == check[tp][0]), None)
                if at is not None:
                    found[tp] = digest(at.value)
                elif records and records[0].offset > check[tp][0]:
                    return f"{tp.topic}/{tp.partition} has no record at {check[tp][0]}"
        for tp, seen in found.items():
            if seen != check[tp][1]:
                return f"{tp.topic}/{tp.partition} holds another record at {check[tp][0]}"
        return None

    async def _run(self, ends: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batch.items():
                    for record in records:
                        self._apply(record)
                    if records:
                        self._last[tp] = (records[-1].offset + 1, digest(records[-1].value))
                        self._unsaved = True
                if self._unsaved and loop.time() >= due:
                    self._save()
                    due = loop.time() + CHECKPOINT_EVERY_S
                positions = {tp: await consumer.position(tp) for tp in self._partitions}
            except KafkaError as exc:
                log.warning("%s: broker error while following: %s", self._name, exc)
                await asyncio.sleep(0.5)
                continue
            async with self._moved:
                self._positions = positions
                for tp, own in self._own.items():
                    own.difference_update([o for o in own if o < positions.get(tp, 0)])
                self._moved.notify_all()
            if not self.ready.is_set() and self._reached(ends):
                log.info("%s caught up with %s", self._name, ", ".join(self._topics))
                self.ready.set()

    def _save(self) -> None:
        if self._snapshot is not None:
            self._snapshot.checkpoint(dict(self._last))
        self._unsaved = False

    def _holding(self, keys: Iterable[bytes]) -> set[TopicPartition]:
        return {
            TopicPartition(topic, partition_of(key, count))
            for topic, count in self._counts.items()
            for key in keys
        }

    def wrote(self, tp: TopicPartition, offset: int) -> None:
        """This process wrote (and applied) the record at ``tp``/``offset``."""
        if offset >= self._positions.get(tp, 0):
            self._own.setdefault(tp, set()).add(offset)

    def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            position = self._positions.get(tp, 0)
            if position >= end:
                continue
            own = self._own.get(tp, set())
            if end - position > len(own) or any(o not in own for o in range(position, end)):
                return False
        return True

    async def sync(self, timeout: float = 5.0, keys: Iterable[bytes] | None = None) -> None:
        """Return once everything written before this call has been applied; with ``keys``,
        everything written to the partitions the producer's partitioner puts those keys on
        (a record under one of them can be nowhere else): one partition's end to ask for,
        and no wait for records on the others."""
        if self._offsets is None:
            raise TailUnavailableError(f"{self._name} is not started")
        partitions = self._partitions
        if keys is not None:
            partitions = sorted(self._holding(keys))
        try:
            async with asyncio.timeout(timeout):
                ends = await self._offsets.end_offsets(partitions) if partitions else {}
                async with self._moved:
                    await self._moved.wait_for(lambda: self._reached(ends))
        except (TimeoutError, KafkaError) as exc:
            raise TailUnavailableError(f"{self._name}: the broker did not answer") from exc

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if self._unsaved:
                self._save()  # what was applied since the last checkpoint
        if self._consumer is not None:
            await self._consumer.stop()
        if self._offsets is not None:
            await self._offsets.stop()
