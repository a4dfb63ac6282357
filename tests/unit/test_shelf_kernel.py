"""解忧超市 decided by the pure kernel: a mini-program worry goes on the shelf, is adopted by a
helper or a handler, or falls back to its place when nobody adopts it in time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    ClockTicked,
    Principal,
    RequestReceived,
    TicketAdopted,
    TicketAssigned,
    TicketClaimed,
    TicketShelved,
    UpdateData,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.intake.shelf import shelf_page
from services.intake.views import TicketState, apply, facts_of, view
from services.reports import Ledger, Period, assessment
from services.router.kernel.core import TransitionError, decide, step
from services.router.kernel.escalation import next_check
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY
from tests.unit.ticks import tick as clock_tick

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def worry(
    n: int, text: str = "城北新村南区5幢独居老人家里水管漏水,想找人帮忙修", **body: object
) -> RequestReceived:
    request = RequestIn(
        external_id=f"JY-{n}",
        description=text,
        reporter={"name": "赖秀英", "phone": "13905981234"},  # type: ignore[arg-type]
        **body,  # type: ignore[arg-type]
    )
    return received_event(request, "miniprogram", T0)


def shelved(policy: Policy, n: int = 0) -> tuple[Ticket, list[CloudEvent]]:
    first = worry(n)
    ticket, decided = step(None, first, policy)
    assert ticket is not None
    return ticket, [first, *decided]


def adopt(ticket: Ticket, minutes: int, who: Principal) -> TicketAdopted:
    return TicketAdopted(
        id=derive_id(f"{ticket.ticket_id}:adopt:{who.name}", "update"),
        source="/dispatch/intake/helper",
        time=T0 + timedelta(minutes=minutes),
        subject=ticket.ticket_id,
        causationid="urn:test",
        correlationid=ticket.correlationid,
        data=UpdateData(ticket_id=ticket.ticket_id, actor=who.name, principal=who),
    )


def tick(minutes: float) -> ClockTicked:
    return clock_tick(T0 + timedelta(minutes=minutes))


HELPER = Principal(kind="helper", name="城北党员志愿者老陈")


def test_a_mini_program_worry_goes_on_the_shelf_under_its_type_until_its_hours_pass(
    policy: Policy,
) -> None:
    ticket, events = shelved(policy)
    kinds = [type(e) for e in events[1:]]
    assert kinds == [type(events[1]), TicketShelved]  # classified, then shelved: no assignment
    on_shelf = events[-1]
    assert isinstance(on_shelf, TicketShelved)
    assert on_shelf.data.until == T0 + timedelta(hours=2)
    assert on_shelf.data.resolution in ("government", "market", "charity")
    assert ticket.status == "shelved" and ticket.assignee is None
    assert next_check(ticket, policy) == T0 + timedelta(hours=2)
    envelope = adopt(ticket, 5, HELPER).model_dump(exclude={"type", "data"})
    claim = TicketClaimed(**envelope, data=UpdateData(ticket_id=ticket.ticket_id, actor="x"))
    with pytest.raises(TransitionError, match="shelved"):
        decide(ticket, claim, policy)  # nothing to claim on the shelf: adopt it


def test_a_helper_adopts_it_and_it_is_theirs(policy: Policy) -> None:
    ticket, _ = shelved(policy, 1)
    after, [mine] = step(ticket, adopt(ticket, 30, HELPER), policy)
    assert isinstance(mine, TicketAssigned) and mine.data.reason == "adopted"
    assert (mine.data.assignee.id, mine.data.assignee.kind) == (
        "helper:城北党员志愿者老陈",
        "helper",
    )
    assert after is not None and after.status == "assigned"
    _, late = step(after, tick(180), policy)  # past the shelf hours: it is adopted, no fallback
    assert not [d for d in late if isinstance(d, TicketAssigned)]
    with pytest.raises(TransitionError, match="allowed when shelved"):
        decide(after, adopt(after, 40, Principal(kind="helper", name="另一位")), policy)


def test_a_department_handler_adopts_it_for_its_department(policy: Policy) -> None:
    ticket, _ = shelved(policy, 2)
    handler = Principal(kind="handler", name="水务局值班室", unit="DEP-SW")
    _, [mine] = step(ticket, adopt(ticket, 30, handler), policy)
    assert isinstance(mine, TicketAssigned) and mine.data.assignee.id == "DEP-SW"


def test_unadopted_it_falls_back_to_its_place_once(policy: Policy) -> None:
    ticket, _ = shelved(policy, 3)
    _, early = step(ticket, tick(119), policy)
    assert early == []
    after, [fallback] = step(ticket, tick(121), policy)
    assert isinstance(fallback, TicketAssigned) and fallback.data.reason == "unadopted"
    assert fallback.data.assignee.id == "MG-CB-01-01"  # 城北新村南区5幢's micro-grid
    assert fallback.data.claim_by > T0 + timedelta(minutes=121)  # its window starts now
    _, again = step(ticket, tick(150), policy)
    assert [d.id for d in again] == [fallback.id]  # whichever tick noticed it
    assert after is not None and after.status == "assigned"


def test_a_life_safety_worry_never_waits_on_the_shelf(policy: Policy) -> None:
    fire = worry(4, "城北新村南区5幢楼道起火冒烟,有老人被困")
    ticket, decided = step(None, fire, policy)
    assert not [d for d in decided if isinstance(d, TicketShelved)]
    assert ticket is not None and ticket.status == "assigned" and ticket.emergency


def test_the_shelf_shows_it_masked_and_only_while_it_waits(policy: Policy) -> None:
    ticket, events = shelved(policy, 5)
    state = TicketState(ticket_id=ticket.ticket_id)
    for event in events:
        state = apply(state, event)
    shown = view(state)
    assert shown is not None and shown.status == "shelved"
    facts = facts_of(state)
    assert facts is not None and facts.shelved
    page = shelf_page([shown], None, 10, 0)
    [item] = page.items
    assert item.until == T0 + timedelta(hours=2) and item.place
    assert "13905981234" not in item.description and "赖秀英" not in item.description
    other = "market" if item.type != "market" else "charity"
    assert shelf_page([shown], other, 10, 0).total == 0  # type: ignore[arg-type]
    _, out = step(ticket, adopt(ticket, 30, HELPER), policy)
    for event in (adopt(ticket, 30, HELPER), *out):
        state = apply(state, event)
    adopted = view(state)
    assert adopted is not None and adopted.status == "assigned"
    assert shelf_page([adopted], None, 10, 0).total == 0
    facts = facts_of(state)
    assert facts is not None and not facts.shelved and facts.assignee == "helper:城北党员志愿者老陈"


def test_a_department_adopting_a_worry_counts_it_in_its_assessment_row(policy: Policy) -> None:
    ticket, events = shelved(policy, 6)
    handler = Principal(kind="handler", name="水务局值班室", unit="DEP-SW")
    adopted = adopt(ticket, 30, handler)
    _, out = step(ticket, adopted, policy)
    facts = Ledger().extend([*events, adopted, *out]).facts()
    assert [f.adopted for f in facts] == [True]
    report = assessment(facts, Period.parse("2026-02-10", "2026-02-10"), "department", policy)
    [row] = report["rows"]
    assert (row["unit_id"], row["received"], row["adopted"]) == ("DEP-SW", 1, 1)
    assert any("认领" in n for n in report["notes"])
