"""What ``dispatch watch`` folds: the latest decisions for its feed, in event-time order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiokafka.structs import ConsumerRecord

from schemas.codec import encode
from schemas.envelope import derive_id
from schemas.events import TicketClaimed, TicketFeedback, TicketResolved, UpdateData
from schemas.policy import Policy, load_policy
from services.console.kpis import RECENT, Kpis
from services.console.reader import in_order
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from tests.conftest import SMALL_POLICY
from tests.unit.test_watch_screen import T0, Desk


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def test_a_tickets_decisions_reach_the_feed_in_order_with_its_tier(policy: Policy) -> None:
    desk = Desk(policy)
    light = desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "L-1")
    desk.tick(T0 + timedelta(hours=2, minutes=1))  # unclaimed past 11:00: to the area grid
    desk.update(TicketClaimed, light, T0 + timedelta(hours=3))
    desk.update(TicketResolved, light, T0 + timedelta(hours=4))
    desk.update(TicketFeedback, light, T0 + timedelta(hours=5), satisfaction=4)

    lines = [line for line in desk.kpis.recent if line.ticket_id == light]
    assert [(line.kind, line.tier, line.emergency) for line in lines] == [
        ("assigned", "local", False),
        ("escalated", "local", False),
        ("closed", "local", False),
    ]
    assigned, escalated, closed = lines
    assert (assigned.level, assigned.claim_by) == ("microgrid", T0 + timedelta(hours=2))
    assert escalated.time == T0 + timedelta(hours=2, minutes=1)
    assert (escalated.level, escalated.reason) == ("areagrid", "claim_overdue")
    assert (closed.reason, closed.on_time, closed.satisfaction) == ("resolved", True, 4)


def test_an_emergency_is_marked_on_its_feed_line_and_its_open_ticket(policy: Policy) -> None:
    desk = Desk(policy)
    faint = desk.request("shopfront", "超市门口一位老人突然晕倒,叫不醒", T0, "E-1")
    [line] = [line for line in desk.kpis.recent if line.ticket_id == faint]
    assert line.emergency and line.kind == "assigned"
    assert desk.kpis.open[faint].emergency


def test_the_feed_keeps_only_the_latest_decisions(policy: Policy) -> None:
    desk = Desk(policy)
    tickets = [
        desk.request("grid-patrol", "楼梯灯不亮", T0 + timedelta(seconds=n), f"R-{n}")
        for n in range(RECENT + 5)
    ]
    assert len(desk.kpis.recent) == RECENT
    assert [line.ticket_id for line in desk.kpis.recent] == tickets[5:]
    assert desk.kpis.assigned == RECENT + 5


def test_open_tickets_keep_no_phone_number_from_the_description(policy: Policy) -> None:
    desk = Desk(policy)
    ticket = desk.request("grid-patrol", "楼梯灯不亮,回电13905981234", T0, "M-1")
    assert desk.kpis.open[ticket].summary == "楼梯灯不亮,回电139****1234"


def record(value: bytes, topic: str) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, 0, 0, 0, None, value, None, 0, len(value), [])


def test_a_claim_read_before_its_assignment_is_still_applied_after_it(policy: Policy) -> None:
    """Topics are fetched unevenly: the view folds a batch in event-time order."""
    request = received_event(RequestIn(external_id="O-1", description="楼梯灯不亮"), "ehu", T0)
    _, decisions = step(None, request, policy)
    claim = TicketClaimed(
        id=derive_id("O-1", "claim"),
        source="/dispatch/intake/ehu",
        time=T0 + timedelta(minutes=5),
        subject=request.subject,
        causationid="c",
        correlationid="c",
        data=UpdateData(ticket_id=request.subject, actor="网格员"),
    )
    batch = [record(encode(claim), "dispatch.updates"), record(b"not an event", "x")]
    batch += [record(encode(d), "dispatch.decisions") for d in decisions]
    batch.append(record(encode(request), "dispatch.requests"))

    events, skipped = in_order(batch)

    assert skipped == 1
    assert [e.type for e in events] == [
        "dispatch.request.received",
        "dispatch.ticket.classified",
        "dispatch.ticket.assigned",
        "dispatch.ticket.claimed",
    ]
    kpis = Kpis()
    for event in events:
        kpis.fold(event)
    assert kpis.open[request.subject].status == "claimed"
