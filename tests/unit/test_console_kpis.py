"""The console's figures, folded from the event streams."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import permutations

from schemas.codec import encode
from schemas.envelope import Decision, derive_id
from schemas.events import Origin, TicketClaimed, TicketResolved, data_type
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.common.bus import rejected
from services.console.kpis import Kpis
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from services.router.kernel.state import Ticket
from services.router.kernel.ticks import tick
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=CHINA)  # Tuesday: claim by 11:00


def test_open_tickets_are_watched_until_resolved() -> None:
    policy = load_policy(SMALL_POLICY)
    event = received_event(
        RequestIn(external_id="K-1", description="城北新村南区7幢楼梯灯不亮"), "grid-patrol", T0
    )
    kpis = Kpis()
    kpis.fold(event)
    ticket, decisions = step(None, event, policy)
    for decision in decisions:
        kpis.fold(decision)
    assert ticket is not None

    assert kpis.as_json(now=T0 + timedelta(minutes=30))["due_soon"] == 0
    assert kpis.as_json(now=T0 + timedelta(minutes=90))["due_soon"] == 1
    figures = kpis.as_json(now=T0 + timedelta(hours=3))
    assert (figures["open"], figures["overdue"]) == (1, 1)
    [late] = kpis.watching(T0 + timedelta(hours=3), timedelta(hours=1))["overdue"]
    assert late.ticket_id == ticket.ticket_id and "赖清香" in late.assignee

    kpis.fold(_update(TicketClaimed, ticket.ticket_id, T0 + timedelta(minutes=10)))
    assert kpis.as_json(now=T0 + timedelta(hours=3))["overdue"] == 0  # now due by resolve_by
    kpis.fold(_update(TicketResolved, ticket.ticket_id, T0 + timedelta(minutes=20)))
    assert kpis.as_json(now=T0 + timedelta(days=30))["open"] == 0


def test_a_redelivered_event_is_counted_once() -> None:
    event = received_event(RequestIn(external_id="K-2", description="楼道灯坏了"), "ehu", T0)
    kpis = Kpis()
    assert kpis.fold(event) is True
    assert kpis.fold(event) is False
    assert kpis.as_json()["received"] == 1


def _update(kind: type, ticket_id: str, at: datetime):  # type: ignore[no-untyped-def,type-arg]
    return kind(
        id=derive_id(kind.__name__, at.isoformat()),
        source="/x",
        time=at,
        subject=ticket_id,
        causationid="k",
        correlationid="k",
        data=data_type(kind)(ticket_id=ticket_id, actor="赖清香"),
    )


def _statuses(events: list) -> dict[str, str]:  # type: ignore[type-arg]
    kpis = Kpis()
    for event in events:
        kpis.fold(event)
    return {ticket_id: ticket.status for ticket_id, ticket in kpis.open.items()}


def _interleavings(decisions: list, updates: list):  # type: ignore[no-untyped-def,type-arg]
    """Every order a reader of two topics may fold them in: each topic keeps its own order."""
    for order in permutations(decisions + updates):
        if [e for e in order if e in decisions] == decisions and [
            e for e in order if e in updates
        ] == updates:
            yield list(order)


def _assigned(external_id: str, policy: Policy) -> tuple[Ticket, list[Decision]]:
    """A stair light out at T0 (Tuesday), as the router assigns it."""
    event = received_event(
        RequestIn(external_id=external_id, description="城北新村南区7幢楼梯灯不亮"),
        "grid-patrol",
        T0,
    )
    ticket, decisions = step(None, event, policy)
    assert ticket is not None
    return ticket, decisions


def test_a_claim_or_resolution_read_before_its_assignment_still_counts() -> None:
    policy = load_policy(SMALL_POLICY)
    ticket, decisions = _assigned("K-3", policy)
    claimed = _update(TicketClaimed, ticket.ticket_id, T0 + timedelta(minutes=10))
    resolved = _update(TicketResolved, ticket.ticket_id, T0 + timedelta(minutes=20))
    for updates, expected in (
        ([], {ticket.ticket_id: "assigned"}),
        ([claimed], {ticket.ticket_id: "claimed"}),
        ([claimed, resolved], {}),
    ):
        orders = list(_interleavings(decisions, updates))
        assert len(orders) > 1 or not updates
        for order in orders:
            assert _statuses(order) == expected, [e.type for e in order]


def test_a_claim_from_before_an_escalation_does_not_claim_for_the_new_assignee() -> None:
    policy = load_policy(SMALL_POLICY)
    ticket, decisions = _assigned("K-4", policy)
    claimed = _update(TicketClaimed, ticket.ticket_id, T0 + timedelta(minutes=10))
    ticket, _ = step(ticket, claimed, policy)
    assert ticket is not None and ticket.resolve_by is not None
    ticket, escalated = step(ticket, tick(0, ticket.resolve_by + timedelta(minutes=1)), policy)
    assert [d.type for d in escalated] == ["dispatch.ticket.escalated"]
    for order in _interleavings(decisions + escalated, [claimed]):
        # the claim answered the first assignment: the one it was escalated to must claim anew
        assert _statuses(order) == {ticket.ticket_id: "assigned"}, [e.type for e in order]


def test_a_resolution_the_router_refused_keeps_the_ticket_watched() -> None:
    policy = load_policy(SMALL_POLICY)
    ticket, decisions = _assigned("K-refused", policy)
    early = _update(TicketResolved, ticket.ticket_id, T0 + timedelta(minutes=5))
    origin = Origin(transport="kafka", topic="dispatch.updates", partition=0, offset=3,
                    service="router")  # fmt: skip
    letter = rejected(encode(early), ticket.ticket_id.encode(), "not claimed", [], origin, T0)
    for order in ([*decisions, early, letter], [*decisions, letter, early]):
        assert _statuses(order) == {ticket.ticket_id: "assigned"}
    claimed = _update(TicketClaimed, ticket.ticket_id, T0 + timedelta(minutes=1))
    assert _statuses([*decisions, claimed, early, letter]) == {ticket.ticket_id: "claimed"}
