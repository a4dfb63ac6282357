"""What the log records of the router's work, indexed for re-deciding it (pure): its decisions
by id, the tick-caused ones by ticket and ticketversion, where inputs were applied, its dead
letters, and how far its clock got."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas import topics
from schemas.envelope import CloudEvent, Decision
from schemas.events import ClockTicked, TicketLinked
from services.audit.divergence import Divergence, as_json, different
from services.audit.log import INPUT_TOPICS, AuditLog, Letters, Logged
from services.audit.order import tick_of


def owner(event: CloudEvent) -> str:
    """The ticket whose input caused a decision (a link is the repeat's decision)."""
    return event.data.repeat if isinstance(event, TicketLinked) else event.subject


@dataclass(frozen=True)
class RouterClock:
    """The router's last ticks: an input newer than the last tick minus ``grace`` may still be
    waiting for the router (pending); a deadline older than that must have been acted on."""

    last_tick: dict[int, ClockTicked]
    alive: datetime | None
    grace: timedelta

    def of(self, partition: int | None) -> ClockTicked | None:
        return self.last_tick.get(partition) if partition is not None else None

    def horizon(self, partition: int | None) -> datetime | None:
        last = self.of(partition)
        alive = last.time if last is not None else self.alive
        return alive - self.grace if alive is not None else None

    def latest(self) -> datetime | None:
        return max((t.time for t in self.last_tick.values()), default=None)


def router_clock(log: AuditLog, grace: timedelta) -> RouterClock:
    ticks = sorted(log.ticks(), key=lambda t: t.time)
    decided = [r.event.time for r in log.of(topics.DECISIONS)]
    alive = max([t.time for t in ticks] or decided, default=None)
    return RouterClock({t.data.partition: t for t in ticks}, alive, grace)


@dataclass
class Recorded:
    decisions: dict[str, Logged] = field(default_factory=dict)
    """every decision (and link) by id: its first record"""
    by_tick: dict[str, dict[int, list[Logged]]] = field(default_factory=dict)
    """tick-caused decisions by ticket and ticketversion, in time order"""
    anchors: dict[str, int] = field(default_factory=dict)
    """input id → the ticketversion of a decision it caused: where it was applied"""
    acted: dict[str, datetime] = field(default_factory=dict)
    """input id → the record time of the first decision it caused: when the router acted"""
    owned: dict[str, list[str]] = field(default_factory=dict)
    """ticket id → the ids of the decisions its inputs caused"""
    why: dict[str, str] = field(default_factory=dict)
    """decision id → why it may not be recomputed, for the report"""
    problems: list[Divergence] = field(default_factory=list)
    letters: Letters = field(default_factory=dict)
    input_ids: set[str] = field(default_factory=set)


def recorded(log: AuditLog) -> Recorded:
    found = Recorded(letters=log.router_letters())
    found.input_ids = {r.event.id for t in INPUT_TOPICS for r in log.of(t)}
    for topic in (topics.DECISIONS, topics.LINKS, topics.POINTS):
        for logged in log.of(topic):
            _keep(found, logged, topic)
    for bad in log.unreadable:
        if bad.at.topic in (topics.DECISIONS, topics.LINKS, topics.POINTS):
            where = bad.at.label(log.prefix)
            found.problems.append(
                Divergence(
                    ticket_id=None,
                    kind="extra",
                    decision_id=None,
                    detail=f"{where} is no event: {bad.reason}",
                )
            )
    for decision_id, logged in found.decisions.items():
        found.owned.setdefault(owner(logged.event), []).append(decision_id)
        _index(found, decision_id, logged)
    for per_version in found.by_tick.values():
        for due in per_version.values():
            due.sort(key=lambda r: (r.event.time, r.at.offset))
    return found


def _keep(found: Recorded, logged: Logged, topic: str) -> None:
    event = logged.event
    if not isinstance(event, Decision):
        found.problems.append(
            Divergence(
                ticket_id=event.subject,
                kind="extra",
                decision_id=event.id,
                type=event.type,
                detail=f"{event.type} on {topic} is no decision of the router",
                recorded=as_json(event),
            )
        )
        return
    first = found.decisions.setdefault(event.id, logged)
    if first is logged:
        return
    differs = different(owner(event), first.event, event)  # an identical copy is a redelivery
    if differs is not None:
        detail = f"two records of {event.type} {event.id} differ in {', '.join(differs.fields)}"
        found.problems.append(differs.model_copy(update={"detail": detail}))


def _index(found: Recorded, decision_id: str, logged: Logged) -> None:
    event = logged.event
    assert isinstance(event, Decision)
    if event.causationid in found.input_ids:
        found.anchors.setdefault(event.causationid, event.ticketversion)
        acted = found.acted.get(event.causationid)
        if logged.timestamp is not None and (acted is None or logged.timestamp < acted):
            found.acted[event.causationid] = logged.timestamp
    elif tick_of(event) is None:
        found.why[decision_id] = (
            f"its cause {event.causationid} is no input and no clock tick of the log"
        )
    else:
        per_version = found.by_tick.setdefault(event.subject, {})
        per_version.setdefault(event.ticketversion, []).append(logged)
