"""The router's pure core: 大事全市解、中事部门解、小事就地解、杂事协商解, from events alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.envelope import derive_id, ticket_id_for
from schemas.events import (
    Location,
    RequestReceived,
    RequestReceivedData,
    TicketAssigned,
    TicketClassified,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.router.kernel.core import decide, step
from tests.conftest import SMALL_POLICY

WHEN = datetime(2026, 2, 10, 19, 20, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def request(
    description: str,
    *,
    external_id: str = "X-1",
    location: Location | None = None,
    households: int | None = None,
    category: str | None = None,
    when: datetime = WHEN,
) -> RequestReceived:
    ticket = ticket_id_for("hotline-12345", external_id)
    cause = f"urn:dispatch:hotline-12345:{external_id}"
    return RequestReceived(
        id=derive_id(cause, "received"),
        source="/dispatch/intake/hotline-12345",
        time=when,
        subject=ticket,
        causationid=cause,
        correlationid=derive_id(cause, "received"),
        data=RequestReceivedData(
            ticket_id=ticket,
            source="hotline-12345",
            external_id=external_id,
            description=description,
            location=location,
            households_affected=households,
            category=category,
            received_at=when,
        ),
    )


def decided(policy: Policy, event: RequestReceived) -> tuple[TicketClassified, TicketAssigned]:
    classified, assigned = decide(None, event, policy)
    assert isinstance(classified, TicketClassified)
    assert isinstance(assigned, TicketAssigned)
    return classified, assigned


def test_local_matter_goes_to_the_micro_grid_leader(policy: Policy) -> None:
    classified, assigned = decided(policy, request("城北新村南区7幢楼梯灯不亮"))
    assert classified.data.tier == "local"
    assert classified.data.category == "corridor_light"
    assert assigned.data.level == "microgrid"
    assert assigned.data.assignee.id == "MG-CB-01-01"
    assert assigned.data.assignee.kind == "microgrid_leader"
    assert "赖清香" in assigned.data.assignee.name


def test_department_matter_goes_to_the_department_with_the_community_copied(
    policy: Policy,
) -> None:
    event = request(
        "城北新村南区5幢没有路灯,晚上回家不安全",
        location=Location(address="沙县城北新村南区5幢", community="城北社区"),
    )
    classified, assigned = decided(policy, event)
    assert classified.data.tier == "department"
    assert assigned.data.assignee.id == "DEP-CG"
    assert assigned.data.assignee.kind == "department"
    assert [a.id for a in assigned.data.copied_to] == ["CM-CB"]


def test_city_matter_goes_to_the_district_command_center(policy: Policy) -> None:
    classified, assigned = decided(policy, request("建议改善社区医院条件", households=500))
    assert classified.data.tier == "city"
    assert assigned.data.level == "district"
    assert assigned.data.assignee.kind == "command_center"


def test_dispute_is_settled_by_the_communitys_consultation_meeting(policy: Policy) -> None:
    event = request("楼道装高空抛物摄像头,居民意见不一", location=Location(community="罗布社区"))
    classified, assigned = decided(policy, event)
    assert classified.data.tier == "consultation"
    assert classified.data.rule == "dispute-consultation"
    assert assigned.data.assignee.kind == "convener"
    assert assigned.data.assignee.id == "CM-LB:convener"
    assert assigned.data.level == "community"


def test_life_safety_bypasses_the_tiers_and_gets_minutes_not_hours(policy: Policy) -> None:
    classified, assigned = decided(policy, request("超市门口一位路人晕倒,不省人事"))
    assert classified.data.emergency is True
    assert classified.data.rule == "life-safety"
    assert "晕倒" in classified.data.evidence
    assert assigned.data.assignee.kind == "command_center"
    assert assigned.data.claim_by - WHEN == timedelta(minutes=10)


def test_negated_phrase_does_not_raise_an_emergency(policy: Policy) -> None:
    classified, _ = decided(policy, request("电动车冒烟,已灭火,没有起火,无人受伤"))
    assert classified.data.emergency is False


def test_many_households_raise_a_local_matter_to_a_department(policy: Policy) -> None:
    classified, _ = decided(policy, request("楼道灯坏了", households=40))
    assert classified.data.tier == "department"
    assert classified.data.rule == "some-households"


def test_a_given_category_wins_over_the_lexicon(policy: Policy) -> None:
    classified, _ = decided(policy, request("这里有问题", category="sewage"))
    assert classified.data.category == "sewage"
    assert classified.data.department == "DEP-SW"


def test_unknown_location_is_triaged_by_the_district_never_dropped(policy: Policy) -> None:
    event = request("楼道灯坏了", location=Location(address="火星基地1号", community="不存在社区"))
    classified, assigned = decided(policy, event)
    assert classified.data.unit.level == "district"
    assert assigned.data.assignee.kind == "command_center"


def test_micro_grid_id_locates_directly(policy: Policy) -> None:
    _, assigned = decided(policy, request("楼道灯坏了", location=Location(microgrid="MG-FQ-01-05")))
    assert assigned.data.assignee.id == "MG-FQ-01-05"


def test_deadlines_count_working_time_from_the_event_time_not_the_clock(policy: Policy) -> None:
    later = WHEN + timedelta(days=30)  # Thursday 2026-03-12 19:20, after hours
    _, assigned = decided(policy, request("城北新村南区7幢楼梯灯不亮", when=later))
    # counted from Friday 08:30: two working hours, three working days
    assert assigned.data.claim_by == datetime(2026, 3, 13, 10, 30, tzinfo=CHINA)
    assert assigned.data.resolve_by == datetime(2026, 3, 18, 8, 30, tzinfo=CHINA)
    assert assigned.time == later


def test_sla_scale_shrinks_every_deadline_and_is_part_of_the_policy_version() -> None:
    scaled = load_policy(SMALL_POLICY, sla_scale=0.001)
    _, assigned = decided(scaled, request("城北新村南区7幢楼梯灯不亮"))
    assert assigned.data.claim_by - WHEN == timedelta(seconds=7.2)
    assert scaled.version.endswith("~x0.001")
    assert assigned.policyversion == scaled.version


def test_decisions_carry_their_cause_correlation_and_policy(policy: Policy) -> None:
    event = request("城北新村南区7幢楼梯灯不亮")
    classified, assigned = decided(policy, event)
    assert classified.id == derive_id(event.id, "classified")
    assert assigned.id == derive_id(event.id, "assigned:1")
    for decision in (classified, assigned):
        assert decision.causationid == event.id
        assert decision.correlationid == event.correlationid
        assert decision.policyversion == policy.version
        assert decision.subject == event.subject
        assert decision.time == event.time


def test_the_same_request_decided_twice_gives_the_same_events_ids_included(
    policy: Policy,
) -> None:
    event = request("城北新村南区5幢没有路灯")
    assert decide(None, event, policy) == decide(None, event, policy)


def test_a_redelivered_request_changes_nothing_and_emits_nothing(policy: Policy) -> None:
    event = request("城北新村南区5幢没有路灯")
    ticket, first = step(None, event, policy)
    assert len(first) == 2
    again, second = step(ticket, event, policy)
    assert second == []
    assert again == ticket


def test_state_after_a_request_records_the_assignment(policy: Policy) -> None:
    ticket, _ = step(None, request("城北新村南区7幢楼梯灯不亮"), policy)
    assert ticket is not None
    assert ticket.status == "assigned"
    assert ticket.assignee is not None and ticket.assignee.id == "MG-CB-01-01"
    assert ticket.attempt == 1
    assert ticket.policyversion == policy.version


def test_an_address_fragment_does_not_match_inside_a_longer_number(policy: Policy) -> None:
    _, assigned = decided(policy, request("东门新村39幢20号楼道灯坏了"))
    assert assigned.data.assignee.id != "MG-FQ-01-05"
    _, here = decided(policy, request("9幢20号楼道灯坏了"))
    assert here.data.assignee.id == "MG-FQ-01-05"


def test_a_policy_copied_with_a_department_renamed_assigns_under_the_new_name() -> None:
    """Assignees are built once per policy content; a copy that keeps the content hash but
    renames a department (as tests and tools make them) still hands out the name it holds."""
    original = load_policy(SMALL_POLICY)
    renamed = load_policy(SMALL_POLICY)
    departments = [
        d.model_copy(update={"name": "城市管理综合执法局(新)"}) if d.id == "DEP-CG" else d
        for d in renamed.departments
    ]
    renamed = renamed.model_copy(update={"departments": departments})
    assert renamed.content_hash == original.content_hash
    event = request(
        "城北新村南区5幢没有路灯,晚上回家不安全",
        location=Location(address="沙县城北新村南区5幢", community="城北社区"),
    )
    _, before = decided(original, event)
    _, after = decided(renamed, event)
    assert before.data.assignee.id == after.data.assignee.id == "DEP-CG"
    assert after.data.assignee.name == "城市管理综合执法局(新)"
    assert before.data.assignee.name != after.data.assignee.name
    _, again = decided(original, event)
    assert again.data.assignee.name == before.data.assignee.name
