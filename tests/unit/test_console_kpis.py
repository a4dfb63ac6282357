"""The console's figures, folded from the event streams."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dispatch.schemas.envelope import derive_id
from dispatch.schemas.events import TicketClaimed, TicketResolved, UpdateData
from dispatch.services.console.kpis import Kpis
from dispatch.services.intake.models import RequestIn, received_event
from dispatch.services.router.core import step
from dispatch.services.router.policy import load_policy
from tests.conftest import SMALL_POLICY

CHINA = timezone(timedelta(hours=8))
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

    def update(kind: type, minutes: int):  # type: ignore[no-untyped-def,type-arg]
        return kind(
            id=derive_id(kind.__name__, "k"),
            source="/x",
            time=T0 + timedelta(minutes=minutes),
            subject=ticket.ticket_id,
            causationid="k",
            correlationid="k",
            data=UpdateData(ticket_id=ticket.ticket_id, actor="赖清香"),
        )

    kpis.fold(update(TicketClaimed, 10))
    assert kpis.as_json(now=T0 + timedelta(hours=3))["overdue"] == 0  # now due by resolve_by
    kpis.fold(update(TicketResolved, 20))
    assert kpis.as_json(now=T0 + timedelta(days=30))["open"] == 0


def test_a_redelivered_event_is_counted_once() -> None:
    event = received_event(RequestIn(external_id="K-2", description="楼道灯坏了"), "ehu", T0)
    kpis = Kpis()
    assert kpis.fold(event) is True
    assert kpis.fold(event) is False
    assert kpis.as_json()["received"] == 1
