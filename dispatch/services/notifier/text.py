"""Notification text in the users' language, e.g.
【派单】城北社区第1微网格·赖清香:工单T…(中事),请于02月10日18:00前签收,11日19:20前办结"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dispatch.schemas.events import TicketAssigned, TicketEscalated

CHINA = timezone(timedelta(hours=8))
TIER_NAMES = {"city": "大事", "department": "中事", "local": "小事", "consultation": "杂事"}
REASONS = {
    "claim_overdue": "超时未签收",
    "resolve_overdue": "超时未办结",
    "rejected": "退单",
    "repeat_report": "群众多次反映",
    "whistle": "吹哨报到",
    "complaint": "群众不满意",
}


def _when(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%m月%d日%H:%M")


def render(decision: TicketAssigned | TicketEscalated) -> str:
    d = decision.data
    deadlines = f"请于{_when(d.claim_by)}前签收,{_when(d.resolve_by)}前办结"
    if isinstance(decision, TicketAssigned):
        tier = TIER_NAMES[d.tier]  # type: ignore[union-attr]  # assigned data has a tier
        return f"【派单】{d.summary}({tier}·{d.assignee.name}),工单{d.ticket_id},{deadlines}"
    reason = REASONS.get(d.reason, d.reason)  # type: ignore[union-attr]  # escalated data
    return f"【督办】{d.summary}({d.assignee.name}),工单{d.ticket_id}因{reason}提级,{deadlines}"
