"""The intake's read model: a fold over a ticket's events, in any arrival order."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from schemas.envelope import derive_id
from schemas.events import (
    AssignedData,
    Assignee,
    ClassifiedData,
    ClosedData,
    FeedbackData,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketFeedback,
    Unit,
    UpdateData,
)
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.intake.views import TicketState, apply, view

T0 = datetime(2026, 2, 10, 19, 20, tzinfo=CHINA)
LEADER = Assignee(id="MG-CB-01-01", kind="microgrid_leader", name="赖清香")


def received():  # type: ignore[no-untyped-def]
    body = RequestIn.model_validate(
        {
            "external_id": "12345-20260210-0042",
            "description": "城北新村南区5幢楼道灯坏了,联系我13905981234",
            "reporter": {"name": "赖女士", "phone": "13905981234"},
            "location": {"address": "城北新村南区5幢"},
        }
    )
    return received_event(body, "hotline-12345", T0)


def decision_fields(cause: str, purpose: str, at: datetime) -> dict[str, object]:
    return {
        "id": derive_id(cause, purpose),
        "source": "/dispatch/router",
        "time": at,
        "causationid": cause,
        "correlationid": cause,
        "policyversion": "p@1",
        "ticketversion": 1,
    }


def lifecycle() -> list[object]:
    first = received()
    ticket = first.subject
    common = {"subject": ticket}
    classified = TicketClassified(
        **common,
        **decision_fields(first.id, "classified", T0),
        data=ClassifiedData(
            ticket_id=ticket,
            category="corridor_light",
            category_name="楼道照明",
            tier="local",
            emergency=False,
            resolution="government",
            unit=Unit(id="MG-CB-01-01", level="microgrid", name="城北社区第1微网格"),
            rule="default",
        ),
    )
    assigned = TicketAssigned(
        **common,
        **decision_fields(first.id, "assigned:1", T0),
        data=AssignedData(
            ticket_id=ticket,
            summary="楼道灯坏了",
            tier="local",
            level="microgrid",
            assignee=LEADER,
            claim_by=T0 + timedelta(hours=2),
            resolve_by=T0 + timedelta(days=3),
            attempt=1,
            rule="default",
        ),
    )
    update = {
        "source": "/dispatch/intake/grid-patrol",
        "subject": ticket,
        "causationid": "urn:x",
        "correlationid": first.correlationid,
    }
    claimed = TicketClaimed(
        **update,
        id="claim-1",
        time=T0 + timedelta(minutes=30),
        data=UpdateData(ticket_id=ticket, actor="赖清香", note="回电13905981234"),
    )
    closed = TicketClosed(
        **common,
        **decision_fields(first.id, "closed", T0 + timedelta(days=1)),
        data=ClosedData(ticket_id=ticket, outcome="resolved", on_time=True, satisfaction=5),
    )
    feedback = TicketFeedback(
        **update,
        id="feedback-1",
        time=T0 + timedelta(hours=23),
        data=FeedbackData(ticket_id=ticket, actor="回访员", satisfaction=5),
    )
    return [first, classified, assigned, claimed, feedback, closed]


def fold(events: list[object]) -> TicketState:
    state = TicketState(ticket_id=received().subject)
    for event in events:
        state = apply(state, event)  # type: ignore[arg-type]
    return state


def test_a_full_lifecycle_ends_closed_with_assignee_deadline_and_satisfaction() -> None:
    shown = view(fold(lifecycle()))
    assert shown is not None
    assert shown.status == "closed"
    assert shown.assignee == LEADER
    assert shown.resolve_by == T0 + timedelta(days=3)
    assert shown.category_name == "楼道照明" and shown.tier == "local"
    assert shown.satisfaction == 5
    assert [e.type.rsplit(".", 1)[1] for e in shown.timeline] == [
        "received",
        "classified",
        "assigned",
        "claimed",
        "feedback",
        "closed",
    ]


def test_arrival_order_does_not_change_the_view() -> None:
    events = lifecycle()
    expected = view(fold(events))
    for order in itertools.islice(itertools.permutations(events), 0, None, 37):
        assert view(fold(list(order))) == expected


def test_a_redelivered_event_is_applied_once() -> None:
    events = lifecycle()
    assert fold(events + events[1:3]) == fold(events)


def test_no_view_until_the_request_itself_was_seen() -> None:
    assert view(fold(lifecycle()[1:])) is None


def test_phone_numbers_are_masked_everywhere_the_view_shows_text() -> None:
    shown = view(fold(lifecycle()))
    assert shown is not None
    text = shown.model_dump_json()
    assert "13905981234" not in text
    assert shown.reporter is not None and shown.reporter.phone == "139****1234"
    assert "139****1234" in shown.description


def test_timeline_speaks_chinese() -> None:
    shown = view(fold(lifecycle()))
    assert shown is not None
    summaries = [e.summary for e in shown.timeline]
    assert summaries[0] == "受理:12345热线来件(12345-20260210-0042)"
    assert summaries[2].startswith("派单:赖清香,02月10日21:20前签收")
    assert summaries[-1] == "结案:按期办结"
