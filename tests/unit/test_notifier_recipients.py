"""Who hears about a decision, through which channel, and in which words (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from schemas.envelope import derive_id
from schemas.events import (
    AssignedData,
    Assignee,
    EscalatedData,
    EscalationReason,
    TicketAssigned,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketReminded,
    TicketReviewed,
    TicketReviewRequested,
    TicketSummoned,
    TicketSupplementNoticed,
    data_type,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.common.privacy import mask_text
from services.notifier.recipients import CENTER, notification_id, plan
from services.notifier.text import render
from tests.conftest import SMALL_POLICY

CLAIM_BY = datetime(2026, 2, 10, 18, 0, tzinfo=CHINA)
RESOLVE_BY = datetime(2026, 2, 11, 18, 0, tzinfo=CHINA)
HOOK = "http://127.0.0.1:1/center"

MICROGRID = Assignee(id="MG-CB-01-01", kind="microgrid_leader", name="城北社区第1微网格·赖清香")
WECOM_GRID = Assignee(id="MG-FQ-01-05", kind="microgrid_leader", name="府前社区第5微网格·谭秀清")
CITY_MGMT = Assignee(id="DEP-CG", kind="department", name="区城市管理局")
COMMUNITY = Assignee(id="CM-CB", kind="community", name="城北社区·城北社区书记")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def envelope(purpose: str) -> dict[str, Any]:
    extra = {"ticketversion": 1} if "ticketversion" in TicketAssigned.model_fields else {}
    return {
        "id": derive_id("request-1", purpose),
        "source": "/dispatch/router",
        "time": datetime(2026, 2, 10, 9, 0, tzinfo=CHINA),
        "subject": "T0000000000001",
        "causationid": "request-1",
        "correlationid": "request-1",
        "policyversion": "small-district@test",
        **extra,
    }


def assigned(
    assignee: Assignee,
    copied: list[Assignee] | None = None,
    tier: Any = "department",
    rule: str = "assign:department",
) -> TicketAssigned:
    return TicketAssigned(
        **envelope("assigned:1"),
        data=AssignedData(
            ticket_id="T0000000000001",
            summary="城北新村南区5幢缺路灯",
            tier=tier,
            level="district",
            assignee=assignee,
            claim_by=CLAIM_BY,
            resolve_by=RESOLVE_BY,
            attempt=1,
            copied_to=copied or [],
            rule=rule,
        ),
    )


def escalated(assignee: Assignee, reason: EscalationReason) -> TicketEscalated:
    return TicketEscalated(
        **envelope(f"escalated:{reason}"),
        data=EscalatedData(
            ticket_id="T0000000000001",
            summary="城北新村南区5幢缺路灯",
            from_level="microgrid",
            to_level="community",
            reason=reason,
            assignee=assignee,
            claim_by=CLAIM_BY,
            resolve_by=RESOLVE_BY,
            attempt=2,
        ),
    )


def test_assignee_is_reached_through_the_channel_the_grid_directory_names(
    policy: Policy,
) -> None:
    route = plan(assigned(MICROGRID, tier="local"), policy, None)
    [target] = route.targets
    assert (target.channel, target.address, target.recipient) == (
        "sms",
        "13905981234",
        MICROGRID.id,
    )
    assert target.role == "assignee"
    assert route.who == "城北社区第1微网格"


def test_wecom_group_channel_is_used_for_a_microgrid_that_names_one(policy: Policy) -> None:
    [target] = plan(assigned(WECOM_GRID, tier="local"), policy, None).targets
    assert (target.channel, target.address) == ("wecom", "fuqian-mg05")


def test_handler_without_channel_is_unreachable_not_attempted(policy: Policy) -> None:
    route = plan(assigned(CITY_MGMT, copied=[COMMUNITY]), policy, None)
    assert route.targets == ()
    assert [(u.assignee.id, u.role) for u in route.unreachable] == [
        ("DEP-CG", "assignee"),
        ("CM-CB", "copy"),
    ]
    assert route.who == "城管"


def test_command_center_webhook_receives_every_decision_even_without_assignee_channel(
    policy: Policy,
) -> None:
    route = plan(assigned(CITY_MGMT), policy, HOOK)
    [center] = route.targets
    assert (center.channel, center.address, center.recipient, center.role) == (
        "webhook",
        HOOK,
        CENTER,
        "center",
    )


def test_copied_units_with_a_channel_get_their_own_notification(policy: Policy) -> None:
    route = plan(assigned(CITY_MGMT, copied=[MICROGRID, WECOM_GRID]), policy, HOOK)
    by_recipient = {t.recipient: t for t in route.targets}
    assert set(by_recipient) == {MICROGRID.id, WECOM_GRID.id, CENTER}
    assert by_recipient[MICROGRID.id].role == "copy"


def test_a_recipient_named_twice_is_notified_once(policy: Policy) -> None:
    route = plan(assigned(MICROGRID, copied=[MICROGRID], tier="local"), policy, None)
    assert len(route.targets) == 1


def test_convener_and_unknown_ids_resolve_through_the_directory(policy: Policy) -> None:
    convener = Assignee(id="CM-CB:convener", kind="convener", name="城北社区近邻恳谈会·召集人")
    unknown = Assignee(id="MG-NOWHERE", kind="microgrid_leader", name="不存在的微网格")
    route = plan(assigned(convener, copied=[unknown], tier="consultation"), policy, None)
    assert route.who == "城北社区近邻恳谈会"
    assert [u.why for u in route.unreachable] == [
        "no channel in the grid directory",
        "not in the grid directory of the policy in force",
    ]


def test_notification_ids_are_stable_and_distinct_per_channel_and_recipient(
    policy: Policy,
) -> None:
    decision = assigned(CITY_MGMT, copied=[MICROGRID], tier="department")
    first = plan(decision, policy, HOOK)
    again = plan(decision, policy, HOOK)
    assert [t.notification_id for t in first.targets] == [t.notification_id for t in again.targets]
    ids = {t.notification_id for t in first.targets}
    assert len(ids) == 2
    assert notification_id(decision.id, "sms", MICROGRID.id) in ids
    assert notification_id(decision.id, "webhook", MICROGRID.id) not in ids


def test_assignment_text_names_summary_tier_department_and_deadline(policy: Policy) -> None:
    decision = assigned(CITY_MGMT)
    text = render(decision, plan(decision, policy, None).who)
    assert text == (
        "【派单】城北新村南区5幢缺路灯(中事·城管),请于2月10日18:00前签收,"
        "2月11日18:00前办结。工单T0000000000001"
    )


def test_emergency_assignment_is_marked_urgent() -> None:
    text = render(assigned(CITY_MGMT, rule="assign:emergency"), "区智慧治理服务中心")
    assert text.startswith("【紧急派单】")


def test_copy_text_tells_who_has_the_ticket() -> None:
    text = render(assigned(CITY_MGMT, copied=[COMMUNITY]), "城管", copy=True)
    assert text.startswith("【抄送】城北新村南区5幢缺路灯(中事·已派城管)")
    assert "请知悉并协同" in text


def test_whistle_asks_the_department_to_report() -> None:
    text = render(escalated(CITY_MGMT, "whistle"), "城管")
    assert text.startswith("【吹哨报到】城北新村南区5幢缺路灯(吹哨·城管),请于2月10日18:00前报到")


def test_a_summoned_member_hears_through_its_own_channel_when_to_report(
    policy: Policy,
) -> None:
    def summons(member: str, emergency: bool = False) -> TicketSummoned:
        return work_order(
            TicketSummoned,
            f"summoned:{member}",
            member=Assignee(id=member, kind="member", name="物业项目经理"),
            community="CM-CB",
            report_by=CLAIM_BY,
            whistle="w-1",
            emergency=emergency,
        )

    sent = plan(summons("JZ-CB-01"), policy, None)
    [target] = sent.targets
    assert (target.recipient, target.channel, target.address) == (
        "JZ-CB-01",
        "wecom",
        "cb-property",
    )
    assert sent.who == "城北新村物业项目经理"
    text = render(summons("JZ-CB-01"), sent.who)
    assert text.startswith("【吹哨报到】城北新村南区5幢缺路灯(社区吹哨·城北新村物业项目经理)")
    assert "请于2月10日18:00前到场报到" in text
    assert render(summons("JZ-CB-01", emergency=True), sent.who).startswith("【紧急·吹哨报到】")
    silent = plan(summons("JZ-CB-02"), policy, None)  # listed without a channel
    assert silent.targets == () and [u.assignee.id for u in silent.unreachable] == ["JZ-CB-02"]


def test_escalation_names_the_reason_and_the_climb() -> None:
    text = render(escalated(COMMUNITY, "claim_overdue"), "城北社区")
    assert text.startswith("【督办】城北新村南区5幢缺路灯(超时未签收,微网格→社区·城北社区)")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13905981234", "139****1234"),
        ("联系人赖清香13905981234,到场", "联系人赖清香139****1234,到场"),
        ("+86 13905981234", "139****1234"),
        ("座机0598-5821234", "座机0598-***1234"),
        ("工单T13905981234X", "工单T13905981234X"),  # inside an identifier: not a phone
        ("5幢20号", "5幢20号"),
    ],
)
def test_phone_numbers_are_masked_for_logs(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


def work_order(event_type: type[Any], purpose: str, **data: Any) -> Any:
    base = {"ticket_id": "T0000000000001", "summary": "城北新村南区5幢缺路灯"}
    return event_type(**envelope(purpose), data=data_type(event_type)(**base, **data))


def test_a_review_goes_to_the_command_center_and_the_verdict_to_who_asked(
    policy: Policy,
) -> None:
    asked = work_order(
        TicketReviewRequested,
        "review_requested",
        request="e-1",
        kind="reject",
        reason_code="not_our_duty",
        requested_by=MICROGRID,
    )
    route = plan(asked, policy, HOOK)
    by_recipient = {t.recipient: t for t in route.targets}
    root = policy.district.id
    assert set(by_recipient) == {root, CENTER}
    assert (by_recipient[root].channel, by_recipient[root].role) == ("webhook", "assignee")
    text = render(asked, route.who, reasons=policy.lifecycle.reject_reasons)
    assert text.startswith("【待审核·退单】城北新村南区5幢缺路灯")
    assert "职责不符" in text and "T0000000000001" in text
    refused = work_order(
        TicketReviewed, "reviewed", request="e-1", kind="reject", verdict="refused",
        assignee=MICROGRID,
    )  # fmt: skip
    [told] = plan(refused, policy, None).targets
    assert (told.recipient, told.address) == (MICROGRID.id, "13905981234")
    assert render(refused, "") == (
        "【审核】城北新村南区5幢缺路灯:退单申请被驳回,请继续办理,时限不变。工单T0000000000001"
    )


def test_reminders_deadline_changes_and_supplements_reach_the_assignee(policy: Policy) -> None:
    reminded = work_order(
        TicketReminded, "reminded", assignee=MICROGRID, reason="claim_due", due=CLAIM_BY
    )
    moved = work_order(
        TicketDeadlineChanged, "deadline_changed", assignee=MICROGRID,
        previous_resolve_by=CLAIM_BY, resolve_by=RESOLVE_BY, request="e-2",
    )  # fmt: skip
    noticed = work_order(
        TicketSupplementNoticed, "supplement_noticed", assignee=MICROGRID, supplement="e-3"
    )
    for decision in (reminded, moved, noticed):
        [target] = plan(decision, policy, None).targets
        assert (target.recipient, target.channel) == (MICROGRID.id, "sms")
    assert render(reminded, "") == (
        "【催办】城北新村南区5幢缺路灯,签收时限将到,请于2月10日18:00前签收。工单T0000000000001"
    )
    assert render(moved, "") == (
        "【延期】城北新村南区5幢缺路灯:办结时限由2月10日18:00延至2月11日18:00。工单T0000000000001"
    )
    assert render(noticed, "").startswith("【补充】城北新村南区5幢缺路灯:诉求人补充了新情况")


def test_a_reassignment_says_so(policy: Policy) -> None:
    again = assigned(MICROGRID, tier="local")
    data = again.data.model_copy(update={"reason": "reassigned"})
    again = again.model_copy(update={"data": data})
    assert render(again, "城北社区第1微网格").startswith("【改派】城北新村南区5幢缺路灯(小事·")
