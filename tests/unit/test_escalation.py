"""Nothing overdue goes unnoticed: escalation on clock ticks, with a simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketResolved,
    data_type,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from services.router.kernel.escalation import next_check
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY
from tests.unit.ticks import tick


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def opened(policy: Policy, text: str, when: datetime) -> Ticket:
    event = received_event(
        RequestIn(external_id=f"E-{when.isoformat()}-{text}", description=text), "grid-patrol", when
    )
    ticket, _ = step(None, event, policy)
    assert ticket is not None
    return ticket


def update(ticket: Ticket, kind: type[CloudEvent], when: datetime) -> CloudEvent:
    return kind(  # type: ignore[call-arg]
        id=derive_id(f"{ticket.ticket_id}:{kind.__name__}:{when}", "u"),
        source="/dispatch/intake/x",
        time=when,
        subject=ticket.ticket_id,
        causationid="u",
        correlationid="u",
        data=data_type(kind)(ticket_id=ticket.ticket_id, actor="赖清香"),
    )


def at_tick(policy: Policy, ticket: Ticket, when: datetime) -> tuple[Ticket, list[object]]:
    after, decisions = step(ticket, tick(when), policy)
    assert after is not None
    return after, list(decisions)


def test_nothing_happens_before_the_claim_deadline(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    assert ticket.claim_by == at(3, 10, 11)
    _, out = at_tick(policy, ticket, at(3, 10, 10, 59))
    assert out == []


def test_an_unclaimed_local_ticket_escalates_to_the_area_grid(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    ticket, [moved] = at_tick(policy, ticket, at(3, 10, 11, 0))
    assert isinstance(moved, TicketEscalated)
    assert moved.data.reason == "claim_overdue"
    assert (moved.data.from_level, moved.data.to_level) == ("microgrid", "areagrid")
    assert moved.data.previous_assignee is not None
    assert moved.data.previous_assignee.id == "MG-CB-01-01"
    assert moved.time == at(3, 10, 11)
    # new deadlines from the tick, in working time (11:00 + 2 working hours across lunch)
    assert moved.data.claim_by == at(3, 10, 15, 30)
    assert ticket.level == "areagrid" and ticket.status == "assigned"


def test_unclaimed_it_climbs_every_level_to_the_district_and_stops_there(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    levels = []
    for _ in range(8):
        check = next_check(ticket, policy)
        if check is None:
            break
        ticket, out = at_tick(policy, ticket, check)
        levels += [d.data.to_level for d in out if isinstance(d, TicketEscalated)]
    assert levels == ["areagrid", "community", "street", "district"]
    assert ticket.assignee is not None and ticket.assignee.kind == "command_center"
    # nobody above: its overdue claim is no check any more (it shows overdue on the screens)
    assert ticket.claim_by is not None and next_check(ticket, policy) is None
    _, out = at_tick(policy, ticket, ticket.claim_by + timedelta(days=30))
    assert out == []


def test_a_claim_stops_claim_escalation_and_resolve_overdue_brings_supervision(
    policy: Policy,
) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    ticket, _ = step(ticket, update(ticket, TicketClaimed, at(3, 10, 10)), policy)
    assert ticket is not None
    _, out = at_tick(policy, ticket, at(3, 10, 16))
    assert out == []
    assert ticket.resolve_by == at(3, 13, 9)  # three working days later, same time
    ticket, [supervised] = at_tick(policy, ticket, at(3, 13, 9))
    assert isinstance(supervised, TicketEscalated)
    assert supervised.data.reason == "resolve_overdue"
    assert supervised.data.to_level == "areagrid"


def test_a_resolution_stops_escalation_and_no_feedback_closes_it_later(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    for kind, when in ((TicketClaimed, at(3, 10, 9, 30)), (TicketResolved, at(3, 10, 10))):
        ticket, _ = step(ticket, update(ticket, kind, when), policy)  # type: ignore[assignment]
    _, out = at_tick(policy, ticket, at(3, 13, 9, 30))
    assert out == []
    ticket, [closed] = at_tick(policy, ticket, at(3, 13, 10))  # three working days later
    assert isinstance(closed, TicketClosed)
    assert closed.data.on_time is True and closed.data.satisfaction is None
    assert ticket.status == "closed"
    assert next_check(ticket, policy) is None


def test_a_weekend_does_not_count_toward_the_claim_deadline(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 13, 17))  # Friday 17:00
    assert ticket.claim_by == at(3, 16, 10)  # 30 minutes Friday, 90 minutes Monday
    _, out = at_tick(policy, ticket, at(3, 14, 12))
    assert out == []
    _, [moved] = at_tick(policy, ticket, at(3, 16, 10))
    assert isinstance(moved, TicketEscalated)


def test_the_spring_festival_holiday_pauses_the_clock(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(2, 16, 10))  # a holiday
    assert ticket.claim_by == at(2, 24, 10, 30)
    _, out = at_tick(policy, ticket, at(2, 20, 12))
    assert out == []


def test_a_tiaoxiu_saturday_counts_as_a_working_day(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(2, 13, 16))  # Friday 16:00
    assert ticket.claim_by == at(2, 14, 9)  # 1.5 h Friday, 0.5 h on the 调休 Saturday
    _, [moved] = at_tick(policy, ticket, at(2, 14, 9))
    assert isinstance(moved, TicketEscalated)


def test_an_emergency_runs_on_the_wall_clock_and_stays_with_the_command_center(
    policy: Policy,
) -> None:
    ticket = opened(policy, "超市门口有人晕倒,不省人事", at(2, 16, 3))  # 3 am on a holiday
    assert ticket.claim_by == at(2, 16, 3, 10)
    _, out = at_tick(policy, ticket, at(2, 16, 3, 30))
    assert out == []  # no one above the district command center


def test_the_escalation_id_is_the_same_whichever_tick_noticed_it(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    _, [first] = at_tick(policy, ticket, at(3, 10, 11))
    _, [later] = at_tick(policy, ticket, at(3, 10, 11, 0) + timedelta(seconds=3))
    assert first.id == later.id


def test_ticks_are_not_inputs_of_the_ticket(policy: Policy) -> None:
    ticket = opened(policy, "城北新村南区7幢楼梯灯不亮", at(3, 10, 9))
    after, _ = at_tick(policy, ticket, at(3, 10, 10))
    assert after == ticket
    moved, _ = at_tick(policy, ticket, at(3, 10, 11))
    assert moved.version == ticket.version and moved.applied == ticket.applied
