"""近邻恳谈会 decided by the pure kernel: the convener of a consultation ticket schedules a
meeting and records its outcome; agreement settles it, disagreement or a handoff passes it on."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    FeedbackData,
    MeetingHeldData,
    MeetingScheduledData,
    Principal,
    TicketAssigned,
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketMeetingHeld,
    TicketMeetingScheduled,
    UpdateData,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.intake.views import TicketState, apply, view
from services.router.kernel.core import TransitionError, decide, step
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY
from tests.unit.ticks import tick

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CHINA)  # a Tuesday, in working hours
CONVENER = Principal(kind="handler", name="召集人", unit="CM-CB:convener")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def opened(policy: Policy, n: int = 0) -> tuple[Ticket, list[CloudEvent]]:
    text = "城北新村南区5幢楼上邻居装修噪音扰民,多次协商不成"
    first = received_event(RequestIn(external_id=f"M-{n}", description=text), "grid-patrol", T0)
    ticket, decided = step(None, first, policy)
    assert ticket is not None and ticket.tier == "consultation"
    assert ticket.assignee is not None and ticket.assignee.id == "CM-CB:convener"
    return ticket, [first, *decided]


def common(ticket: Ticket, name: str, when: datetime) -> dict[str, object]:
    return {
        "id": derive_id(f"{ticket.ticket_id}:{name}:{when.isoformat()}", "update"),
        "source": "/dispatch/intake/handler",
        "time": when,
        "subject": ticket.ticket_id,
        "causationid": f"urn:test:{name}",
        "correlationid": ticket.correlationid,
    }


def schedule(ticket: Ticket, when: datetime, meeting: datetime) -> TicketMeetingScheduled:
    data = MeetingScheduledData(
        ticket_id=ticket.ticket_id,
        actor="城北社区召集人",
        principal=CONVENER,
        at=meeting,
        place="城北社区议事厅",
    )
    return TicketMeetingScheduled(**common(ticket, "schedule", when), data=data)  # type: ignore[arg-type]


def hold(
    ticket: Ticket, when: datetime, outcome: str, handoff: str | None = None
) -> TicketMeetingHeld:
    data = MeetingHeldData(
        ticket_id=ticket.ticket_id,
        actor="城北社区召集人",
        principal=CONVENER,
        outcome=outcome,  # type: ignore[arg-type]
        minutes="双方同意装修时间为8:00-12:00、14:00-18:00;联系人13905981234",
        handoff=handoff,
    )
    return TicketMeetingHeld(**common(ticket, f"hold:{outcome}", when), data=data)  # type: ignore[arg-type]


def run(policy: Policy, ticket: Ticket, event: CloudEvent) -> tuple[Ticket, list[CloudEvent]]:
    after, decisions = step(ticket, event, policy)
    assert after is not None
    return after, list(decisions)


def test_scheduling_is_the_conveners_claim_and_the_meeting_becomes_the_deadline(
    policy: Policy,
) -> None:
    ticket, _ = opened(policy)
    ticket, out = run(policy, ticket, schedule(ticket, at(1), at(30)))
    assert out == [] and ticket.status == "claimed" and ticket.meeting_at == at(30)
    _, quiet = run(policy, ticket, tick(at(30 + 23)))
    assert not [d for d in quiet if isinstance(d, TicketEscalated)]
    after, [up] = run(policy, ticket, tick(at(30 + 24)))  # no outcome a day after the meeting
    assert isinstance(up, TicketEscalated) and up.data.reason == "meeting_overdue"
    assert up.data.assignee.id == "CM-CB" and after.meeting_at is None
    _, again = run(policy, ticket, tick(at(30 + 25)))
    assert [d.id for d in again] == [up.id]  # whichever tick noticed it


def test_a_meeting_must_lie_ahead_and_within_the_resolve_limit(policy: Policy) -> None:
    ticket, _ = opened(policy)
    with pytest.raises(TransitionError, match="not after now"):
        decide(ticket, schedule(ticket, at(2), at(1)), policy)
    assert ticket.resolve_by is not None
    late = ticket.resolve_by + timedelta(hours=1)
    with pytest.raises(TransitionError, match="extension"):
        decide(ticket, schedule(ticket, at(2), late), policy)
    claim = TicketClaimed(
        **common(ticket, "claim", at(1)),  # type: ignore[arg-type]
        data=UpdateData(ticket_id=ticket.ticket_id, actor="召集人", principal=CONVENER),
    )
    claimed, _ = run(policy, ticket, claim)
    with pytest.raises(TransitionError, match="schedule first"):
        decide(claimed, hold(claimed, at(31), "agreed"), policy)


def test_agreement_settles_it_and_feedback_closes_it_on_time(policy: Policy) -> None:
    ticket, _ = opened(policy)
    ticket, _ = run(policy, ticket, schedule(ticket, at(1), at(30)))
    ticket, out = run(policy, ticket, hold(ticket, at(31), "agreed"))
    assert out == [] and ticket.status == "resolved" and ticket.resolved_at == at(31)
    rated = TicketFeedback(
        **common(ticket, "feedback", at(40)),  # type: ignore[arg-type]
        data=FeedbackData(ticket_id=ticket.ticket_id, actor="回访员", satisfaction=5),
    )
    _, [closed] = run(policy, ticket, rated)
    assert isinstance(closed, TicketClosed) and closed.data.on_time is True


def test_a_handoff_passes_it_to_the_department_with_the_departments_limits(
    policy: Policy,
) -> None:
    ticket, _ = opened(policy)
    ticket, _ = run(policy, ticket, schedule(ticket, at(1), at(30)))
    ticket, [handed] = run(policy, ticket, hold(ticket, at(31), "agreed", handoff="DEP-CG"))
    assert isinstance(handed, TicketAssigned)
    assert handed.data.assignee.id == "DEP-CG" and handed.data.reason == "handoff"
    limits = policy.deadlines.department
    assert handed.data.claim_by - at(31) <= limits.claim + timedelta(days=3)  # working time
    assert ticket.status == "assigned" and ticket.meeting_at is None
    with pytest.raises(TransitionError, match="not with a 近邻恳谈会 convener"):
        decide(ticket, schedule(ticket, at(32), at(40)), policy)


def test_no_agreement_passes_it_to_the_street(policy: Policy) -> None:
    ticket, _ = opened(policy)
    ticket, _ = run(policy, ticket, schedule(ticket, at(1), at(30)))
    ticket, [passed] = run(policy, ticket, hold(ticket, at(31), "not_agreed"))
    assert isinstance(passed, TicketAssigned)
    assert passed.data.assignee.id == "ST-FG" and passed.data.level == "street"


def test_only_a_conveners_ticket_has_a_meeting(policy: Policy) -> None:
    text = "城北新村南区7幢楼梯灯不亮"
    first = received_event(RequestIn(external_id="M-local", description=text), "grid-patrol", T0)
    local, _ = step(None, first, policy)
    assert local is not None
    with pytest.raises(TransitionError, match="convener"):
        decide(local, schedule(local, at(1), at(30)), policy)


def test_the_view_shows_the_meeting_and_its_minutes_masked(policy: Policy) -> None:
    ticket, events = opened(policy, 9)
    for event in (schedule(ticket, at(1), at(30)), hold(ticket, at(31), "agreed")):
        ticket, out = run(policy, ticket, event)
        events += [event, *out]
    state = TicketState(ticket_id=ticket.ticket_id)
    for event in events:
        state = apply(state, event)
    shown = view(state)
    assert shown is not None and shown.status == "resolved"
    scheduled, held = shown.timeline[-2:]
    assert scheduled.meeting_at == at(30) and scheduled.place == "城北社区议事厅"
    assert "近邻恳谈会" in scheduled.summary
    assert held.outcome == "agreed" and held.minutes is not None
    assert "13905981234" not in held.minutes and "139****1234" in held.minutes
