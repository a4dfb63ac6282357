"""Updates: their cross-field rules, and the event each becomes (ids from the cause)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from schemas.events import Principal, TicketFeedback, TicketWhistled
from schemas.policy import load_policy
from services.intake.updates import (
    UpdateIn,
    rule_errors,
    update_cause,
    update_event,
)
from tests.conftest import SMALL_POLICY

POLICY = load_policy(SMALL_POLICY)
NOW = datetime(2026, 2, 11, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def pointers(update: dict[str, object]) -> list[str]:
    return [e["pointer"] for e in rule_errors(UpdateIn.model_validate(update), POLICY)]


def test_feedback_needs_satisfaction_and_only_feedback_may_carry_it() -> None:
    assert pointers({"action": "feedback", "actor": "回访员"}) == ["#/satisfaction"]
    assert pointers({"action": "claim", "actor": "a", "satisfaction": 4}) == ["#/satisfaction"]
    assert pointers({"action": "feedback", "actor": "回访员", "satisfaction": 4}) == []


def test_whistle_needs_a_known_department_and_only_whistle_may_carry_one() -> None:
    assert pointers({"action": "whistle", "actor": "社区书记"}) == ["#/department"]
    assert pointers({"action": "whistle", "actor": "书记", "department": "DEP-XX"}) == [
        "#/department"
    ]
    assert pointers({"action": "resolve", "actor": "a", "department": "DEP-SW"}) == ["#/department"]
    assert pointers({"action": "whistle", "actor": "书记", "department": "区水务局"}) == []


def test_whistle_calls_in_exactly_one_department_or_known_committee_member() -> None:
    assert pointers({"action": "whistle", "actor": "书记", "member": "JZ-CB-01"}) == []
    assert pointers({"action": "whistle", "actor": "书记", "member": "JZ-XX-09"}) == ["#/member"]
    both = {"action": "whistle", "actor": "书记", "member": "JZ-CB-01", "department": "DEP-SW"}
    assert pointers(both) == ["#/department"]
    assert pointers({"action": "claim", "actor": "a", "member": "JZ-CB-01"}) == ["#/member"]
    called = event_for({"action": "whistle", "actor": "书记", "member": "JZ-CB-01"})
    assert isinstance(called, TicketWhistled)
    assert (called.data.member, called.data.department) == ("JZ-CB-01", None)
    answered = event_for({"action": "report_in", "actor": "物业经理", "note": "已到场"})
    assert answered.type == "dispatch.ticket.reported_in"


def test_unknown_action_and_out_of_range_satisfaction_are_invalid() -> None:
    with pytest.raises(ValidationError):
        UpdateIn.model_validate({"action": "close", "actor": "a"})
    with pytest.raises(ValidationError):
        UpdateIn.model_validate({"action": "feedback", "actor": "a", "satisfaction": 6})


def event_for(update: dict[str, object], key: str = "k-1"):  # type: ignore[no-untyped-def]
    body = UpdateIn.model_validate(update)
    cause = update_cause("T1", "source:grid-patrol", key)
    caller = Principal(kind="source", name="grid-patrol")
    return update_event("T1", body, caller, cause, "corr-1", POLICY, NOW)


def test_the_same_key_for_the_same_ticket_is_the_same_event_id() -> None:
    first = event_for({"action": "claim", "actor": "赖清香"})
    assert first.id == event_for({"action": "claim", "actor": "赖清香"}).id
    assert first.id != event_for({"action": "claim", "actor": "赖清香"}, key="k-2").id
    assert first.type == "dispatch.ticket.claimed"
    assert first.correlationid == "corr-1" and first.subject == "T1"


def test_whistle_names_the_department_by_its_id_and_feedback_keeps_satisfaction() -> None:
    whistled = event_for({"action": "whistle", "actor": "书记", "department": "区水务局"})
    assert isinstance(whistled, TicketWhistled) and whistled.data.department == "DEP-SW"
    rated = event_for({"action": "feedback", "actor": "回访员", "satisfaction": 3})
    assert isinstance(rated, TicketFeedback) and rated.data.satisfaction == 3


def test_feedback_carries_solved_and_contacted_and_only_feedback_may() -> None:
    event = event_for(
        {"action": "feedback", "actor": "回访员", "satisfaction": 4, "solved": True,
         "contacted": False}
    )  # fmt: skip
    assert isinstance(event, TicketFeedback)
    assert (event.data.solved, event.data.contacted) == (True, False)
    silent = event_for({"action": "feedback", "actor": "回访员", "satisfaction": 4})
    assert isinstance(silent, TicketFeedback) and silent.data.solved is None
    assert pointers({"action": "claim", "actor": "a", "solved": True}) == ["#/solved"]
    assert pointers({"action": "resolve", "actor": "a", "contacted": True}) == ["#/contacted"]


def test_a_meeting_is_scheduled_ahead_and_held_with_an_outcome_and_minutes() -> None:
    later = (NOW + timedelta(days=1)).isoformat()
    meeting = {"action": "schedule", "actor": "召集人", "at": later, "place": "社区议事厅"}
    assert pointers(meeting) == []
    assert pointers({"action": "schedule", "actor": "召集人", "place": "议事厅"}) == ["#/at"]
    past = UpdateIn.model_validate({**meeting, "at": (NOW - timedelta(hours=1)).isoformat()})
    assert [e["pointer"] for e in rule_errors(past, POLICY, NOW)] == ["#/at"]
    assert pointers({"action": "hold", "actor": "召集人", "outcome": "agreed"}) == ["#/minutes"]
    held = {"action": "hold", "actor": "召集人", "outcome": "not_agreed", "minutes": "未谈拢"}
    assert pointers({**held, "handoff": "DEP-XX"}) == ["#/handoff"]
    assert pointers({"action": "claim", "actor": "a", "place": "议事厅"}) == ["#/place"]
    event = event_for({**held, "handoff": "区水务局"})
    assert event.type == "dispatch.ticket.meeting_held"
    assert event.data.handoff == "DEP-SW"  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        UpdateIn.model_validate({**held, "outcome": "postponed"})


def test_every_action_of_the_contract_becomes_an_event() -> None:
    from services.common.permissions import ACTIONS
    from services.intake.updates import KINDS

    assert set(KINDS) == set(ACTIONS)
