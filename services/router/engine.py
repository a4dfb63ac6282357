"""The router's shell: a batched consume → decide → produce loop around the kernel.

One consumer group over the four input topics (co-partitioned: the range assignor gives a
member the same partition numbers of every topic), so several ``dispatch router`` processes
share the partitions and a crash of one hands them to the others. Per batch: every record
through ``kernel.handle`` (in memory); then the changed tickets' changelog records
(``store.Entry``, each with its outbox) and the place index changes, all acknowledged; then
every decision, link and dead letter, all acknowledged; then the offsets. The next batch is
decided while those acknowledgements come, and written only after the offsets are committed.
A failed send fails the session: nothing more is committed, the session restarts from the
changelog and the committed offsets, and the decisions come again with the same ids. See
``store`` for why that loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, KafkaError

from schemas import topics
from schemas.codec import HEADERS, EventDecodeError, decode, encode
from schemas.envelope import CloudEvent, derive_id
from schemas.events import ClockTicked, RequestReceived, kafka_origin
from schemas.words import CHINA
from services.common.batches import Record, Sender
from services.common.bus import Topics, make_consumer, make_producer, rejected
from services.common.settings import Settings
from services.router import places as places_log
from services.router.clock import DeadlineIndex
from services.router.kernel.escalation import next_check
from services.router.kernel.handle import Outcome, handle
from services.router.kernel.places import apply_changes
from services.router.kernel.retention import is_cold, slim
from services.router.kernel.state import Ticket
from services.router.kernel.ticks import tick as clock_tick
from services.router.registry import PolicyRegistry
from services.router.store import Coordinates, Entry, Output, Parked, latest, read_to_end

log = logging.getLogger(__name__)

STATE = "dispatch.router.state"
"""the router's changelog (compacted, keyed by ticket id, partitioned like its inputs)"""
INPUTS = (topics.REQUESTS, topics.UPDATES, topics.LINKS, topics.CLOCK)
FETCH_MAX_WAIT_MS = 20  # Tansu holds a fetch for the whole wait (BROKER.md)
MAX_RECORDS = 500
"""records a batch: large enough that the three acknowledged writes a batch cost little, small
enough that decisions stream out (and the bench's first → last output sees the drain)"""
SWEEP_EVERY = timedelta(minutes=1)
YIELD_EVERY = 50
"""records decided between two turns of the event loop (the previous batch's writes, the
consumer's fetches and the clock go on meanwhile)"""


class SendFailedError(RuntimeError):
    """A batch's write was not acknowledged: nothing of it is committed."""


@dataclass
class Part:
    """The state of one owned partition: hot tickets, cold ones (closed for longer than the
    kernel's retention, serialised and zlib-compressed), and updates parked until their
    request."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    cold: dict[str, bytes] = field(default_factory=dict)
    parked: dict[str, list[Parked]] = field(default_factory=dict)
    swept: datetime | None = None

    def get(self, key: str) -> Ticket | None:
        found = self.tickets.get(key)
        if found is None and key in self.cold:
            found = Ticket.model_validate_json(zlib.decompress(self.cold.pop(key)))
            self.tickets[key] = found
        return found

    def sweep(self, now: datetime, retention: Callable[[Ticket], timedelta]) -> None:
        """Closed tickets past their policy's retention leave the hot state (at most once a
        minute)."""
        if self.swept is not None and now - self.swept < SWEEP_EVERY:
            return
        self.swept = now
        for key in [k for k, t in self.tickets.items() if is_cold(t, now, retention(t))]:
            cold = slim(self.tickets.pop(key)).model_dump_json().encode()
            self.cold[key] = zlib.compress(cold, 1)


@dataclass
class Batch:
    entries: dict[str, tuple[int, Entry]] = field(default_factory=dict)
    loose: list[Output] = field(default_factory=list)
    """outputs that change no state (dead letters of undecodable records)"""
    places: list[tuple[str, str | None]] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)

    def entry(self, key: str, partition: int, cause: Coordinates) -> Entry:
        found = self.entries.get(key)
        if found is None:
            found = (partition, Entry())
            self.entries[key] = found
        if cause not in found[1].causes:
            found[1].causes.append(cause)
        return found[1]


class Router(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, settings: Settings, bootstrap: str, policies: PolicyRegistry) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.policies = policies
        self.names = Topics(settings.topic_prefix)
        self.state_topic = self.names(STATE)
        self.group = f"{settings.topic_prefix}dispatch-router"
        self.instance = uuid.uuid4().hex
        self.parts: dict[int, Part] = {}
        self.standby: dict[int, Part] = {}
        self.deadlines = DeadlineIndex()
        self.places: dict[str, str] = {}
        self.lock = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.producer: AIOKafkaProducer | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.sender: Sender | None = None
        self.fault: BaseException | None = None
        """a failed restore (aiokafka swallows a listener's exception): fails the session"""
        self.flushing: asyncio.Task[None] | None = None
        """the last batch's writes, acknowledged while the next batch is decided"""

    # ------------------------------------------------------------------ the session

    async def run(self) -> None:
        """Sessions until stopped; a failed one (a send not acknowledged, Kafka gone) is
        started again from the changelog and the committed offsets."""
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                await self.session()
                return
            except (KafkaError, SendFailedError, OSError, TimeoutError) as err:
                log.error("router session failed (%r); restarting in %.1fs", err, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def session(self) -> None:
        self.parts, self.standby, self.places, self.fault = {}, {}, {}, None
        self.flushing = None
        self.deadlines = DeadlineIndex()
        producer = make_producer(self.bootstrap, linger_ms=1)
        consumer = make_consumer(
            self.bootstrap,
            group=self.group,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            partition_assignment_strategy=(RangePartitionAssignor,),
            # a crashed router's partitions go to the others once its session times out
            session_timeout_ms=6_000,
        )
        index = places_log.PlaceLog(self.bootstrap, self.names, self.instance, self.places)
        self.producer, self.consumer = producer, consumer
        self.sender = Sender(producer)
        await producer.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            await consumer.start()
            await index.start()
            tasks = [asyncio.create_task(index.follow()), asyncio.create_task(self.ticker())]
            consumer.subscribe([self.names(t) for t in INPUTS], listener=self)
            while not self.stopping.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
                if self.fault is not None:
                    raise SendFailedError(f"restoring the router's state failed: {self.fault!r}")
                if batch:
                    async with self.lock:
                        await self.batch(batch)
                elif self.flushing is not None and self.flushing.done():
                    await self.settled()
                for task in tasks:
                    if task.done():
                        task.result()  # a failed follower or ticker fails the session
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):  # failed: its inputs come again
                await self.settled()
            await consumer.stop()
            await index.stop()
            await producer.stop()

    # ------------------------------------------------------------------ rebalances

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.lock:  # the batch in progress is committed first
            try:
                await self.settled()
            except Exception as err:  # aiokafka swallows it: the session fails instead
                self.fault = err
            self.standby.update(self.parts)
            self.parts = {}

    async def on_partitions_assigned(self, assigned: Any) -> None:
        wanted = sorted({tp.partition for tp in assigned})
        async with self.lock:
            kept = {p: self.standby[p] for p in wanted if p in self.standby}
            for p in self.standby.keys() - kept.keys():
                self.deadlines.drop(p)
            self.standby = {}
            fresh = [p for p in wanted if p not in kept]
            try:
                restored = await self.restore(fresh) if fresh else {}
            except Exception as err:  # the session fails and starts again: nothing is skipped
                log.exception("restoring partitions %s failed", fresh)
                self.fault = err
                return
            self.parts = kept | restored
            log.info("router owns partitions %s (%d restored)", wanted, len(fresh))

    async def restore(self, partitions: list[int]) -> dict[int, Part]:
        """Each partition's tickets and parked updates from the changelog; then the outboxes
        whose inputs are not committed are sent again, before any new input is taken."""
        assert self.consumer is not None
        reader = make_consumer(self.bootstrap, group=None, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        await reader.start()
        try:
            found = await read_to_end(
                reader, [TopicPartition(self.state_topic, p) for p in partitions]
            )
        finally:
            await reader.stop()
        committed: dict[tuple[str, int], int] = {}
        for name in INPUTS:
            for p in partitions:
                tp = TopicPartition(self.names(name), p)
                offset = await self.consumer.committed(tp)
                committed[(tp.topic, p)] = offset if offset is not None else -1
        parts: dict[int, Part] = {}
        again: list[Output] = []
        for tp, records in found.items():
            part = Part()
            for key, entry in latest(records).items():
                if entry is None:
                    continue
                if entry.ticket is not None:
                    part.tickets[key] = entry.ticket
                if entry.parked:
                    part.parked[key] = list(entry.parked)
                if entry.outbox and entry.unsent(committed):
                    again.extend(entry.outbox)
            parts[tp.partition] = part
            self.index(tp.partition, part)
        if again:
            log.warning("sending again %d events of inputs not committed", len(again))
            await self.send(again)
        return parts

    def index(self, partition: int, part: Part) -> None:
        entries = []
        for ticket in part.tickets.values():
            check = next_check(ticket, self.policies.for_version(ticket.policyversion))
            if check is not None:
                entries.append((check, ticket.ticket_id))
        self.deadlines.build(partition, entries)

    # ------------------------------------------------------------------ a batch

    async def batch(self, records: dict[TopicPartition, list[Any]]) -> None:
        """Decide a batch in memory, then write it once the previous batch is written.

        Deciding overlaps only the previous batch's acknowledgements: a batch's state records
        are encoded as it is decided and sent after the previous batch's offsets are
        committed, so each batch keeps the order state → outputs → offsets, and a failure
        fails the session before anything of a later batch is written."""
        batch = Batch()
        taken = 0
        for tp, part_records in records.items():
            part = self.parts.get(tp.partition)
            if part is None:
                continue  # revoked since it was fetched
            for record in part_records:
                self.take(record, tp.partition, part, batch)
                batch.offsets[tp] = record.offset + 1
                taken += 1
                if taken % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # the previous batch's writes go on meanwhile
        writes = self.writes(batch)
        await self.settled()
        self.flushing = asyncio.create_task(self.flush(batch, writes))

    async def settled(self) -> None:
        """The previous batch written and committed (its failure raised here)."""
        flushing, self.flushing = self.flushing, None
        if flushing is not None:
            await flushing

    def take(self, record: Any, partition: int, part: Part, batch: Batch) -> None:
        try:
            event = decode(record.value or b"")
        except EventDecodeError as err:
            batch.loose.append(self.letter(record, err.reason, err.errors))
            return
        try:
            if isinstance(event, ClockTicked):
                self.on_tick(event, record, partition, part, batch)
            else:
                self.apply(event, record, partition, part, batch)
        except Exception as err:  # the shell's own fault on this input: dead-letter it, go on
            log.exception("router failed on %s/%s/%s", record.topic, partition, record.offset)
            batch.loose.append(self.letter(record, f"the router failed on it: {err!r}", []))

    def apply(
        self, event: CloudEvent, record: Any, partition: int, part: Part, batch: Batch
    ) -> None:
        key = event.subject
        ticket = part.get(key)
        policy = self.policies.for_version(ticket.policyversion if ticket else None)
        outcome = handle(ticket, event, policy, self.places)
        cause = (record.topic, record.partition, record.offset)
        if outcome.parked:
            held = part.parked.setdefault(key, [])
            if all((p.topic, p.offset) != (record.topic, record.offset) for p in held):
                held.append(Parked(record.value, record.key, *cause, record.timestamp))
                batch.entry(key, partition, cause)
            return
        if outcome.refusal is not None:
            if outcome.ticket is not None:
                part.tickets[key] = outcome.ticket
            batch.entry(key, partition, cause).outbox.append(
                self.letter(record, outcome.refusal, [])
            )
            return
        if not outcome.changed and not outcome.decisions:
            return  # already applied: a redelivery
        self.commit(key, outcome, partition, part, batch, cause)
        if isinstance(event, RequestReceived) and outcome.decisions and key in part.parked:
            for waiting in part.parked.pop(key):
                self.apply(decode(waiting.value), waiting, partition, part, batch)

    def commit(
        self,
        key: str,
        outcome: Outcome,
        partition: int,
        part: Part,
        batch: Batch,
        cause: Coordinates,
    ) -> None:
        entry = batch.entry(key, partition, cause)
        after = outcome.ticket
        if after is not None and outcome.changed:
            part.tickets[key] = after
            check = next_check(after, self.policies.for_version(after.policyversion))
            self.deadlines.push(partition, check, key)
        apply_changes(self.places, outcome.places)
        batch.places.extend(outcome.places)
        entry.outbox.extend(
            (self.names.of(d), d.subject.encode(), encode(d)) for d in outcome.decisions
        )

    def retention(self, ticket: Ticket) -> timedelta:
        return self.policies.for_version(ticket.policyversion).lifecycle.closed_retention

    def on_tick(
        self, event: ClockTicked, record: Any, partition: int, part: Part, batch: Batch
    ) -> None:
        """Escalate what passed its deadline among this partition's tickets."""
        cause = (record.topic, record.partition, record.offset)
        part.sweep(event.time, self.retention)
        for ticket_id in self.deadlines.due(partition, event.time):
            ticket = part.tickets.get(ticket_id)
            if ticket is None:
                continue
            policy = self.policies.for_version(ticket.policyversion)
            check = next_check(ticket, policy)
            if check is None:
                continue
            if check > event.time:  # moved on since it was indexed
                self.deadlines.push(partition, check, ticket_id)
                continue
            outcome = handle(ticket, event, policy, self.places)
            if outcome.refusal is not None:
                letter = self.letter(record, outcome.refusal, [], subject=ticket_id)
                batch.loose.append(letter)
                continue
            # Nothing decided: no one is above (the command center holds it). It stays
            # overdue, visibly, and returns to the index with its next change of state.
            if outcome.changed:
                self.commit(ticket_id, outcome, partition, part, batch, cause)

    def letter(
        self, record: Any, reason: str, errors: list[str], subject: str | None = None
    ) -> Output:
        origin = kafka_origin("router", record)
        when = datetime.fromtimestamp((record.timestamp or 0) / 1000, CHINA)
        letter = rejected(record.value, record.key, reason, errors, origin, when, subject)
        if subject is not None:  # one input (a tick), a letter per ticket it failed for
            letter = letter.model_copy(update={"id": derive_id(letter.causationid, subject)})
        log.warning(
            "dead-lettered %s/%s/%s: %s", record.topic, record.partition, record.offset, reason
        )
        return (self.names.of(letter), letter.subject.encode(), encode(letter))

    def writes(self, batch: Batch) -> list[Record]:
        """The batch's changelog records and place-index changes, as decided (encoded now:
        the next batch changes the same tickets in memory before these are sent)."""
        writes: list[Record] = []
        for key, (partition, entry) in batch.entries.items():
            part = self.parts[partition]
            entry.ticket = part.get(key)
            entry.parked = part.parked.get(key, [])
            writes.append(
                Record(self.state_topic, key.encode(), entry.encode(), partition=partition)
            )
        for place, holder in batch.places:
            writes.append(places_log.change(self.names, self.instance, place, holder))
        return writes

    async def flush(self, batch: Batch, writes: list[Record]) -> None:
        """State first, then what it caused, then the offsets: each step acknowledged."""
        assert self.consumer is not None and self.sender is not None
        outputs: list[Output] = list(batch.loose)
        for _, entry in batch.entries.values():
            outputs.extend(entry.outbox)
        await settle(await self.sender.send(writes))
        await self.send(outputs)
        if batch.offsets:
            try:
                await self.consumer.commit(batch.offsets)
            except CommitFailedError as err:  # rebalanced: the new owner sends again
                log.warning("offsets not committed (%s); the inputs come again", err)

    async def send(self, outputs: list[Output]) -> None:
        assert self.sender is not None
        records = [Record(topic, key, value, HEADERS) for topic, key, value in outputs]
        await settle(await self.sender.send(records))

    # ------------------------------------------------------------------ the clock

    async def ticker(self) -> None:
        """A tick per owned partition every ``tick_interval``: each owner checks its own."""
        assert self.producer is not None
        clock = self.names(topics.CLOCK)
        while True:
            await asyncio.sleep(self.settings.tick_interval)
            now = datetime.now(CHINA)
            futures = []
            for partition in sorted(self.parts):
                event = clock_tick(partition, now)
                futures.append(
                    await self.producer.send(
                        clock,
                        encode(event),
                        key=event.subject.encode(),
                        partition=partition,
                        headers=HEADERS,
                    )
                )
            await settle(futures)


async def settle(futures: list[Any]) -> None:
    """Every send acknowledged, else ``SendFailedError`` (aiokafka's flush does not raise)."""
    results = await asyncio.gather(*futures, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise SendFailedError(f"{len(failed)} of {len(futures)} sends failed: {failed[0]!r}")
