"""The router's shell: a Faust app that feeds inputs to the pure core and publishes its decisions.

Tables (changelogged, so they survive restarts and move with their partitions):
- ``tickets``: ticket state keyed by ticket id (the key of every input);
- ``pending``: updates that arrived before their ticket's request, applied right after it;
- ``places`` (global, on every instance): the open ticket at each place+category, so a repeat
  report on any partition can join it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
import orjson

from schemas import topics
from schemas.codec import HEADERS, EventDecodeError, decode, encode
from schemas.envelope import CloudEvent, Decision
from schemas.events import ClockTicked, RequestReceived, kafka_origin
from schemas.policy import Policy
from schemas.words import CHINA
from services.common.bus import Topics, kafka_security, rejected
from services.common.settings import Settings
from services.router import registry as registry_module
from services.router.clock import DeadlineIndex, partition_of
from services.router.faust_kafka import App as FaustApp
from services.router.faust_kafka import credentials
from services.router.kernel.core import TransitionError, UnknownTicketError, step
from services.router.kernel.escalation import next_check
from services.router.kernel.state import Ticket, place_holder, refuse
from services.router.kernel.ticks import tick as clock_tick
from services.router.registry import PolicyRegistry

log = logging.getLogger(__name__)

RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes}


def faust_broker_url(bootstrap: str) -> str:
    """``h1:9092,h2:9092`` → ``kafka://h1:9092;kafka://h2:9092`` (Faust's form)."""
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def faust_app(settings: Settings, bootstrap: str) -> faust.App:
    return FaustApp(
        f"{settings.topic_prefix}dispatch-router",
        broker=faust_broker_url(bootstrap),
        broker_credentials=credentials(kafka_security(settings)),
        store="memory://",
        datadir=str(settings.state_dir / "router"),
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_rebalance_timeout=5,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
    )


class RouterShell:
    """Decode → core → store → publish, for one Faust app."""

    def __init__(self, settings: Settings, bootstrap: str, policies: PolicyRegistry) -> None:
        self.names = Topics(settings.topic_prefix)
        self.policies = policies
        self.app = faust_app(settings, bootstrap)
        names = self.names
        self.inputs = self.app.topic(
            names(topics.REQUESTS),
            names(topics.UPDATES),
            names(topics.LINKS),
            names(topics.CLOCK),
            **RAW,
        )
        self.outputs = {
            name: self.app.topic(names(name), **RAW)
            for name in (topics.DECISIONS, topics.LINKS, topics.DEADLETTER, topics.CLOCK)
        }
        self.partitions = settings.partitions
        self.deadlines = DeadlineIndex()
        parts = settings.partitions
        self.tickets = self.app.Table("tickets", default=None, partitions=parts, **RAW)
        self.pending = self.app.Table("pending", default=None, partitions=parts, **RAW)
        self.places = self.app.GlobalTable("places", default=None, partitions=parts, **RAW)
        self.app.agent(self.inputs, name="route")(self.route)

        async def ticker() -> None:
            await self.tick(datetime.now(CHINA))

        self.app.timer(interval=settings.tick_interval, on_leader=True, name="ticker")(ticker)

        async def rebalanced(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            self.deadlines.forget()

        self.app.on_partitions_assigned.connect(rebalanced)

    async def tick(self, now: datetime) -> None:
        """The leader's ticker: one tick per partition, so each owner checks its tickets."""
        clock = self.outputs[topics.CLOCK]
        for partition in range(self.partitions):
            event = clock_tick(partition, now)
            await clock.send(
                key=event.subject.encode(),
                value=encode(event),
                partition=partition,
                headers=HEADERS,
            )

    async def route(self, stream: Any) -> None:
        async for record in stream.events():
            await self.handle(record.message)

    async def handle(self, message: Any) -> None:
        try:
            event = decode(message.value)
        except EventDecodeError as err:
            await self.dead_letter(message, err.reason, err.errors)
            return
        await self.process(event, message)

    async def process(self, event: CloudEvent, message: Any) -> None:
        if isinstance(event, ClockTicked):
            await self.on_tick(event, message.partition)
            return
        key = event.subject.encode()
        stored = self.tickets.get(key)
        ticket = Ticket.model_validate_json(stored) if stored else None
        policy = self.policies.for_version(ticket.policyversion if ticket else None)
        try:
            after, decisions = step(ticket, event, policy, PlaceIndex(self.places))
        except UnknownTicketError:
            self.park(key, message)
            return
        except TransitionError as err:
            if ticket is not None:
                self.tickets[key] = orjson.dumps(refuse(ticket, event.id).model_dump(mode="json"))
            await self.dead_letter(message, str(err), [])
            return
        await self.commit(ticket, after, decisions, message.partition)
        if isinstance(event, RequestReceived) and decisions:
            await self.unpark(key, message)

    async def commit(
        self,
        before: Ticket | None,
        after: Ticket | None,
        decisions: list[Decision],
        partition: int,
    ) -> None:
        """Store the new state, index its next deadline, publish what was decided."""
        if after is not None and after != before:
            self.tickets[after.ticket_id.encode()] = orjson.dumps(after.model_dump(mode="json"))
            self.index(after)
            policy = self.policies.for_version(after.policyversion)
            self.deadlines.push(partition, next_check(after, policy), after.ticket_id)
        for decision in decisions:
            await self.publish(decision)

    async def publish(self, event: CloudEvent) -> None:
        """Hand a decision to the app's producer (not awaiting its ack: Faust flushes the
        producer before it commits the input's offset, so at-least-once holds). Straight to
        the producer, not through ``Topic.send``: its per-message futures and callbacks cost
        more than the send itself."""
        name = self.names(event.TOPIC)
        await self.app.producer.send(
            name, event.subject.encode(), encode(event), None, None, HEADERS
        )

    async def on_tick(self, event: ClockTicked, partition: int) -> None:
        """Escalate what passed its deadline among this partition's tickets."""
        if not self.deadlines.is_built(partition):
            self.rebuild(partition)
        for ticket_id in self.deadlines.due(partition, event.time):
            stored = self.tickets.get(ticket_id.encode())
            if not stored:
                continue
            ticket = Ticket.model_validate_json(stored)
            policy = self.policies.for_version(ticket.policyversion)
            check = next_check(ticket, policy)
            if check is None:
                continue
            if check > event.time:  # moved on since it was indexed
                self.deadlines.push(partition, check, ticket_id)
                continue
            after, decisions = step(ticket, event, policy)
            # Nothing decided: no one is above (the command center holds it). It stays
            # overdue, visibly, and returns to the index with its next change of state.
            await self.commit(ticket, after, decisions, partition)

    def rebuild(self, partition: int) -> None:
        entries = []
        for key, stored in self.tickets.items():
            if partition_of(key, self.partitions) != partition:
                continue
            ticket = Ticket.model_validate_json(stored)
            check = next_check(ticket, self.policies.for_version(ticket.policyversion))
            if check is not None:
                entries.append((check, ticket.ticket_id))
        self.deadlines.build(partition, entries)
        log.info("deadline index of partition %d: %d tickets", partition, len(entries))

    def index(self, after: Ticket) -> None:
        """Keep ``places`` pointing at the ticket still open (or awaiting feedback) there."""
        if after.place is None:
            return
        key = after.place.encode()
        stored = self.places.get(key)
        holder = stored.decode() if stored else None
        new = place_holder(after, holder)
        if new == holder:
            return
        if new is None:
            del self.places[key]
        else:
            self.places[key] = new.encode()

    def park(self, key: bytes, message: Any) -> None:
        """Hold an update until its request arrives, with where it came from: if it is
        refused then, its dead letter carries its own bytes and coordinates."""
        held = orjson.loads(self.pending.get(key) or b"[]")
        entry = Parked.of(message).as_json()
        if all(
            item.get("offset") != entry["offset"] or item.get("topic") != entry["topic"]
            for item in held
        ):
            held.append(entry)
            self.pending[key] = orjson.dumps(held)
        log.info("holding an update for %s until its request arrives", key.decode())

    async def unpark(self, key: bytes, message: Any) -> None:
        held = self.pending.get(key)
        if not held:
            return
        del self.pending[key]
        for item in orjson.loads(held):
            parked = Parked.from_json(item)
            await self.process(decode(parked.value), parked)

    async def dead_letter(self, message: Any, reason: str, errors: list[str]) -> None:
        origin = kafka_origin("router", message)
        when = datetime.fromtimestamp(message.timestamp or 0, CHINA)
        letter = rejected(message.value, message.key, reason, errors, origin, when)
        log.warning(
            "dead-lettered %s/%s/%s: %s", message.topic, message.partition, message.offset, reason
        )
        await self.outputs[topics.DEADLETTER].send(
            key=letter.subject.encode(), value=encode(letter), headers=HEADERS
        )


@dataclass(frozen=True, slots=True)
class Parked:
    """An input held in the ``pending`` table, with the coordinates of its record."""

    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None

    @classmethod
    def of(cls, message: Any) -> Parked:
        return cls(
            message.value,
            message.key,
            message.topic,
            message.partition,
            message.offset,
            message.timestamp,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value.decode(),
            "key": self.key.decode() if self.key else None,
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
            key.encode() if key else None,
            item["topic"],
            item["partition"],
            item["offset"],
            item.get("timestamp"),
        )


class PlaceIndex:
    """The ``places`` table as the read-only mapping the core asks (place → open ticket)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, place: str, default: str | None = None) -> str | None:
        found = self._table.get(place.encode())
        return found.decode() if found else default


def build_app(settings: Settings, bootstrap: str, policies: PolicyRegistry) -> faust.App:
    return RouterShell(settings, bootstrap, policies).app


def run(settings: Settings, bootstrap: str, policy: Policy) -> None:
    """Run the router until SIGINT/SIGTERM (Faust's worker owns the event loop and signals)."""
    policies = asyncio.run(registry_module.load(bootstrap, Topics(settings.topic_prefix), policy))
    app = build_app(settings, bootstrap, policies)
    log.info(
        "router on %s with policy %s (%d versions known)",
        bootstrap,
        policy.version,
        len(policies.by_version),
    )
    serve(app, settings)


def serve(app: faust.App, settings: Settings) -> None:
    """Run a Faust app in this process until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    # At WARNING and above Faust turns the root logger to DEBUG to spin a terminal spinner on
    # every record: every send then builds a debug LogRecord (~10% of the router's time).
    worker.spinner = None
    worker.execute_from_commandline()
