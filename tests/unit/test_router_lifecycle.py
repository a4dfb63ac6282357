"""A ticket's life after its first assignment, decided by the pure core alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import CloudEvent, derive_id, ticket_id_for
from schemas.events import (
    FeedbackData,
    Location,
    RequestReceived,
    RequestReceivedData,
    TicketAssigned,
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketLinked,
    TicketRejected,
    TicketReopened,
    TicketResolved,
    TicketWhistled,
    WhistleData,
    data_type,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.router.kernel.core import TransitionError, UnknownTicketError, decide, step
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def request(
    description: str,
    external_id: str = "R-1",
    location: Location | None = None,
    when: datetime = T0,
) -> RequestReceived:
    ticket = ticket_id_for("grid-patrol", external_id)
    cause = f"urn:dispatch:grid-patrol:{external_id}"
    return RequestReceived(
        id=derive_id(cause, "received"),
        source="/dispatch/intake/grid-patrol",
        time=when,
        subject=ticket,
        causationid=cause,
        correlationid=derive_id(cause, "received"),
        data=RequestReceivedData(
            ticket_id=ticket,
            source="grid-patrol",
            external_id=external_id,
            description=description,
            location=location,
            received_at=when,
        ),
    )


UPDATE_TYPES: dict[str, type[CloudEvent]] = {
    "claim": TicketClaimed,
    "reject": TicketRejected,
    "resolve": TicketResolved,
    "reopen": TicketReopened,
}


def update(
    ticket: Ticket,
    action: str,
    minutes: int,
    *,
    satisfaction: int | None = None,
    department: str | None = None,
    n: int = 0,
) -> CloudEvent:
    when = T0 + timedelta(minutes=minutes)
    common = {
        "id": derive_id(f"{ticket.ticket_id}:{action}:{minutes}:{n}", "update"),
        "source": "/dispatch/intake/grid-patrol",
        "time": when,
        "subject": ticket.ticket_id,
        "causationid": "urn:test",
        "correlationid": ticket.correlationid,
    }
    if action == "feedback":
        assert satisfaction is not None
        data = FeedbackData(ticket_id=ticket.ticket_id, actor="回访员", satisfaction=satisfaction)
        return TicketFeedback(**common, data=data)
    if action == "whistle":
        assert department is not None
        whistle = WhistleData(
            ticket_id=ticket.ticket_id, actor="城北社区书记", department=department
        )
        return TicketWhistled(**common, data=whistle)
    kind = UPDATE_TYPES[action]
    return kind(
        **common,  # type: ignore[call-arg]
        data=data_type(kind)(ticket_id=ticket.ticket_id, actor="赖清香"),
    )


def run(policy: Policy, ticket: Ticket | None, event: CloudEvent) -> tuple[Ticket, list]:  # type: ignore[type-arg]
    after, decisions = step(ticket, event, policy)
    assert after is not None
    return after, decisions


def local_ticket(policy: Policy) -> Ticket:
    ticket, _ = run(policy, None, request("城北新村南区7幢楼梯灯不亮"))
    return ticket


def test_claim_then_resolve_then_satisfied_feedback_closes_on_time(policy: Policy) -> None:
    ticket = local_ticket(policy)
    ticket, out = run(policy, ticket, update(ticket, "claim", 30))
    assert out == [] and ticket.status == "claimed"
    ticket, out = run(policy, ticket, update(ticket, "resolve", 600))
    assert out == [] and ticket.status == "resolved"
    ticket, out = run(policy, ticket, update(ticket, "feedback", 700, satisfaction=5))
    [closed] = out
    assert isinstance(closed, TicketClosed)
    assert closed.data.outcome == "resolved" and closed.data.on_time is True
    assert closed.data.satisfaction == 5
    assert ticket.status == "closed"


def test_a_resolution_after_the_deadline_closes_late(policy: Policy) -> None:
    ticket = local_ticket(policy)
    ticket, _ = run(policy, ticket, update(ticket, "claim", 30))
    ticket, _ = run(policy, ticket, update(ticket, "resolve", 60 * 24 * 4))
    _, [closed] = run(policy, ticket, update(ticket, "feedback", 60 * 24 * 4 + 5, satisfaction=4))
    assert isinstance(closed, TicketClosed) and closed.data.on_time is False


def test_dissatisfied_feedback_sends_it_back_to_the_handler_with_a_new_deadline(
    policy: Policy,
) -> None:
    ticket = local_ticket(policy)
    ticket, _ = run(policy, ticket, update(ticket, "claim", 30))
    ticket, _ = run(policy, ticket, update(ticket, "resolve", 90))
    ticket, [again] = run(policy, ticket, update(ticket, "feedback", 120, satisfaction=1))
    assert isinstance(again, TicketAssigned)
    assert again.data.assignee.id == "MG-CB-01-01"
    assert again.data.attempt == 2
    # feedback at 11:00: one working hour before the 12:00 break, one after 14:30
    assert again.data.claim_by == datetime(2026, 2, 10, 15, 30, tzinfo=CHINA)
    assert again.data.rule == "reopen:dissatisfied"
    assert ticket.status == "assigned"


def test_reopen_after_close_reassigns_the_same_handler(policy: Policy) -> None:
    ticket = local_ticket(policy)
    for action, minutes in (("claim", 10), ("resolve", 20)):
        ticket, _ = run(policy, ticket, update(ticket, action, minutes))
    ticket, _ = run(policy, ticket, update(ticket, "feedback", 30, satisfaction=5))
    ticket, [again] = run(policy, ticket, update(ticket, "reopen", 60 * 24 * 10))
    assert isinstance(again, TicketAssigned) and again.data.rule == "reopen"
    assert ticket.status == "assigned" and ticket.attempt == 2


def test_reject_moves_a_local_ticket_up_to_the_area_grid(policy: Policy) -> None:
    ticket = local_ticket(policy)
    ticket, [moved] = run(policy, ticket, update(ticket, "reject", 15))
    assert isinstance(moved, TicketEscalated)
    assert moved.data.reason == "rejected"
    assert (moved.data.from_level, moved.data.to_level) == ("microgrid", "areagrid")
    assert moved.data.assignee.id == "AG-CB-01"
    assert moved.data.attempt == 2
    assert moved.time == T0 + timedelta(minutes=15)
    assert ticket.assignee is not None and ticket.assignee.id == "AG-CB-01"


def test_the_third_reject_goes_to_the_street_for_supervision(policy: Policy) -> None:
    ticket = local_ticket(policy)
    levels = []
    for n in range(3):
        ticket, [moved] = run(policy, ticket, update(ticket, "reject", 10 + n, n=n))
        assert isinstance(moved, TicketEscalated)
        levels.append(moved.data.to_level)
    assert levels == ["areagrid", "community", "street"]
    assert ticket.assignee is not None and ticket.assignee.id == "ST-FG"


def test_a_department_that_rejects_hands_back_to_the_command_center(policy: Policy) -> None:
    ticket, _ = run(policy, None, request("城北新村南区5幢没有路灯"))
    assert ticket.assignee is not None and ticket.assignee.kind == "department"
    _, [moved] = run(policy, ticket, update(ticket, "reject", 5))
    assert isinstance(moved, TicketEscalated)
    assert moved.data.assignee.kind == "command_center"


def test_the_command_center_cannot_reject(policy: Policy) -> None:
    ticket, _ = run(policy, None, request("超市门口一位路人晕倒"))
    with pytest.raises(TransitionError, match="command center"):
        decide(ticket, update(ticket, "reject", 5), policy)


def test_whistle_calls_the_department_in_with_a_report_deadline(policy: Policy) -> None:
    ticket = local_ticket(policy)
    ticket, [called] = run(policy, ticket, update(ticket, "whistle", 40, department="DEP-CG"))
    assert isinstance(called, TicketEscalated)
    assert called.data.reason == "whistle"
    assert called.data.assignee.id == "DEP-CG"
    assert called.data.claim_by == T0 + timedelta(minutes=40 + 30)
    assert ticket.status == "assigned"


def test_whistle_for_an_unknown_department_is_refused_naming_the_known_ones(
    policy: Policy,
) -> None:
    ticket = local_ticket(policy)
    with pytest.raises(TransitionError, match="DEP-CG"):
        decide(ticket, update(ticket, "whistle", 40, department="DEP-XX"), policy)


@pytest.mark.parametrize(
    ("before", "action"),
    [
        ([], "resolve"),  # 办结 before 签收
        ([], "feedback"),
        ([], "reopen"),
        (["claim"], "claim"),
        (["claim", "resolve"], "claim"),
        (["claim", "resolve"], "reject"),
        (["claim", "resolve"], "whistle"),
    ],
)
def test_transitions_the_state_does_not_allow_are_refused_with_a_reason(
    policy: Policy,
    before: list[str],
    action: str,
) -> None:
    ticket = local_ticket(policy)
    for n, step_action in enumerate(before):
        ticket, _ = run(policy, ticket, update(ticket, step_action, 10 + n))
    event = update(ticket, action, 50, satisfaction=4, department="DEP-CG")
    with pytest.raises(TransitionError, match="not allowed"):
        decide(ticket, event, policy)


def test_an_update_for_a_ticket_not_seen_yet_is_named_as_such(policy: Policy) -> None:
    ticket = local_ticket(policy)
    with pytest.raises(UnknownTicketError):
        decide(None, update(ticket, "claim", 5), policy)


def test_a_redelivered_update_changes_nothing(policy: Policy) -> None:
    ticket = local_ticket(policy)
    claim = update(ticket, "claim", 5)
    claimed, _ = run(policy, ticket, claim)
    again, out = run(policy, claimed, claim)
    assert out == [] and again == claimed


def test_a_repeat_report_of_an_open_place_joins_it(policy: Policy) -> None:
    first, _ = run(policy, None, request("城北新村南区7幢楼梯灯不亮", "R-1"))
    assert first.place is not None
    repeat = request("城北新村南区7幢楼梯灯又坏了,还没人修", "R-2", when=T0 + timedelta(hours=1))
    merged, out = step(None, repeat, policy, {first.place: first.ticket_id})
    kinds = [type(d).__name__ for d in out]
    assert kinds == ["TicketClassified", "TicketClosed", "TicketLinked"]
    closed, linked = out[1], out[2]
    assert isinstance(closed, TicketClosed) and isinstance(linked, TicketLinked)
    assert closed.data.outcome == "merged" and closed.data.merged_into == first.ticket_id
    assert linked.subject == first.ticket_id and linked.data.repeat == repeat.data.ticket_id
    assert merged is not None and merged.status == "closed"

    escalated_first, [up] = run(policy, first, linked)
    assert isinstance(up, TicketEscalated)
    assert up.data.reason == "repeat_report"
    assert (up.data.from_level, up.data.to_level) == ("microgrid", "areagrid")
    assert escalated_first.level == "areagrid"


def test_a_repeat_report_of_a_resolved_ticket_reopens_it(policy: Policy) -> None:
    ticket = local_ticket(policy)
    for action, minutes in (("claim", 10), ("resolve", 20)):
        ticket, _ = run(policy, ticket, update(ticket, action, minutes))
    assert ticket.place is not None
    repeat = request("城北新村南区7幢楼梯灯还是不亮", "R-9", when=T0 + timedelta(hours=3))
    _, out = step(None, repeat, policy, {ticket.place: ticket.ticket_id})
    linked = out[-1]
    _, [again] = run(policy, ticket, linked)
    assert isinstance(again, TicketAssigned) and again.data.rule == "reopen:repeat_report"


def test_an_emergency_is_never_merged_into_an_open_ticket(policy: Policy) -> None:
    first, _ = run(policy, None, request("洋坊新村楼道有人晕倒", "E-1"))
    again = request("洋坊新村楼道有人晕倒,不省人事", "E-2")
    out = decide(None, again, policy, {first.place or "": first.ticket_id})
    assert [type(d).__name__ for d in out] == ["TicketClassified", "TicketAssigned"]


def test_every_decision_records_the_ticket_version_it_was_decided_on(policy: Policy) -> None:
    ticket = local_ticket(policy)
    assert ticket.version == 1
    ticket, _ = run(policy, ticket, update(ticket, "claim", 5))
    _, [moved] = run(policy, ticket, update(ticket, "reject", 6))
    assert moved.ticketversion == 2
