"""Handlers' and reporters' updates to a ticket (``POST /v1/tickets/{ticket_id}/updates``):
the body, its cross-field rules, and the event it becomes. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import derive_id
from schemas.events import (
    MeetingOutcome,
    Principal,
    TicketAdopted,
    TicketApproved,
    TicketClaimed,
    TicketExtensionRequested,
    TicketFeedback,
    TicketInvalidated,
    TicketMeetingHeld,
    TicketMeetingScheduled,
    TicketMerged,
    TicketReassigned,
    TicketReclassified,
    TicketRefused,
    TicketRejected,
    TicketRemindRequested,
    TicketReopened,
    TicketReportedIn,
    TicketResolved,
    TicketSplit,
    TicketSupplemented,
    TicketWhistled,
    Tier,
    Update,
    data_type,
)
from schemas.policy import Policy
from schemas.policy.grid import assignable, grid_of
from services.intake.models import refuse_surrogates

Action = Literal[
    "claim",
    "reject",
    "resolve",
    "feedback",
    "reopen",
    "whistle",
    "extend",
    "approve",
    "refuse",
    "reassign",
    "reclassify",
    "invalidate",
    "split",
    "merge",
    "remind",
    "supplement",
    "report_in",
    "schedule",
    "hold",
    "adopt",
]
KINDS: dict[str, type[Update]] = {
    "claim": TicketClaimed,
    "reject": TicketRejected,
    "resolve": TicketResolved,
    "feedback": TicketFeedback,
    "reopen": TicketReopened,
    "whistle": TicketWhistled,
    "extend": TicketExtensionRequested,
    "approve": TicketApproved,
    "refuse": TicketRefused,
    "reassign": TicketReassigned,
    "reclassify": TicketReclassified,
    "invalidate": TicketInvalidated,
    "split": TicketSplit,
    "merge": TicketMerged,
    "remind": TicketRemindRequested,
    "supplement": TicketSupplemented,
    "report_in": TicketReportedIn,
    "schedule": TicketMeetingScheduled,
    "hold": TicketMeetingHeld,
    "adopt": TicketAdopted,
}
EVENT_TYPE: dict[str, str] = {
    action: kind.model_fields["type"].default for action, kind in KINDS.items()
}
# the fields an action carries besides action, actor and note; required ones first
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "feedback": (("satisfaction",), ("solved", "contacted")),
    "whistle": ((), ("department", "member")),
    "reject": (("reason_code",), ()),
    "extend": (("resolve_by",), ()),
    "approve": (("request",), ("to",)),
    "refuse": (("request",), ()),
    "reassign": (("to",), ()),
    "reclassify": ((), ("tier", "category")),
    "invalidate": (("reason_code",), ()),
    "merge": (("into",), ()),
    "supplement": (("note",), ()),
    "schedule": (("at", "place"), ()),
    "hold": (("outcome", "minutes"), ("handoff",)),
}
EXTRA = (
    "satisfaction",
    "solved",
    "contacted",
    "department",
    "member",
    "reason_code",
    "resolve_by",
    "request",
    "to",
    "tier",
    "category",
    "into",
    "at",
    "place",
    "outcome",
    "minutes",
    "handoff",
)


class UpdateIn(BaseModel):
    """``satisfaction`` (1-5) comes with ``feedback`` only, and ``feedback`` needs it;
    ``whistle`` (吹哨报到) names exactly one of ``department`` (a department called in) and
    ``member`` (one of the community's part-time committee members), who answers with
    ``report_in``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "action": "claim",
                    "actor": "赖清香(城北社区第1微网格长)",
                    "note": "已签收,今晚去现场",
                },
                {"action": "resolve", "actor": "赖清香", "note": "已更换5幢楼道灯3盏"},
                {"action": "feedback", "actor": "12345回访员", "satisfaction": 5, "note": "满意"},
                {
                    "action": "whistle",
                    "actor": "城北社区书记",
                    "department": "DEP-SW",
                    "note": "化粪池外溢,社区无法处置,请水务部门报到",
                },
                {
                    "action": "whistle",
                    "actor": "城北社区书记",
                    "member": "JZ-CB-01",
                    "note": "电梯困人,请物业项目经理到场",
                },
                {"action": "report_in", "actor": "物业项目经理", "note": "已到场"},
            ]
        },
    )

    action: Action = Field(
        description="claim 签收, reject 退单, resolve 办结, feedback 回访评价, "
        "reopen 重新办理, whistle 吹哨报到, extend 延期申请, approve 批准, refuse 驳回, "
        "reassign 改派, reclassify 重新分类, invalidate 无效件, split 拆分, merge 合并, "
        "remind 催办, supplement 补充, report_in 报到(吹哨报到的应答), "
        "schedule 约定近邻恳谈会, hold 召开近邻恳谈会(结果), adopt 认领/认购(解忧超市)"
    )
    actor: str = Field(min_length=1, max_length=100, description="谁:姓名或岗位")
    note: str | None = Field(default=None, max_length=2000, description="说明")
    satisfaction: int | None = Field(default=None, ge=1, le=5, description="满意度 1-5")
    solved: bool | None = Field(default=None, description="回访:是否解决(feedback only)")
    contacted: bool | None = Field(default=None, description="回访:是否联系(feedback only)")
    department: str | None = Field(
        default=None, min_length=1, max_length=100, description="吹哨报到的部门(编号或名称)"
    )
    member: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="吹哨报到的社区兼职委员(编号,如物业项目经理)",
    )
    reason_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="reject 退单 / invalidate 无效件: the policy's reason code",
    )
    resolve_by: AwareDatetime | None = Field(
        default=None, description="extend 延期申请: the wanted deadline (ISO time with offset)"
    )
    request: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="approve / refuse: the event id of the pending reject or extend",
    )
    to: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="reassign 改派 (or approve of a reject): a unit or department id",
    )
    tier: Tier | None = Field(default=None, description="reclassify: the new tier")
    category: str | None = Field(
        default=None, min_length=1, max_length=64, description="reclassify: the new category code"
    )
    into: str | None = Field(
        default=None, min_length=1, max_length=200, description="merge: the ticket it merges into"
    )
    at: AwareDatetime | None = Field(
        default=None, description="schedule 近邻恳谈会: when (ISO time with offset)"
    )
    place: str | None = Field(
        default=None, min_length=1, max_length=200, description="schedule: where (社区议事厅 …)"
    )
    outcome: MeetingOutcome | None = Field(
        default=None, description="hold: agreed 达成一致 (settles it) or not_agreed"
    )
    minutes: str | None = Field(
        default=None, min_length=1, max_length=4000, description="hold: 会议纪要"
    )
    handoff: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="hold: a department (id or name) the meeting hands the ticket over to",
    )

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return refuse_surrogates(data)


class UpdateAccepted(BaseModel):
    ticket_id: str
    event_id: str


def rule_errors(
    update: UpdateIn, policy: Policy, now: datetime | None = None
) -> list[dict[str, str]]:
    """The cross-field problems of ``update``, one entry per field (``pointer``, ``detail``):
    each action's own fields, required or allowed, and their values against the policy (and,
    given ``now``, a meeting scheduled in the past)."""
    required, optional = FIELDS.get(update.action, ((), ()))
    errors = []
    for name in required:
        if getattr(update, name) is None:
            errors.append({"pointer": f"#/{name}", "detail": f"{update.action} 需要 {name}"})
    for name in EXTRA:
        if getattr(update, name) is not None and name not in required + optional:
            allowed = [a for a, (r, o) in FIELDS.items() if name in r + o]
            errors.append(
                {
                    "pointer": f"#/{name}",
                    "detail": f"{name} 只能与 action={'/'.join(allowed)} 一起提交",
                }
            )
    if update.action == "reclassify" and update.tier is None and update.category is None:
        errors.append({"pointer": "#/tier", "detail": "reclassify 需要 tier 或 category"})
    if update.at is not None and now is not None and update.at <= now:
        errors.append({"pointer": "#/at", "detail": "恳谈会时间必须晚于现在"})
    if update.action == "whistle" and (update.department is None) == (update.member is None):
        errors.append(
            {"pointer": "#/department", "detail": "whistle 需要 department 或 member(二选一)"}
        )
    return errors + _value_errors(update, policy)


def _value_errors(update: UpdateIn, policy: Policy) -> list[dict[str, str]]:
    """Values the policy does not know: a department, a reason, a category, a unit."""
    errors = []

    def unknown(name: str, known: Mapping[str, str]) -> None:
        shown = ", ".join(f"{k}({v})" for k, v in list(known.items())[:20])
        errors.append({"pointer": f"#/{name}", "detail": f"未知 {name};可选: {shown}"})

    departments = {d.id: d.name for d in policy.departments}
    if update.department is not None and department_id(update.department, departments) is None:
        unknown("department", departments)
    if update.handoff is not None and department_id(update.handoff, departments) is None:
        unknown("handoff", departments)
    if update.member is not None and update.member not in grid_of(policy).members:
        members = {m: f"{c} {p.org or p.name}" for m, (c, p) in grid_of(policy).members.items()}
        unknown("member", members)
    lifecycle = policy.lifecycle
    if update.reason_code is not None:
        reasons = (
            lifecycle.reject_reasons if update.action == "reject" else lifecycle.invalid_reasons
        )
        if update.reason_code not in reasons:
            unknown("reason_code", reasons)
    if update.category is not None and update.category not in policy.category_by_code:
        unknown("category", {c.code: c.name for c in policy.categories})
    if update.to is not None and not assignable(update.to, policy):
        errors.append(
            {
                "pointer": "#/to",
                "detail": "未知单位:填网格单元编号、部门编号(DEP-…)或社区恳谈会(…:convener)",
            }
        )
    return errors


def department_id(text: str, departments: Mapping[str, str]) -> str | None:
    if text in departments:
        return text
    return next((k for k, name in departments.items() if text in (name,)), None)


def update_cause(ticket_id: str, caller: str, request_key: str) -> str:
    """The cause of an update: the same ``Idempotency-Key`` for the same ticket and caller is
    the same cause, hence the same event id."""
    return f"urn:dispatch:update:{ticket_id}:{caller}:{request_key}"[:256]


def update_event(
    ticket_id: str,
    update: UpdateIn,
    caller: Principal,
    cause: str,
    correlationid: str,
    policy: Policy,
    now: datetime,
) -> Update:
    """The event for ``update`` (checked with ``rule_errors`` first), naming its caller."""
    origin = caller.name if caller.kind == "source" else caller.kind
    envelope = {
        "id": derive_id(cause, "update"),
        "source": f"/dispatch/intake/{origin}",
        "time": now,
        "subject": ticket_id,
        "causationid": cause,
        "correlationid": correlationid,
    }
    fields: dict[str, Any] = {
        "ticket_id": ticket_id,
        "actor": update.actor,
        "note": update.note,
        "principal": caller,
    }
    required, optional = FIELDS.get(update.action, ((), ()))
    for name in required + optional:
        if name != "note" and getattr(update, name) is not None:
            fields[name] = getattr(update, name)
    if update.action == "whistle" and update.department is not None:
        departments = {d.id: d.name for d in policy.departments}
        fields["department"] = department_id(update.department or "", departments)
    if update.action == "hold" and update.handoff is not None:
        departments = {d.id: d.name for d in policy.departments}
        fields["handoff"] = department_id(update.handoff, departments)
    kind = KINDS[update.action]
    return kind(**envelope, data=data_type(kind).model_validate(fields))
