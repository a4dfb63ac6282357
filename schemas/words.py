"""The shared words: the district's clock, the Chinese names of the data's words, time bounds.

One home for each, so every service shows a tier, a level or a reason by the same name and
reads a time in the same zone (the router's working calendar uses the policy's own zone).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # Beijing time, what operators read

# Times outside these bounds are typing errors, not reports (a year 0001 or 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

SOURCE_NAMES = {
    "hotline-12345": "12345热线",
    "hotline-110": "城管110热线",
    "ehu": "E呼即办",
    "shopfront": "小巷解忧屋",
    "miniprogram": "解忧超市小程序",
    "grid-patrol": "网格员民情账本",
    "volunteer": "志愿者随手拍",
}
TIER_NAMES = {"city": "大事", "department": "中事", "local": "小事", "consultation": "杂事"}
LEVEL_NAMES = {
    "microgrid": "微网格",
    "areagrid": "片区网格",
    "community": "社区",
    "street": "街道",
    "district": "区",
}
MEETING_OUTCOMES = {"agreed": "达成一致", "not_agreed": "未达成一致"}
RESOLUTION_NAMES = {"government": "政府解决类", "market": "市场解决类", "charity": "爱心救助类"}
VOLUNTEER_KIND_NAMES = {
    "help": "闪帮",
    "photo": "闪拍",
    "publicity": "闪宣",
    "remove": "闪除",
    "report": "闪报",
}
REASON_NAMES = {
    "claim_overdue": "超时未签收",
    "resolve_overdue": "超时未办结",
    "rejected": "退单",
    "repeat_report": "群众多次反映",
    "whistle": "吹哨报到",
    "complaint": "群众不满意",
    "meeting_overdue": "恳谈会逾期未召开",
}
STATUS_NAMES = {
    "received": "已受理",
    "classified": "已分类",
    "assigned": "已派单",
    "escalated": "已提级",
    "claimed": "已签收",
    "rejected": "已退单",
    "resolved": "已办结",
    "reopened": "重新办理",
    "shelved": "解忧超市待认领",
    "closed": "已关闭",
}

Watch = Literal["overdue", "due_soon", "on_track", "none"]


def watch(deadline: datetime | None, now: datetime, warn_before: timedelta) -> Watch:
    """What an operator should see for a deadline: overdue, due soon, or on track."""
    if deadline is None:
        return "none"
    if now >= deadline:
        return "overdue"
    return "due_soon" if deadline - now <= warn_before else "on_track"
