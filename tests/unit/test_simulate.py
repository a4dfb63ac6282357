"""`dispatch simulate`: a district's weeks with realistic shapes, decided by the router's kernel."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from dispatch.simulate import Simulation
from schemas.codec import encode
from schemas.envelope import CloudEvent, Decision
from schemas.events import RequestReceived, TicketFeedback
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.reports import Ledger

DAYS = 28  # enough reviews (70% approved) that the sample shows the rate


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(None)


@pytest.fixture(scope="module")
def weeks(policy: Policy) -> list[CloudEvent]:
    return list(Simulation(policy, seed=7).run(date(2026, 3, 2), DAYS, 10_000))


def test_the_same_seed_gives_the_same_history(policy: Policy, weeks: list[CloudEvent]) -> None:
    again = Simulation(policy, seed=7).run(date(2026, 3, 2), DAYS, 10_000)
    assert [encode(e) for e in again] == [encode(e) for e in weeks]


def test_requests_arrive_by_day_time_at_the_yearly_rate(weeks: list[CloudEvent]) -> None:
    requests = [e for e in weeks if isinstance(e, RequestReceived)]
    assert 0.7 * 10_000 / 365 * DAYS < len(requests) < 1.3 * 10_000 / 365 * DAYS
    hours = Counter(e.data.received_at.astimezone(CHINA).hour for e in requests)
    assert hours[10] > 4 * hours[3]
    inputs = [e.time for e in weeks if not isinstance(e, Decision)]
    assert inputs == sorted(inputs)  # residents' and handlers' words in time order


def test_most_claim_in_time_some_late_and_residents_answer(weeks: list[CloudEvent]) -> None:
    facts = [t for t in Ledger().extend(weeks).facts() if t.assignee is not None]
    responded = sum(t.responded for t in facts) / len(facts)
    assert 0.8 < responded < 0.98
    feedback = [e for e in weeks if isinstance(e, TicketFeedback)]
    assert len(feedback) > 0.6 * len(facts)
    solved = Counter(e.data.solved for e in feedback)
    assert solved[True] > 10 * solved[False] > 0
    assert {e.data.satisfaction for e in feedback} >= {3, 4, 5}


def test_some_tickets_are_sent_back_extended_or_invalid_and_the_centre_reviews(
    weeks: list[CloudEvent],
) -> None:
    kinds = Counter(e.type for e in weeks)
    asked = kinds["dispatch.ticket.rejected"] + kinds["dispatch.ticket.extension_requested"]
    assert asked > 0 and kinds["dispatch.ticket.review_requested"] == asked
    judged = kinds["dispatch.ticket.approved"] + kinds["dispatch.ticket.refused"]
    assert 0 < judged <= asked and kinds["dispatch.ticket.reviewed"] == judged
    assert kinds["dispatch.ticket.approved"] > kinds["dispatch.ticket.refused"]
    assert kinds["dispatch.ticket.deadline_changed"] > 0
    invalid = [
        e for e in weeks if e.type == "dispatch.ticket.closed" and e.data.outcome == "invalid"
    ]  # type: ignore[attr-defined]
    assert len(invalid) == kinds["dispatch.ticket.invalidated"] > 0


def test_the_mini_programs_worries_go_on_the_shelf_and_are_adopted(
    weeks: list[CloudEvent],
) -> None:
    kinds = Counter(e.type for e in weeks)
    assert kinds["dispatch.ticket.shelved"] > 0
    adopted = [
        e for e in weeks if e.type == "dispatch.ticket.assigned" and e.data.reason == "adopted"
    ]  # type: ignore[attr-defined]
    assert len(adopted) == kinds["dispatch.ticket.adopted"] > 0.9 * kinds["dispatch.ticket.shelved"]
    assert {a.data.assignee.kind for a in adopted} == {"helper"}  # type: ignore[attr-defined]
