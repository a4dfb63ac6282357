"""One line of a ticket's timeline per event: what happened, who did it, when, in Chinese.

Pure. Everything a person reads is masked (phones, ID numbers); reporters' names never appear:
a request shows its source, not the resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.envelope import CloudEvent
from schemas.events import (
    InputRejected,
    NotificationFailed,
    NotificationSent,
    PointsAwarded,
    RequestReceived,
    TicketAdopted,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketMeetingHeld,
    TicketMeetingScheduled,
    TicketRejected,
    TicketReopened,
    TicketReportedIn,
    TicketResolved,
    TicketShelved,
    TicketSummoned,
    TicketWhistled,
)
from schemas.words import (
    CHINA,
    LEVEL_NAMES,
    MEETING_OUTCOMES,
    REASON_NAMES,
    RESOLUTION_NAMES,
    SOURCE_NAMES,
    TIER_NAMES,
)
from services.common.privacy import mask_text

Kind = Literal["input", "decision", "notification", "refusal"]
KIND_NAMES = {"input": "输入", "decision": "决定", "notification": "通知", "refusal": "拒收"}
ROUTER = "派单引擎"
CHANNEL_NAMES = {"webhook": "接口推送", "sms": "短信", "wecom": "企业微信", "log": "系统日志"}
UPDATE_TITLES = {
    "dispatch.ticket.claimed": "签收",
    "dispatch.ticket.rejected": "退单",
    "dispatch.ticket.resolved": "办结",
    "dispatch.ticket.feedback": "回访评价",
    "dispatch.ticket.reopened": "重新办理",
    "dispatch.ticket.whistled": "吹哨报到",
    "dispatch.ticket.reported_in": "报到",
    "dispatch.ticket.meeting_scheduled": "约定近邻恳谈会",
    "dispatch.ticket.meeting_held": "召开近邻恳谈会",
    "dispatch.ticket.adopted": "认领(解忧超市)",
}
OUTCOME_NAMES = {"resolved": "办结", "merged": "并入重复件", "invalid": "无效件"}

AGAIN_NAMES = {"reassigned": "改派", "reclassified": "重新分类后派单", "split": "拆分派单",
               "reopen": "重新办理派单", "adopted": "认领", "unadopted": "货架到期派单",
               "handoff": "恳谈会移交"}  # fmt: skip
"""The title of an assignment made again (``AssignedData.reason``)."""


@dataclass(frozen=True, slots=True)
class Line:
    time: datetime
    kind: Kind
    title: str
    who: str
    detail: str
    event_id: str
    type: str

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def at(self) -> str:
        return self.time.astimezone(CHINA).strftime("%m-%d %H:%M:%S")


def hm(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%m-%d %H:%M") if moment else "—"


def line(event: CloudEvent) -> Line | None:
    """The timeline line of ``event``; None for events that are not about a ticket's life."""
    made = _describe(event)
    if made is None:
        return None
    kind, title, who, detail = made
    return Line(event.time, kind, title, mask_text(who), mask_text(detail), event.id, event.type)


def _describe(event: CloudEvent) -> tuple[Kind, str, str, str] | None:
    if isinstance(event, RequestReceived):
        d = event.data
        place = (d.location.address or d.location.community or "") if d.location else ""
        detail = d.description + (f"(地址:{place})" if place else "")
        return "input", "受理诉求", SOURCE_NAMES.get(d.source, d.source), detail
    if isinstance(event, TicketClassified):
        c = event.data
        tier = TIER_NAMES[c.tier] + (" · 紧急" if c.emergency else "")
        title = f"分类:{c.category_name}({tier})"
        detail = f"属地 {c.unit.name};规则 {c.rule}" + (
            f";依据 {'、'.join(c.evidence[:6])}" if c.evidence else ""
        )
        return "decision", title, ROUTER, detail
    if isinstance(event, TicketAssigned):
        a = event.data
        copies = "、".join(x.name for x in a.copied_to)
        detail = f"签收时限 {hm(a.claim_by)},办结时限 {hm(a.resolve_by)}" + (
            f";抄送 {copies}" if copies else ""
        )
        again = AGAIN_NAMES.get(a.reason or "", "再次派单") if a.reason else "派单"
        title = f"{again} → {a.assignee.name}({LEVEL_NAMES[a.level]})"
        return "decision", title, ROUTER, detail
    if isinstance(event, TicketEscalated):
        e = event.data
        title = f"提级:{LEVEL_NAMES[e.from_level]} → {LEVEL_NAMES[e.to_level]} · {e.assignee.name}"
        detail = f"原因 {REASON_NAMES[e.reason]};签收时限 {hm(e.claim_by)}"
        return "decision", title, ROUTER, detail
    if isinstance(event, TicketClosed):
        c2 = event.data
        title = f"关闭:{OUTCOME_NAMES.get(c2.outcome, c2.outcome)}"
        parts = []
        if c2.on_time is not None:
            parts.append("按期" if c2.on_time else "超期")
        if c2.merged_into:
            parts.append(f"并入 {c2.merged_into}")
        if c2.satisfaction is not None:
            parts.append(f"满意度 {c2.satisfaction}")
        return "decision", title, ROUTER, ";".join(parts)
    if isinstance(event, TicketShelved):
        h = event.data
        title = f"上架解忧超市:{RESOLUTION_NAMES[h.resolution]}"
        return "decision", title, ROUTER, f"待认领至 {hm(h.until)};{h.unit.name}"
    if isinstance(event, PointsAwarded):
        p = event.data
        return "decision", f"五闪积分 +{p.points}", ROUTER, f"志愿者 {p.volunteer_id}"
    if isinstance(event, TicketSummoned):
        s = event.data
        title = f"吹哨报到:通知兼职委员 {s.member.name}"
        return "decision", title, ROUTER, f"报到时限 {hm(s.report_by)}"
    if isinstance(
        event,
        TicketClaimed
        | TicketRejected
        | TicketResolved
        | TicketFeedback
        | TicketReopened
        | TicketWhistled
        | TicketReportedIn
        | TicketMeetingScheduled
        | TicketMeetingHeld
        | TicketAdopted,
    ):
        u = event.data
        extra = ""
        if isinstance(event, TicketFeedback):
            extra = f"满意度 {event.data.satisfaction};"
        if isinstance(event, TicketWhistled):
            called = event.data.department or event.data.member
            extra = f"吹哨{'部门' if event.data.department else '兼职委员'} {called};"
        if isinstance(event, TicketMeetingScheduled):
            extra = f"时间 {hm(event.data.at)},地点 {event.data.place};"
        if isinstance(event, TicketMeetingHeld):
            handed = f",移交 {event.data.handoff}" if event.data.handoff else ""
            extra = f"{MEETING_OUTCOMES[event.data.outcome]}{handed};纪要 {event.data.minutes};"
        return "input", UPDATE_TITLES[event.type], u.actor, extra + (u.note or "")
    if isinstance(event, NotificationSent):
        n = event.data
        channel = CHANNEL_NAMES.get(n.channel, n.channel)
        return (
            "notification",
            f"已通知 {n.recipient}({channel})",
            "通知服务",
            f"第 {n.attempts} 次送达",
        )
    if isinstance(event, NotificationFailed):
        f = event.data
        title = f"通知失败 {f.recipient}({CHANNEL_NAMES.get(f.channel, f.channel)})"
        return "notification", title, "通知服务", f"{f.attempts} 次尝试:{f.error}"
    if isinstance(event, InputRejected):
        r = event.data
        return (
            "refusal",
            "拒收 / 死信",
            r.origin.service,
            r.reason + "".join(f";{e}" for e in r.errors[:3]),
        )
    return None
