"""The console's ticket store: timelines, search, the grid's load, trends (no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    FeedbackData,
    NotificationData,
    NotificationSent,
    ReviewRequestedData,
    TicketClaimed,
    TicketFeedback,
    TicketResolved,
    TicketReviewRequested,
    data_type,
)
from schemas.policy import load_policy
from schemas.words import CHINA
from services.console.queries import Filters, grid_load, search
from services.console.tickets import Tickets
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=CHINA)  # Tuesday: a local ticket is claimed by 11:00
POLICY = load_policy(SMALL_POLICY)


def request(external_id: str, description: str, **extra: Any) -> list[CloudEvent]:
    """A request and the router's decisions on it."""
    body = RequestIn(external_id=external_id, description=description, **extra)
    event = received_event(body, "grid-patrol", T0)
    _, decisions = step(None, event, POLICY)
    return [event, *decisions]


def update(kind: type, ticket_id: str, at: datetime, note: str = "") -> CloudEvent:
    made: CloudEvent = kind(
        id=derive_id(kind.__name__ + ticket_id, at.isoformat()),
        source="/dispatch/intake/hotline-12345",
        time=at,
        subject=ticket_id,
        causationid="k",
        correlationid="k",
        data=data_type(kind)(ticket_id=ticket_id, actor="赖清香", note=note or None),
    )
    return made


def feedback(ticket_id: str, at: datetime) -> CloudEvent:
    return TicketFeedback(
        id=derive_id("feedback" + ticket_id, at.isoformat()),
        source="/dispatch/intake/hotline-12345",
        time=at,
        subject=ticket_id,
        causationid="f",
        correlationid="f",
        data=FeedbackData(ticket_id=ticket_id, actor="12345回访员", satisfaction=5),
    )


def folded(*events: CloudEvent, store: Tickets | None = None) -> Tickets:
    store = store or Tickets()
    for event in events:
        store.fold(event)
    return store


def test_a_ticket_shows_every_input_and_decision_with_who_and_when() -> None:
    events = request(
        "P-1",
        "城北新村南区7幢楼梯灯不亮,联系13905981234",
        reporter={"name": "张三", "phone": "13905981234"},
    )
    store = folded(*events)
    [ticket] = store.all()
    assert ticket.status == "assigned" and ticket.tier == "local"
    assert "赖清香" in ticket.assignee
    titles = [x.title for x in ticket.lines]
    assert titles[0] == "受理诉求" and titles[1].startswith("分类:")
    assert titles[2].startswith("派单 → ")
    assert ticket.lines[0].who == "网格员民情账本"  # the source, never the resident
    text = " ".join(f"{x.title} {x.who} {x.detail}" for x in ticket.lines) + ticket.description
    assert "13905981234" not in text and "139****1234" in text
    assert "张三" not in text


def test_redelivered_events_are_one_line_and_late_claims_still_count() -> None:
    events = request("P-2", "城北新村南区7幢楼梯灯不亮")
    ticket_id = events[0].subject
    claimed = update(TicketClaimed, ticket_id, T0 + timedelta(minutes=5), "今晚去看")
    store = folded(claimed, *events, *events, claimed)  # the claim read before its assignment
    ticket = store.get(ticket_id)
    assert ticket is not None and ticket.status == "claimed"
    assert [x.title for x in ticket.lines].count("签收") == 1
    assert len(ticket.lines) == len(events) + 1


def test_notifications_and_refusals_join_the_timeline() -> None:
    events = request("P-3", "城北新村南区7幢楼梯灯不亮")
    assigned = events[-1]
    sent = NotificationSent(
        id=derive_id(assigned.id, "sent"),
        source="/dispatch/notifier",
        time=T0 + timedelta(seconds=2),
        subject=assigned.subject,
        causationid=assigned.id,
        correlationid=assigned.id,
        data=NotificationData(
            ticket_id=assigned.subject,
            decision_id=assigned.id,
            decision_type=assigned.type,
            channel="log",
            recipient="MG-CB-01-01",
            attempts=1,
            latency_ms=3,
        ),
    )
    ticket = folded(*events, sent).get(assigned.subject)
    assert ticket is not None
    assert ticket.lines[-1].kind == "notification"
    assert ticket.lines[-1].title == "已通知 MG-CB-01-01(系统日志)"


def test_every_open_ticket_is_kept_and_only_the_latest_closed_ones() -> None:
    store = Tickets(keep_closed=2)
    ids = []
    for n in range(4):
        body = RequestIn(external_id=f"P-4-{n}", description="城北新村南区7幢楼梯灯不亮")
        event = received_event(body, "grid-patrol", T0)
        ticket, decisions = step(None, event, POLICY)
        folded(event, *decisions, store=store)
        ids.append(event.subject)
        if n == 3:
            continue  # stays open
        at = T0 + timedelta(minutes=n + 1)
        for kind in (TicketClaimed, TicketResolved):
            made = update(kind, event.subject, at)
            ticket, more = step(ticket, made, POLICY)
            folded(made, *more, store=store)
        rated = feedback(event.subject, at + timedelta(seconds=30))
        _, closing = step(ticket, rated, POLICY)
        assert "dispatch.ticket.closed" in [d.type for d in closing]
        folded(rated, *closing, store=store)
    assert store.get(ids[0]) is None  # the oldest closed one is gone
    assert store.get(ids[1]) is not None and store.get(ids[2]) is not None
    kept = store.get(ids[3])
    assert kept is not None and not kept.closed  # open: always kept
    assert len(store.by_id) == 3


def test_search_filters_by_tier_text_overdue_and_pending_review_in_pages() -> None:
    store = Tickets()
    ids = []
    for n in range(5):
        events = request(f"P-5-{n}", f"城北新村南区7幢楼梯灯不亮 第{n}盏")
        ids.append(events[0].subject)
        folded(*events, store=store)
    asked = T0 + timedelta(minutes=3)
    review = TicketReviewRequested(
        id=derive_id("review" + ids[0], asked.isoformat()),
        source="/dispatch/router",
        time=asked,
        subject=ids[0],
        causationid="r",
        correlationid="r",
        policyversion=POLICY.version,
        ticketversion=2,
        data=ReviewRequestedData(
            ticket_id=ids[0],
            summary="楼梯灯",
            request="r",
            kind="reject",
            reason_code="not_our_duty",
        ),
    )
    folded(review, store=store)
    soon = T0 + timedelta(minutes=30)
    late = T0 + timedelta(hours=5)
    tickets = store.all()

    assert search(tickets, Filters(tier="local"), soon).total == 5
    assert search(tickets, Filters(tier="city"), soon).total == 0
    assert [t.ticket_id for t in search(tickets, Filters(q="第3盏"), soon).items] == [ids[3]]
    assert search(tickets, Filters(overdue=True), soon).total == 0
    assert search(tickets, Filters(overdue=True), late).total == 5  # under review: clock runs
    assert [t.ticket_id for t in search(tickets, Filters(pending=True), soon).items] == [ids[0]]
    page = search(tickets, Filters(size=2, page=3), soon)
    assert (page.total, page.pages, page.page, len(page.items)) == (5, 3, 3, 1)
    unit = store.get(ids[1])
    assert unit is not None
    assert search(tickets, Filters(unit=unit.assignee_id), soon).total == 5


def test_the_grid_counts_each_open_ticket_at_its_unit_and_every_unit_above() -> None:
    store = folded(*request("P-6", "城北新村南区7幢楼梯灯不亮"))
    [ticket] = store.open()
    late = T0 + timedelta(hours=5)
    root = grid_load(POLICY, store.open(), late)
    assert (root.open, root.overdue) == (1, 1)
    path = []
    node = root
    while node.children:
        node = next(c for c in node.children if c.open)
        path.append(node.unit.id)
    assert path[-1] == ticket.assignee_id
    assert node.own == 1 and node.heat > 0
    quiet = [c for c in root.children if not c.open]
    assert all(c.heat == 0 for c in quiet)


def test_trends_count_today_by_source_and_tier() -> None:
    store = folded(*request("P-7", "城北新村南区7幢楼梯灯不亮"), *request("P-8", "楼道灯不亮"))
    today = T0.date()
    assert store.trends.sources([today]) == {"grid-patrol": 2}
    assert sum(store.trends.tier_counts([today]).values()) == 2
    week = store.trends.window(today, 7)
    assert store.trends.daily(week)[-1] == (today, 2)
