"""五闪积分 decided by the pure kernel: a volunteer's report earns its kind's points when its
ticket closes as resolved, never when invalid or merged away, and once however often closed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas.envelope import CloudEvent, Decision, derive_id
from schemas.events import (
    FeedbackData,
    InvalidateData,
    PointsAwarded,
    RequestReceived,
    TicketClaimed,
    TicketClosed,
    TicketFeedback,
    TicketInvalidated,
    TicketReopened,
    TicketResolved,
    UpdateData,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from services.router.kernel.handle import handle
from services.router.kernel.places import apply_changes
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def report(
    n: int, text: str = "城北新村南区6幢门口垃圾桶满了没人清运", **body: Any
) -> RequestReceived:
    fields = {"volunteer_id": "WS-0231", "kind": "remove"} | body
    request = RequestIn(external_id=f"V-{n}", description=text, **fields)
    return received_event(request, "volunteer", T0 + timedelta(minutes=n))


def update(ticket: Ticket, kind: type[CloudEvent], minutes: int, **data: Any) -> CloudEvent:
    model = {
        TicketFeedback: FeedbackData,
        TicketInvalidated: InvalidateData,
    }.get(kind, UpdateData)
    return kind(  # type: ignore[call-arg]
        id=derive_id(f"{ticket.ticket_id}:{kind.__name__}:{minutes}", "u"),
        source="/dispatch/intake/x",
        time=T0 + timedelta(minutes=minutes),
        subject=ticket.ticket_id,
        causationid="u",
        correlationid="u",
        data=model(ticket_id=ticket.ticket_id, actor="赖清香", **data),
    )


Step = tuple[type[CloudEvent], int, dict[str, Any]]


def play(policy: Policy, first: RequestReceived, *steps: Step) -> tuple[Ticket, list[Decision]]:
    ticket, out = step(None, first, policy)
    assert ticket is not None
    ticket, rest = play_on(policy, ticket, *steps)
    return ticket, [*out, *rest]


def play_on(policy: Policy, ticket: Ticket, *steps: Step) -> tuple[Ticket, list[Decision]]:
    decided: list[Decision] = []
    for kind, minutes, data in steps:
        after, out = step(ticket, update(ticket, kind, minutes, **data), policy)
        assert after is not None
        ticket = after
        decided += out
    return ticket, decided


def awards(decisions: list[Decision]) -> list[PointsAwarded]:
    return [d for d in decisions if isinstance(d, PointsAwarded)]


RESOLVED = (
    (TicketClaimed, 5, {}),
    (TicketResolved, 30, {}),
    (TicketFeedback, 60, {"satisfaction": 5}),
)


def test_a_resolved_report_earns_its_kinds_points_on_the_points_topic(policy: Policy) -> None:
    _, submitted = step(None, report(1), policy)
    assert awards(submitted) == []  # not merely for submitting
    _, decided = play(policy, report(1), *RESOLVED[:2])
    assert awards(decided) == []  # nor before the resolution is confirmed (closed)
    _, decided = play(policy, report(1), *RESOLVED)
    [award] = awards(decided)
    assert award.TOPIC == "dispatch.points" and award.type == "dispatch.points.awarded"
    assert (award.data.volunteer_id, award.data.kind) == ("WS-0231", "remove")
    assert award.data.points == policy.volunteers.points["remove"]
    assert award.subject == award.data.ticket_id


def test_an_invalid_report_earns_nothing(policy: Policy) -> None:
    _, decided = play(
        policy,
        report(2),
        (TicketClaimed, 5, {}),
        (TicketInvalidated, 10, {"reason_code": next(iter(policy.lifecycle.invalid_reasons))}),
    )
    assert [d.data.outcome for d in decided if isinstance(d, TicketClosed)] == ["invalid"]
    assert awards(decided) == []


def test_closed_again_after_a_reopen_it_is_the_same_award(policy: Policy) -> None:
    ticket, first = play(policy, report(3), *RESOLVED)
    ticket, _ = step(ticket, update(ticket, TicketReopened, 90), policy)
    assert ticket is not None
    _, again = play_on(policy, ticket, (TicketClaimed, 95, {}), (TicketResolved, 100, {}),
                       (TicketFeedback, 120, {"satisfaction": 4}))  # fmt: skip
    assert [a.id for a in awards(again)] == [a.id for a in awards(first)]


def test_a_repeat_of_an_open_ticket_earns_nothing(policy: Policy) -> None:
    """No gaming by repeats: a second report of the same thing is merged away, unpaid."""
    text = "城北新村南区7幢楼梯灯不亮"
    places: dict[str, str] = {}
    first = handle(None, report(4, text), policy, places)
    apply_changes(places, first.places)
    repeat = handle(None, report(5, text, volunteer_id="WS-0999"), policy, places)
    closed = [d for d in repeat.decisions if isinstance(d, TicketClosed)]
    assert [c.data.outcome for c in closed] == ["merged"]
    assert awards(list(repeat.decisions)) == []
