"""The audit's log model, and ``Recorder``: the router shell's loop in memory, writing what the
real router writes (decisions, links, dead letters, ticks, the policy) with topic positions,
so the audit's unit tests work on logs made by the core itself."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from schemas import topics
from schemas.envelope import CloudEvent, Decision, derive_id
from schemas.events import (
    Origin,
    RequestReceived,
    TicketClaimed,
    TicketFeedback,
    TicketLinked,
    TicketResolved,
    UpdateData,
    data_type,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.audit.log import AuditLog, Logged, Position, Unreadable, build
from services.audit.order import merge, plans, tick_of
from services.common.bus import partition_of, rejected
from services.intake.models import RequestIn, received_event
from services.router.kernel.escalation import next_check
from services.router.kernel.handle import Outcome, handle
from services.router.kernel.places import apply_changes
from services.router.kernel.state import Ticket
from services.router.kernel.ticks import tick
from services.router.registry import published
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
SCALE = 0.001  # an hour is 3.6 s: a local ticket's claim limit is 7.2 s
PREFIX = "t-audit."


def small_policy() -> Policy:
    return load_policy(SMALL_POLICY, SCALE)


class Recorder:
    """The router shell (app.py) without Kafka: inputs in, every record it would write out."""

    def __init__(self, policy: Policy, partitions: int = 2, link_lag: int = 0) -> None:
        self.policy = policy
        self.partitions = partitions
        self.link_lag = link_lag  # inputs the router handles before a link comes round
        self.held: list[tuple[int, Logged]] = []
        self.handled = 0
        self.now: datetime | None = None  # the router's clock: stamps the records it writes
        self.tickets: dict[str, Ticket] = {}
        self.places: dict[str, str] = {}
        self.parked: dict[str, list[Logged]] = {}
        self.records: list[Logged] = []
        self.offsets: Counter[tuple[str, int]] = Counter()
        self.append(topics.POLICIES, published(policy), 0)

    # ---------------------------------------------------------------- writing

    def append(self, topic: str, event: CloudEvent, partition: int | None = None) -> Logged:
        if partition is None:
            partition = partition_of(event.subject.encode(), self.partitions)
        at = Position(topic, partition, self.offsets[(topic, partition)])
        self.offsets[(topic, partition)] += 1
        logged = Logged(event, at, self.now)
        self.records.append(logged)
        return logged

    def log(self) -> AuditLog:
        counts = {spec.name: self.partitions for spec in topics.CATALOG}
        return build(PREFIX, self.records, partitions=counts)

    # ---------------------------------------------------------------- inputs

    def request(
        self,
        text: str,
        minute: float,
        external_id: str | None = None,
        source: str = "grid-patrol",
        **fields: Any,
    ) -> str:
        body = RequestIn(
            external_id=external_id or f"A-{len(self.records)}", description=text, **fields
        )
        event = received_event(body, source, T0 + timedelta(seconds=minute * 60))
        self.handle(self.append(topics.REQUESTS, event))
        return event.subject

    def update(self, ticket_id: str, kind: type[CloudEvent], minute: float, **data: Any) -> str:
        model = data_type(kind)
        event = kind(  # type: ignore[call-arg]
            id=derive_id(f"{ticket_id}:{len(self.records)}", kind.__name__),
            source="/dispatch/intake/grid-patrol",
            time=T0 + timedelta(seconds=minute * 60),
            subject=ticket_id,
            causationid="urn:test",
            correlationid="urn:test",
            data=model(ticket_id=ticket_id, actor="赖清香 13905981234", **data),
        )
        self.handle(self.append(topics.UPDATES, event))
        return event.id

    def handle(self, logged: Logged) -> None:
        """An input from a topic; links written earlier come round after ``link_lag`` more."""
        self.process(logged)
        self.handled += 1
        due = [link for when, link in self.held if when <= self.handled]
        self.held = [(when, link) for when, link in self.held if when > self.handled]
        for link in due:
            self.process(link)

    def flush(self) -> None:
        held, self.held = self.held, []
        for _, link in held:
            self.process(link)

    def tick(self, minute: float) -> None:
        """The leader's ticker: a tick per partition; each checks the tickets that are due."""
        now = T0 + timedelta(seconds=minute * 60)
        for partition in range(self.partitions):
            clock = self.append(topics.CLOCK, tick(partition, now), partition).event
            for ticket in list(self.tickets.values()):
                due = next_check(ticket, self.policy)
                mine = partition_of(ticket.ticket_id.encode(), self.partitions) == partition
                if mine and due is not None and due <= now:
                    self.commit(handle(ticket, clock, self.policy, self.places))

    # ---------------------------------------------------------------- the shell

    def process(self, logged: Logged, message: Logged | None = None) -> None:
        event = logged.event
        outcome = handle(self.tickets.get(event.subject), event, self.policy, self.places)
        if outcome.parked:
            self.parked.setdefault(event.subject, []).append(logged)
            return
        if outcome.refusal is not None:
            if outcome.ticket is not None:
                self.tickets[event.subject] = outcome.ticket
            self.dead_letter(message or logged, outcome.refusal)
            return
        self.commit(outcome)
        if isinstance(event, RequestReceived) and outcome.decisions:
            for held in self.parked.pop(event.subject, []):
                self.process(held, logged)  # the shell passes the request's message on

    def commit(self, outcome: Outcome) -> None:
        if outcome.ticket is not None:
            self.tickets[outcome.ticket.ticket_id] = outcome.ticket
        apply_changes(self.places, outcome.places)
        for decision in outcome.decisions:
            written = self.append(decision.TOPIC, decision)
            if isinstance(decision, TicketLinked) and self.link_lag:
                self.held.append((self.handled + self.link_lag, written))
            elif isinstance(decision, TicketLinked):
                self.process(written)

    def dead_letter(self, message: Logged, reason: str) -> None:
        at = message.at
        origin = Origin(
            transport="kafka",
            topic=f"{PREFIX}{at.topic}",
            partition=at.partition,
            offset=at.offset,
            service="router",
        )
        letter = rejected(b"{}", message.event.subject.encode(), reason, [], origin, T0)
        self.append(topics.DEADLETTER, letter)


def without(log: AuditLog, drop: str) -> AuditLog:
    """The log with the record of event id ``drop`` removed (a deleted decision)."""
    kept = [r for records in log.records.values() for r in records if r.event.id != drop]
    return build(log.prefix, kept, log.unreadable, log.partitions)


def plus(log: AuditLog, *added: Logged) -> AuditLog:
    every = [r for records in log.records.values() for r in records]
    return build(log.prefix, [*every, *added], log.unreadable, log.partitions)


def replaced(log: AuditLog, event_id: str, new: CloudEvent) -> AuditLog:
    """The log with the record of ``event_id`` rewritten in place (a tampered decision)."""
    every = [
        Logged(new, r.at) if r.event.id == event_id else r
        for records in log.records.values()
        for r in records
    ]
    return build(log.prefix, every, log.unreadable, log.partitions)


def decisions(log: AuditLog, kind: str, subject: str | None = None) -> list[Decision]:
    found = []
    for r in log.of(topics.DECISIONS):
        if r.event.type == kind and (subject is None or r.event.subject == subject):
            assert isinstance(r.event, Decision)
            found.append(r.event)
    return found


# -------------------------------------------------------------------- tests of the log model


def test_cut_keeps_only_events_up_to_the_given_time() -> None:
    recorder = Recorder(small_policy())
    early = recorder.request("城北新村南区5幢楼道灯坏了", 0)
    late = recorder.request("府前9幢门口垃圾没人清运", 10)
    log = recorder.log().cut(T0 + timedelta(minutes=5))
    subjects = {r.event.subject for r in log.of(topics.REQUESTS)}
    assert subjects == {early}
    assert all(r.event.subject != late for r in log.of(topics.DECISIONS))


def test_unreadable_records_are_cut_by_their_broker_time() -> None:
    at = Position(topics.UPDATES, 0, 7)
    log = build(
        "", [], [Unreadable(at, "not JSON", T0), Unreadable(at, "x", T0 + timedelta(hours=1))]
    )
    assert [u.reason for u in log.cut(T0).unreadable] == ["not JSON"]


def test_links_go_between_updates_by_time_and_after_updates_of_the_same_time() -> None:
    def at(topic: str, minute: int, offset: int) -> Logged:
        event = TicketClaimed(
            id=f"{topic}-{offset}",
            source="/t",
            time=T0 + timedelta(minutes=minute),
            subject="T1",
            causationid="c",
            correlationid="c",
            data=UpdateData(ticket_id="T1", actor="a"),
        )
        return Logged(event, Position(topic, 0, offset))

    updates = [at(topics.UPDATES, 1, 0), at(topics.UPDATES, 5, 1), at(topics.UPDATES, 3, 2)]
    links = [at(topics.LINKS, 2, 0), at(topics.LINKS, 5, 1)]
    merged = [r.event.id for r in merge(updates, links)]
    assert merged == [
        "dispatch.updates-0",
        "dispatch.links-0",
        "dispatch.updates-1",
        "dispatch.updates-2",  # the partition's order stands, whatever the times say
        "dispatch.links-1",
    ]


def test_a_ticket_plan_starts_with_its_request_even_when_an_update_overtook_it() -> None:
    recorder = Recorder(small_policy())
    body = RequestIn(external_id="OVERTAKE-1", description="府前9幢垃圾没人清运")
    request = received_event(body, "grid-patrol", T0 + timedelta(minutes=1))
    recorder.update(request.subject, TicketClaimed, 0.5)  # parked: no ticket yet
    recorder.process(recorder.append(topics.REQUESTS, request))
    plan = plans(recorder.log())[request.subject]
    assert plan.request is not None and plan.request.event.id == request.id
    assert [r.event.type for r in plan.inputs] == ["dispatch.ticket.claimed"]
    assert recorder.tickets[request.subject].status == "claimed"


def test_a_tick_is_rebuilt_from_the_decision_it_caused() -> None:
    recorder = Recorder(small_policy())
    ticket = recorder.request("城北新村南区5幢楼道灯坏了", 0)
    recorder.tick(1)
    [escalated] = decisions(recorder.log(), "dispatch.ticket.escalated", ticket)
    rebuilt = tick_of(escalated)
    assert rebuilt is not None
    assert rebuilt.id == escalated.causationid
    ticks = {r.event.id: r.event for r in recorder.log().of(topics.CLOCK)}
    assert ticks[rebuilt.id] == rebuilt


def test_a_decision_naming_a_tick_that_never_was_is_not_rebuilt() -> None:
    recorder = Recorder(small_policy())
    ticket = recorder.request("城北新村南区5幢楼道灯坏了", 0)
    recorder.tick(1)
    [escalated] = decisions(recorder.log(), "dispatch.ticket.escalated", ticket)
    moved = escalated.model_copy(update={"time": escalated.time + timedelta(seconds=1)})
    assert tick_of(moved) is None


def test_resolving_and_feedback_close_a_ticket_in_the_recorder() -> None:
    recorder = Recorder(small_policy())
    ticket = recorder.request("城北新村南区7幢楼梯灯不亮", 0)
    recorder.update(ticket, TicketClaimed, 0.05)
    recorder.update(ticket, TicketResolved, 0.06)
    recorder.update(ticket, TicketFeedback, 0.07, satisfaction=5)
    assert recorder.tickets[ticket].status == "closed"
