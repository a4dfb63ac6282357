"""Notification text in the users' language, from templates, e.g.

    【派单】城北新村南区5幢缺路灯(中事·城管),请于2月10日18:00前签收,2月11日18:00前办结。工单T…

(phone and ID numbers are masked by services.common.privacy where the notifier logs).
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import (
    TicketAssigned,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketReminded,
    TicketReviewed,
    TicketReviewRequested,
    TicketSummoned,
    TicketSupplementNoticed,
)
from schemas.words import CHINA, LEVEL_NAMES, REASON_NAMES, TIER_NAMES

EMERGENCY_RULE = "assign:emergency"


def _when(moment: datetime) -> str:
    local = moment.astimezone(CHINA)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def _deadlines(decision: TicketAssigned | TicketEscalated, claim: str = "签收") -> str:
    d = decision.data
    return f"请于{_when(d.claim_by)}前{claim},{_when(d.resolve_by)}前办结。工单{d.ticket_id}"


def assigned_text(decision: TicketAssigned, who: str) -> str:
    d = decision.data
    head = "【紧急派单】" if d.rule == EMERGENCY_RULE else "【派单】"
    return f"{head}{d.summary}({TIER_NAMES[d.tier]}·{who}),{_deadlines(decision)}"


def copied_text(decision: TicketAssigned, who: str) -> str:
    d = decision.data
    return (
        f"【抄送】{d.summary}({TIER_NAMES[d.tier]}·已派{who}),"
        f"办结时限{_when(d.resolve_by)},请知悉并协同。工单{d.ticket_id}"
    )


def escalated_text(decision: TicketEscalated, who: str) -> str:
    d = decision.data
    if d.reason == "whistle":
        return f"【吹哨报到】{d.summary}(吹哨·{who}),{_deadlines(decision, '报到')}"
    reason = REASON_NAMES.get(d.reason, d.reason)
    climb = f"{LEVEL_NAMES[d.from_level]}→{LEVEL_NAMES[d.to_level]}"
    return f"【督办】{d.summary}({reason},{climb}·{who}),{_deadlines(decision)}"


AGAIN = {"reassigned": "【改派】", "reclassified": "【重新分类派单】", "split": "【拆分派单】",
         "reopen": "【重新办理】", "adopted": "【认领】", "handoff": "【恳谈会移交】"}  # fmt: skip
REVIEW_KINDS = {"reject": "退单", "extend": "延期"}


def reminded_text(decision: TicketReminded) -> str:
    d = decision.data
    due = f"{_when(d.due)}前" if d.due is not None else "尽快"
    if d.reason == "claim_due":
        return f"【催办】{d.summary},签收时限将到,请于{due}签收。工单{d.ticket_id}"
    if d.reason == "resolve_due":
        return f"【催办】{d.summary},办结时限将到,请于{due}办结。工单{d.ticket_id}"
    return f"【催办】{d.summary},指挥中心催办,请{due}处理。工单{d.ticket_id}"


def review_requested_text(decision: TicketReviewRequested, reasons: dict[str, str]) -> str:
    d = decision.data
    asked = d.requested_by.name if d.requested_by is not None else "承办单位"
    if d.kind == "extend":
        wanted = f"申请延期至{_when(d.resolve_by)}" if d.resolve_by is not None else "申请延期"
        return f"【待审核·延期】{d.summary}({asked}{wanted}),请审核。工单{d.ticket_id}"
    why = reasons.get(d.reason_code or "", d.reason_code or "未说明原因")
    return f"【待审核·退单】{d.summary}({asked}退单:{why}),请审核。工单{d.ticket_id}"


def reviewed_text(decision: TicketReviewed) -> str:
    d = decision.data
    kind = REVIEW_KINDS[d.kind]
    if d.verdict == "approved":
        return f"【审核】{d.summary}:{kind}申请已批准。工单{d.ticket_id}"
    tail = "请继续办理,时限不变" if d.kind == "reject" else "请按原时限办结"
    return f"【审核】{d.summary}:{kind}申请被驳回,{tail}。工单{d.ticket_id}"


def deadline_changed_text(decision: TicketDeadlineChanged) -> str:
    d = decision.data
    return (
        f"【延期】{d.summary}:办结时限由{_when(d.previous_resolve_by)}延至"
        f"{_when(d.resolve_by)}。工单{d.ticket_id}"
    )


def supplement_text(decision: TicketSupplementNoticed) -> str:
    d = decision.data
    return f"【补充】{d.summary}:诉求人补充了新情况,请在工单中查看。工单{d.ticket_id}"


def summoned_text(decision: TicketSummoned, who: str) -> str:
    d = decision.data
    head = "【紧急·吹哨报到】" if d.emergency else "【吹哨报到】"
    return (
        f"{head}{d.summary}(社区吹哨·{who}),请于{_when(d.report_by)}前到场报到,"
        f"逾期未报到将上报督办。工单{d.ticket_id}"
    )


def render(
    decision: TicketAssigned
    | TicketEscalated
    | TicketReminded
    | TicketReviewRequested
    | TicketReviewed
    | TicketDeadlineChanged
    | TicketSupplementNoticed
    | TicketSummoned,
    who: str,
    copy: bool = False,
    reasons: dict[str, str] | None = None,
) -> str:
    """The text for the assignee ``who`` (short label), or for a copied unit when ``copy``;
    ``reasons``: the policy's reject reasons, by code."""
    if isinstance(decision, TicketEscalated):
        return escalated_text(decision, who)
    if isinstance(decision, TicketReminded):
        return reminded_text(decision)
    if isinstance(decision, TicketReviewRequested):
        return review_requested_text(decision, reasons or {})
    if isinstance(decision, TicketReviewed):
        return reviewed_text(decision)
    if isinstance(decision, TicketDeadlineChanged):
        return deadline_changed_text(decision)
    if isinstance(decision, TicketSupplementNoticed):
        return supplement_text(decision)
    if isinstance(decision, TicketSummoned):
        return summoned_text(decision, who)
    if copy:
        return copied_text(decision, who)
    again = AGAIN.get(decision.data.reason or "")
    text = assigned_text(decision, who)
    return again + text.removeprefix("【派单】") if again and text.startswith("【派单】") else text
