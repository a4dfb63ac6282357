"""The intake's read model of a ticket, as a pure fold over its events (requests, updates and
router decisions): ``apply(state, event) -> state``, then ``view(state)`` for what GET shows.

Events of one ticket come from three topics, so they may arrive out of order (on a rebuild
above all); the state keeps a timeline sorted by event time and derives the current status
from it, and ignores an event id it has already applied. Phone numbers are masked here, once:
nothing a GET returns carries a full number.

Views show what happened, not what was asked: an update the router refused (its dead letter
on ``dispatch.deadletter`` carries the update's bytes) stays in the timeline, marked
``refused`` with the router's reason, and changes neither the status nor who may act.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from schemas.codec import EventDecodeError, decode
from schemas.envelope import CloudEvent, Model
from schemas.events import (
    Assignee,
    InputRejected,
    Level,
    Location,
    PointsAwarded,
    Reporter,
    RequestReceived,
    Resolution,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketFeedback,
    TicketLinked,
    TicketMeetingHeld,
    TicketMeetingScheduled,
    TicketReminded,
    TicketReviewed,
    TicketReviewRequested,
    TicketShelved,
    TicketSummoned,
    TicketSupplementNoticed,
    TicketWhistled,
    Tier,
    UpdateData,
    VolunteerKind,
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
from services.common.identity import label
from services.common.permissions import TicketFacts
from services.common.privacy import mask_phone, mask_text

Status = Literal[
    "received",
    "classified",
    "shelved",
    "assigned",
    "escalated",
    "claimed",
    "rejected",
    "resolved",
    "reopened",
    "closed",
]

STATUS_OF: dict[str, Status] = {
    "dispatch.request.received": "received",
    "dispatch.ticket.classified": "classified",
    "dispatch.ticket.shelved": "shelved",
    "dispatch.ticket.assigned": "assigned",
    "dispatch.ticket.escalated": "escalated",
    "dispatch.ticket.claimed": "claimed",
    # a reject moves nothing by itself: the router's escalation (or, under review, the
    # centre's approval) does
    "dispatch.ticket.resolved": "resolved",
    "dispatch.ticket.reopened": "reopened",
    "dispatch.ticket.closed": "closed",
}
ACTION_OF = {
    "dispatch.ticket.claimed": "claim",
    "dispatch.ticket.rejected": "reject",
    "dispatch.ticket.resolved": "resolve",
    "dispatch.ticket.feedback": "feedback",
    "dispatch.ticket.reopened": "reopen",
    "dispatch.ticket.whistled": "whistle",
    "dispatch.ticket.extension_requested": "extend",
    "dispatch.ticket.approved": "approve",
    "dispatch.ticket.refused": "refuse",
    "dispatch.ticket.reassigned": "reassign",
    "dispatch.ticket.reclassified": "reclassify",
    "dispatch.ticket.invalidated": "invalidate",
    "dispatch.ticket.split": "split",
    "dispatch.ticket.merged": "merge",
    "dispatch.ticket.remind_requested": "remind",
    "dispatch.ticket.supplemented": "supplement",
    "dispatch.ticket.reported_in": "report_in",
    "dispatch.ticket.meeting_scheduled": "schedule",
    "dispatch.ticket.meeting_held": "hold",
    "dispatch.ticket.adopted": "adopt",
}
# Order of events that share a timestamp (a decision stamped with its cause's time): inputs
# before decisions (the decision was caused by it), then by this rank.
RANK = {
    kind: rank
    for rank, kind in enumerate(
        (
            "dispatch.request.received",
            "dispatch.ticket.classified",
            "dispatch.ticket.shelved",
            "dispatch.ticket.adopted",
            "dispatch.ticket.assigned",
            "dispatch.ticket.escalated",
            "dispatch.ticket.claimed",
            "dispatch.ticket.whistled",
            "dispatch.ticket.summoned",
            "dispatch.ticket.reported_in",
            "dispatch.ticket.meeting_scheduled",
            "dispatch.ticket.meeting_held",
            "dispatch.ticket.rejected",
            "dispatch.ticket.extension_requested",
            "dispatch.ticket.review_requested",
            "dispatch.ticket.approved",
            "dispatch.ticket.refused",
            "dispatch.ticket.reviewed",
            "dispatch.ticket.deadline_changed",
            "dispatch.ticket.remind_requested",
            "dispatch.ticket.reminded",
            "dispatch.ticket.supplemented",
            "dispatch.ticket.supplement_noticed",
            "dispatch.ticket.resolved",
            "dispatch.ticket.feedback",
            "dispatch.ticket.linked",
            "dispatch.ticket.closed",
            "dispatch.ticket.reopened",
        )
    )
}
UPDATE_WORDS = {
    "claim": "签收",
    "reject": "退单",
    "resolve": "办结",
    "reopen": "重新办理",
    "extend": "延期申请",
    "approve": "批准",
    "refuse": "驳回",
    "reassign": "改派",
    "reclassify": "重新分类",
    "invalidate": "无效件",
    "split": "拆分",
    "merge": "合并",
    "remind": "催办",
    "supplement": "补充",
    "report_in": "报到",
    "schedule": "约定恳谈会",
    "hold": "召开恳谈会",
    "adopt": "认领",
}
KIND_WORDS = {"reject": "退单", "extend": "延期"}
MOVES = {
    "dispatch.ticket.assigned",
    "dispatch.ticket.escalated",
    "dispatch.ticket.resolved",
    "dispatch.ticket.closed",
}
"""decisions (and the resolve) after which nothing awaits review any more"""


class Entry(Model):
    """One event of a ticket's timeline, with the facts GET and Open311 show."""

    id: str
    type: str
    time: AwareDatetime
    summary: str = Field(description="中文摘要")
    actor: str | None = None
    note: str | None = None
    tier: Tier | None = None
    emergency: bool | None = None
    category: str | None = None
    category_name: str | None = None
    resolution: Resolution | None = None
    level: Level | None = None
    assignee: Assignee | None = None
    claim_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None
    satisfaction: int | None = None
    department: str | None = None
    member: str | None = Field(default=None, description="吹哨报到: the committee member called in")
    report_by: AwareDatetime | None = Field(default=None, description="吹哨报到: report in by")
    meeting_at: AwareDatetime | None = Field(default=None, description="近邻恳谈会: when")
    place: str | None = Field(default=None, description="近邻恳谈会: where")
    minutes: str | None = Field(default=None, description="近邻恳谈会: 会议纪要 (masked)")
    points: int | None = Field(default=None, description="五闪积分 awarded")
    until: AwareDatetime | None = Field(default=None, description="解忧超市: on the shelf until")
    outcome: str | None = None
    reason_code: str | None = None
    request: str | None = Field(
        default=None, description="the pending reject or extension this step asks for or judges"
    )
    review: Literal["reject", "extend"] | None = Field(
        default=None, description="what awaits review (review_requested, reviewed)"
    )
    wanted_by: AwareDatetime | None = Field(
        default=None, description="延期: the deadline asked for (not in force until approved)"
    )
    to: str | None = Field(default=None, description="改派 / approve: the unit asked for")
    into: str | None = Field(default=None, description="merge: the ticket merged into")
    by: str | None = Field(default=None, description="the authenticated caller of an update")
    refused: str | None = Field(
        default=None, description="the router refused this update: why (it changed nothing)"
    )


class Request(Model):
    """What the upstream sent, as operators may see it (phones masked)."""

    source: str
    external_id: str
    channel: str
    correlationid: str
    description: str
    category: str | None = None
    location: Location | None = None
    reporter: Reporter | None = None
    urgent: bool = False
    households_affected: int | None = None
    reported_at: AwareDatetime | None = None
    received_at: AwareDatetime
    attachments: tuple[str, ...] = ()
    volunteer_id: str | None = None
    kind: VolunteerKind | None = None


class TicketState(Model):
    ticket_id: str
    request: Request | None = None
    timeline: tuple[Entry, ...] = ()
    # Refusals whose update has not been seen yet (a refusal may come first): update event id
    # and the router's reason; the latest ``MAX_PENDING_REFUSALS``.
    refusals: tuple[tuple[str, str], ...] = ()

    def has(self, event_id: str) -> bool:
        return any(e.id == event_id for e in self.timeline)

    def entry(self, event_id: str) -> Entry | None:
        return next((e for e in self.timeline if e.id == event_id), None)


class PendingReview(Model):
    """A reject or an extension awaiting the centre's approve or refuse (its event id is what
    they name as ``request``)."""

    request: str
    kind: Literal["reject", "extend"]
    at: AwareDatetime
    reason_code: str | None = None
    resolve_by: AwareDatetime | None = Field(default=None, description="extend: asked for")


class TicketView(Model):
    """``GET /v1/tickets/{ticket_id}``: current state and timeline."""

    ticket_id: str
    status: Status
    source: str
    external_id: str
    description: str
    category: str | None = None
    category_name: str | None = None
    tier: Tier | None = None
    emergency: bool = False
    resolution: Resolution | None = None
    level: Level | None = None
    assignee: Assignee | None = None
    claim_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None
    satisfaction: int | None = None
    location: Location | None = None
    reporter: Reporter | None = None
    urgent: bool = False
    households_affected: int | None = None
    reported_at: AwareDatetime | None = None
    received_at: AwareDatetime
    updated_at: AwareDatetime
    attachments: tuple[str, ...] = ()
    volunteer_id: str | None = Field(default=None, description="五闪: the reporting volunteer")
    kind: VolunteerKind | None = Field(default=None, description="五闪: what the volunteer did")
    pending: tuple[PendingReview, ...] = Field(
        default=(), description="awaiting review: a reject or an extension"
    )
    timeline: tuple[Entry, ...]


def _hm(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%m月%d日%H:%M")


def request_of(event: RequestReceived) -> Request:
    d = event.data
    location = d.location
    if location is not None and location.address:
        location = location.model_copy(update={"address": mask_text(location.address)})
    reporter = d.reporter
    if reporter is not None:
        reporter = reporter.model_copy(update={"phone": mask_phone(reporter.phone)})
    return Request(
        source=d.source,
        external_id=d.external_id,
        channel=d.channel,
        correlationid=event.correlationid,
        description=mask_text(d.description),
        category=d.category,
        location=location,
        reporter=reporter,
        urgent=d.urgent,
        households_affected=d.households_affected,
        reported_at=d.reported_at,
        received_at=d.received_at,
        attachments=tuple(d.attachments),
        volunteer_id=d.volunteer_id,
        kind=d.kind,
    )


def entry_of(event: CloudEvent) -> Entry | None:
    """The timeline entry of an event, or None for an event the read model does not show."""
    if isinstance(event, RequestReceived):
        d = event.data
        name = SOURCE_NAMES.get(d.source, d.source)
        return _entry(event, summary=f"受理:{name}来件({d.external_id})")
    if isinstance(event, TicketClassified):
        c = event.data
        urgent = "·紧急" if c.emergency else ""
        return _entry(
            event,
            summary=f"分类:{c.category_name},{TIER_NAMES[c.tier]}{urgent}",
            tier=c.tier,
            emergency=c.emergency,
            category=c.category,
            category_name=c.category_name,
            resolution=c.resolution,
            department=c.department,
        )
    if isinstance(event, TicketAssigned):
        a = event.data
        word = ASSIGNED_WORDS.get(a.reason or "", "派单")
        return _entry(
            event,
            summary=f"{word}:{a.assignee.name},{_hm(a.claim_by)}前签收,{_hm(a.resolve_by)}前办结",
            tier=a.tier,
            level=a.level,
            assignee=a.assignee,
            claim_by=a.claim_by,
            resolve_by=a.resolve_by,
        )
    if isinstance(event, TicketEscalated):
        x = event.data
        return _entry(
            event,
            summary=f"升级:{LEVEL_NAMES[x.from_level]}→{LEVEL_NAMES[x.to_level]}"
            f"({REASON_NAMES[x.reason]}),改派{x.assignee.name}",
            level=x.to_level,
            assignee=x.assignee,
            claim_by=x.claim_by,
            resolve_by=x.resolve_by,
        )
    if isinstance(event, TicketClosed):
        s = event.data
        timing = {True: "按期", False: "超期", None: ""}[s.on_time]
        text = f"结案:并入{s.merged_into}" if s.outcome == "merged" else f"结案:{timing}办结"
        if s.outcome == "invalid":
            text = f"结案:无效件({s.reason_code})"
        return _entry(
            event,
            summary=text,
            outcome=s.outcome,
            satisfaction=s.satisfaction,
            reason_code=s.reason_code,
            into=s.merged_into,
        )
    if isinstance(event, TicketLinked):
        word = "合并" if event.data.by == "operator" else "重复反映"
        return _entry(event, summary=f"{word}:{event.data.repeat}并入本工单")
    found = _workorder_entry(event)
    if found is not None:
        return found
    data = getattr(event, "data", None)
    if event.type in ACTION_OF and isinstance(data, UpdateData):
        return _update_entry(event, data)
    return None


ASSIGNED_WORDS = {
    "reassigned": "改派",
    "reclassified": "重新分类后派单",
    "split": "拆分后派单",
    "reopen": "重新办理",
    "adopted": "认领",
    "unadopted": "货架到期无人认领,派单",
    "handoff": "恳谈会移交",
}
REMINDER_WORDS = {"remind": "催办", "claim_due": "签收时限将到", "resolve_due": "办结时限将到"}


def _workorder_entry(event: CloudEvent) -> Entry | None:
    """The router's decisions of the work order: reviews, deadlines, reminders, notices."""
    if isinstance(event, TicketReviewRequested):
        r = event.data
        what = f"({r.reason_code})" if r.reason_code else ""
        if r.resolve_by is not None:
            what = f",延至{_hm(r.resolve_by)}"
        return _entry(
            event,
            summary=f"待审核:{KIND_WORDS[r.kind]}{what}",
            request=r.request,
            review=r.kind,
            reason_code=r.reason_code,
            wanted_by=r.resolve_by,
        )
    if isinstance(event, TicketReviewed):
        v = event.data
        verdict = "同意" if v.verdict == "approved" else "不同意"
        return _entry(
            event,
            summary=f"审核:{verdict}{KIND_WORDS[v.kind]}",
            request=v.request,
            review=v.kind,
            outcome=v.verdict,
        )
    if isinstance(event, TicketDeadlineChanged):
        c = event.data
        return _entry(
            event,
            summary=f"延期:办结时限{_hm(c.previous_resolve_by)}→{_hm(c.resolve_by)}",
            resolve_by=c.resolve_by,
            request=c.request,
        )
    if isinstance(event, TicketReminded):
        m = event.data
        due = f",{_hm(m.due)}到期" if m.due is not None else ""
        return _entry(event, summary=f"{REMINDER_WORDS[m.reason]}:已提醒{m.assignee.name}{due}")
    if isinstance(event, TicketSupplementNoticed):
        return _entry(event, summary=f"补充信息已通知{event.data.assignee.name}")
    if isinstance(event, TicketShelved):
        h = event.data
        return _entry(
            event,
            summary=f"上架解忧超市:{RESOLUTION_NAMES[h.resolution]},{_hm(h.until)}前待认领",
            tier=h.tier,
            category=h.category,
            category_name=h.category_name,
            resolution=h.resolution,
            until=h.until,
            place=h.unit.name,
        )
    if isinstance(event, PointsAwarded):
        p = event.data
        return _entry(
            event, summary=f"五闪积分:志愿者{p.volunteer_id}获{p.points}分", points=p.points
        )
    if isinstance(event, TicketSummoned):
        s = event.data
        return _entry(
            event,
            summary=f"吹哨报到:已通知兼职委员{s.member.name},{_hm(s.report_by)}前报到",
            member=s.member.id,
            report_by=s.report_by,
        )
    return None


def _entry(event: CloudEvent, **facts: Any) -> Entry:
    return Entry(id=event.id, type=event.type, time=event.time, **facts)


def _update_entry(event: CloudEvent, data: UpdateData) -> Entry:
    note = mask_text(data.note) if data.note else None
    actor = mask_text(data.actor)
    by = mask_text(label(data.principal)) if data.principal is not None else None
    if isinstance(event, TicketFeedback):
        return _entry(
            event,
            summary=f"回访评价:{event.data.satisfaction}分({actor})",
            actor=actor,
            by=by,
            note=note,
            satisfaction=event.data.satisfaction,
        )
    if isinstance(event, TicketWhistled):
        called = event.data.department or event.data.member
        return _entry(
            event,
            summary=f"吹哨报到:{actor}吹哨,请{called}报到",
            actor=actor,
            by=by,
            note=note,
            department=event.data.department,
            member=event.data.member,
        )
    if isinstance(event, TicketMeetingScheduled):
        m = event.data
        return _entry(
            event,
            summary=f"近邻恳谈会:{actor}约定{_hm(m.at)}在{mask_text(m.place)}召开",
            actor=actor,
            by=by,
            note=note,
            meeting_at=m.at,
            place=mask_text(m.place),
        )
    if isinstance(event, TicketMeetingHeld):
        h = event.data
        handed = f",移交{h.handoff}" if h.handoff else ""
        return _entry(
            event,
            summary=f"近邻恳谈会召开:{MEETING_OUTCOMES[h.outcome]}{handed}({actor})",
            actor=actor,
            by=by,
            note=note,
            outcome=h.outcome,
            minutes=mask_text(h.minutes),
            to=h.handoff,
        )
    word = UPDATE_WORDS[ACTION_OF[event.type]]
    facts: dict[str, Any] = {}
    for name in ("reason_code", "request", "to", "into", "category"):
        value = getattr(data, name, None)
        if value is not None:
            facts[name] = value
    wanted = getattr(data, "resolve_by", None)
    detail = ""
    if wanted is not None:
        facts["wanted_by"] = wanted
        detail = f",延至{_hm(wanted)}"
    if isinstance(getattr(data, "tier", None), str):
        detail = f",{TIER_NAMES[data.tier]}"  # type: ignore[attr-defined]
    for name in ("reason_code", "to", "into", "category"):
        if name in facts:
            detail += f",{facts[name]}"
    facts.pop("category", None)  # a reclassify asked for is not the ticket's category yet
    if event.type == "dispatch.ticket.reported_in" and data.principal is not None:
        facts["member"] = data.principal.unit  # who reported in: a member or the department
    return _entry(event, summary=f"{word}:{actor}{detail}", actor=actor, by=by, note=note, **facts)


def refused_update(event: InputRejected) -> str | None:
    """The id of the update a router's dead letter refused; None for any other dead letter."""
    if event.data.origin.service != "router":
        return None
    try:
        original = decode(base64.b64decode(event.data.original, validate=True))
    except (EventDecodeError, binascii.Error, ValueError):
        return None
    if original.type not in ACTION_OF or original.subject != event.subject:
        return None
    return original.id


def _refuse(entry: Entry, reason: str) -> Entry:
    return entry.model_copy(
        update={"refused": mask_text(reason)[:300], "summary": f"{entry.summary}(未生效)"}
    )


MAX_PENDING_REFUSALS = 32
"""refusals kept while their update is still on its way (arrival order differs by topic)"""


def _refuse_known(state: TicketState, event_id: str, reason: str) -> TicketState:
    entry = state.entry(event_id)
    if entry is None:  # the update comes later: remember why it is refused until then
        refusals = (*state.refusals, (event_id, reason))[-MAX_PENDING_REFUSALS:]
        return state.model_copy(update={"refusals": refusals})
    if entry.refused is not None:
        return state
    timeline = tuple(_refuse(e, reason) if e.id == event_id else e for e in state.timeline)
    return state.model_copy(update={"timeline": timeline})


def apply(state: TicketState, event: CloudEvent) -> TicketState:
    """The state after ``event``; an event already applied (same id) changes nothing."""
    if isinstance(event, InputRejected):
        refused = refused_update(event)
        if refused is None or any(i == refused for i, _ in state.refusals):
            return state
        return _refuse_known(state, refused, event.data.reason)
    if state.has(event.id):
        return state
    entry = entry_of(event)
    if entry is None:
        return state
    reason = next((r for i, r in state.refusals if i == event.id), None)
    refusals = state.refusals
    if reason is not None:
        entry = _refuse(entry, reason)
        refusals = tuple(r for r in refusals if r[0] != event.id)
    timeline = tuple(sorted((*state.timeline, entry), key=_order))
    request = request_of(event) if isinstance(event, RequestReceived) else state.request
    return state.model_copy(update={"timeline": timeline, "request": request, "refusals": refusals})


def _order(entry: Entry) -> tuple[datetime, int, int]:
    decided = entry.type not in ACTION_OF and entry.type != "dispatch.request.received"
    return (entry.time, int(decided), RANK.get(entry.type, 50))


def view(state: TicketState) -> TicketView | None:
    """What GET shows; None until the request itself has been seen."""
    request = state.request
    if request is None:
        return None
    current: dict[str, object] = {"status": "received", "category": request.category}
    summoned: set[str] = set()
    for entry in state.timeline:
        if entry.refused is not None:
            continue
        if entry.type == "dispatch.ticket.summoned" and entry.member:
            summoned.add(entry.member)
        if entry.type == "dispatch.ticket.reported_in":
            if entry.member in summoned:
                summoned.discard(entry.member)
            elif current["status"] in ("assigned", "escalated"):
                current["status"] = "claimed"  # a department whistled in: its report is its claim
        if entry.type == "dispatch.ticket.meeting_scheduled":
            current["status"] = "claimed"  # the convener took it on
        if (
            entry.type == "dispatch.ticket.meeting_held"
            and entry.outcome == "agreed"
            and not entry.to
        ):
            current["status"] = "resolved"  # settled by agreement
        if entry.type in STATUS_OF and not (
            entry.type == "dispatch.ticket.classified" and current["status"] != "received"
        ):
            current["status"] = STATUS_OF[entry.type]
        for name in (
            "tier",
            "emergency",
            "category",
            "category_name",
            "resolution",
            "level",
            "assignee",
            "claim_by",
            "resolve_by",
            "satisfaction",
        ):
            value = getattr(entry, name)
            if value is not None:
                current[name] = value
    return TicketView.model_validate(
        {
            "ticket_id": state.ticket_id,
            **request.model_dump(exclude={"channel", "correlationid", "category"}),
            **current,
            "pending": pending_reviews(state.timeline),
            "updated_at": state.timeline[-1].time if state.timeline else request.received_at,
            "timeline": state.timeline,
        }
    )


def pending_reviews(timeline: tuple[Entry, ...]) -> tuple[PendingReview, ...]:
    """What the router holds for review: each review it asked for, until it is judged or the
    ticket moves (a move, a resolve or a close ends every pending request)."""
    pending: dict[str, PendingReview] = {}
    for entry in timeline:
        if entry.refused is not None:
            continue
        if entry.type == "dispatch.ticket.review_requested" and entry.request and entry.review:
            pending[entry.request] = PendingReview(
                request=entry.request,
                kind=entry.review,
                at=entry.time,
                reason_code=entry.reason_code,
                resolve_by=entry.wanted_by,
            )
        elif entry.type == "dispatch.ticket.reviewed" and entry.request:
            pending.pop(entry.request, None)
        elif entry.type in MOVES:
            pending.clear()
    return tuple(pending.values())


def facts_of(state: TicketState) -> TicketFacts | None:
    """What permissions depend on: the source, the current assignee, every unit it was
    assigned to and the departments and members whistled in; refused updates count for
    nothing."""
    if state.request is None:
        return None
    assignee: str | None = None
    path: list[str] = []
    whistled: list[str] = []
    shelved = False
    for entry in state.timeline:
        if entry.refused is not None:
            continue
        if entry.type == "dispatch.ticket.shelved":
            shelved = True
        if entry.type == "dispatch.ticket.closed":
            shelved = False
        if entry.assignee is not None:
            assignee = entry.assignee.id
            path.append(assignee)
            shelved = False
        if entry.type == "dispatch.ticket.whistled":
            whistled += [u for u in (entry.department, entry.member) if u]
    return TicketFacts(
        source=state.request.source,
        assignee=assignee,
        path=tuple(dict.fromkeys(path)),
        whistled=tuple(dict.fromkeys(whistled)),
        shelved=shelved,
    )
