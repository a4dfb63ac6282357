"""Notification text in the users' language, from templates, e.g.

    【派单】城北新村南区5幢缺路灯(中事·城管),请于2月10日18:00前签收,2月11日18:00前办结。工单T…

and phone numbers masked wherever the notifier writes to its log.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dispatch.schemas.events import TicketAssigned, TicketEscalated

CHINA = timezone(timedelta(hours=8))
TIER_NAMES = {"city": "大事", "department": "中事", "local": "小事", "consultation": "杂事"}
LEVEL_NAMES = {
    "microgrid": "微网格",
    "areagrid": "片区网格",
    "community": "社区",
    "street": "街道",
    "district": "区",
}
REASONS = {
    "claim_overdue": "超时未签收",
    "resolve_overdue": "超时未办结",
    "rejected": "退单",
    "repeat_report": "群众多次反映",
    "whistle": "吹哨报到",
    "complaint": "群众不满意",
}
EMERGENCY_RULE = "assign:emergency"

# Mainland mobiles (optionally +86) and landlines with an area code, not inside an identifier.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(0\d{2,3}-?)(\d{3,4})(\d{4})(?![0-9A-Za-z])"
)


def _mask(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}****{match.group(3)}"
    return f"{match.group(4)}{'*' * len(match.group(5))}{match.group(6)}"


def mask_phones(text: str) -> str:
    """``13905981234`` → ``139****1234``; ``0598-5821234`` → ``0598-***1234``."""
    return _PHONE.sub(_mask, text)


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
    reason = REASONS.get(d.reason, d.reason)
    climb = f"{LEVEL_NAMES[d.from_level]}→{LEVEL_NAMES[d.to_level]}"
    return f"【督办】{d.summary}({reason},{climb}·{who}),{_deadlines(decision)}"


def render(decision: TicketAssigned | TicketEscalated, who: str, copy: bool = False) -> str:
    """The text for the assignee ``who`` (short label), or for a copied unit when ``copy``."""
    if isinstance(decision, TicketEscalated):
        return escalated_text(decision, who)
    return copied_text(decision, who) if copy else assigned_text(decision, who)
