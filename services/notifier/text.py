"""Notification text in the users' language, from templates, e.g.

    【派单】城北新村南区5幢缺路灯(中事·城管),请于2月10日18:00前签收,2月11日18:00前办结。工单T…

(phone and ID numbers are masked by services.common.privacy where the notifier logs).
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import TicketAssigned, TicketEscalated
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


def render(decision: TicketAssigned | TicketEscalated, who: str, copy: bool = False) -> str:
    """The text for the assignee ``who`` (short label), or for a copied unit when ``copy``."""
    if isinstance(decision, TicketEscalated):
        return escalated_text(decision, who)
    return copied_text(decision, who) if copy else assigned_text(decision, who)
