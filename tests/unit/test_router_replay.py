"""Property: the router is a pure function of its input log. Replaying the same log gives the
same states and the same decisions, ids included; redelivered inputs change nothing."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import CloudEvent, Decision, derive_id
from schemas.events import (
    FeedbackData,
    TicketClaimed,
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
from services.intake.models import RequestIn, received_event
from services.router.kernel.handle import handle
from services.router.kernel.places import apply_changes
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
POLICY: Policy = load_policy(SMALL_POLICY)
TEXTS = [
    "城北新村南区7幢楼梯灯不亮",
    "城北新村南区5幢没有路灯",
    "洋坊新村下水道堵塞",
    "罗布社区邻居噪音扰民,邻里矛盾",
    "超市门口有人晕倒",
    "建议改善社区医院",
    "府前9幢停电了",
    "家里老人不会网上认证养老金",
]
ACTIONS = ["claim", "reject", "resolve", "feedback", "reopen", "whistle"]


def make_update(ticket_id: str, action: str, minute: int, n: int, satisfaction: int) -> CloudEvent:
    common: dict[str, Any] = {
        "id": derive_id(f"{ticket_id}:{n}", action),
        "source": "/dispatch/intake/x",
        "time": T0 + timedelta(minutes=minute),
        "subject": ticket_id,
        "causationid": "urn:t",
        "correlationid": "urn:t",
    }
    if action == "feedback":
        data = FeedbackData(ticket_id=ticket_id, actor="a", satisfaction=satisfaction)
        return TicketFeedback(**common, data=data)
    if action == "whistle":
        return TicketWhistled(
            **common, data=WhistleData(ticket_id=ticket_id, actor="a", department="DEP-CG")
        )
    kind = {
        "claim": TicketClaimed,
        "reject": TicketRejected,
        "resolve": TicketResolved,
        "reopen": TicketReopened,
    }[action]
    return kind(**common, data=data_type(kind)(ticket_id=ticket_id, actor="a"))  # type: ignore[arg-type]


@st.composite
def logs(draw: st.DrawFn) -> list[CloudEvent]:
    requests = draw(
        st.lists(st.tuples(st.sampled_from(TEXTS), st.integers(0, 600)), min_size=1, max_size=6)
    )
    log: list[CloudEvent] = []
    for n, (text, minute) in enumerate(requests):
        body = RequestIn(external_id=f"P-{n}", description=text)
        log.append(received_event(body, "grid-patrol", T0 + timedelta(minutes=minute)))
    ids = [e.subject for e in log]
    updates = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ids),
                st.sampled_from(ACTIONS),
                st.integers(601, 5000),
                st.integers(1, 5),
            ),
            max_size=25,
        )
    )
    for n, (ticket_id, action, minute, satisfaction) in enumerate(updates):
        log.append(make_update(ticket_id, action, minute, n, satisfaction))
    return log


def replay(log: list[CloudEvent]) -> tuple[dict[str, Ticket], list[Decision], list[str]]:
    """The shell's loop without Kafka: links go round to the ticket they name."""
    tickets: dict[str, Ticket] = {}
    places: dict[str, str] = {}
    emitted: list[Decision] = []
    refused: list[str] = []
    queue: deque[CloudEvent] = deque(log)
    while queue:
        event = queue.popleft()
        outcome = handle(tickets.get(event.subject), event, POLICY, places)
        if outcome.ticket is not None:
            tickets[outcome.ticket.ticket_id] = outcome.ticket
        if outcome.refusal is not None or outcome.parked:
            refused.append(event.id)
            continue
        apply_changes(places, outcome.places)
        out = outcome.decisions
        emitted.extend(out)
        queue.extend(d for d in out if isinstance(d, TicketLinked))
    return tickets, emitted, refused


@settings(max_examples=150, deadline=None)
@given(logs())
def test_replaying_the_same_log_gives_the_same_states_and_decisions(log: list[CloudEvent]) -> None:
    assert replay(log) == replay(list(log))


@settings(max_examples=150, deadline=None)
@given(logs(), st.data())
def test_redelivered_inputs_change_nothing(log: list[CloudEvent], data: st.DataObject) -> None:
    again = data.draw(st.lists(st.sampled_from(log), max_size=10))
    with_copies = list(log)
    for event in again:  # a redelivery comes after the original
        at = data.draw(st.integers(with_copies.index(event) + 1, len(with_copies)))
        with_copies.insert(at, event)
    tickets, emitted, refused = replay(log)
    tickets_again, emitted_again, refused_again = replay(with_copies)
    assert tickets_again == tickets
    assert emitted_again == emitted
    assert set(refused_again) == set(refused)


@settings(max_examples=100, deadline=None)
@given(logs())
def test_every_decision_id_is_unique_and_derived_from_its_cause(log: list[CloudEvent]) -> None:
    _, emitted, _ = replay(log)
    ids = [d.id for d in emitted]
    assert len(ids) == len(set(ids))
    causes = {e.id for e in log} | {d.id for d in emitted}
    assert all(d.causationid in causes for d in emitted)
