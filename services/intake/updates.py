"""Handlers' and reporters' updates to a ticket (``POST /v1/tickets/{ticket_id}/updates``):
the body, its cross-field rules, and the event it becomes. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import derive_id
from schemas.events import (
    FeedbackData,
    Principal,
    TicketClaimed,
    TicketFeedback,
    TicketRejected,
    TicketReopened,
    TicketResolved,
    TicketWhistled,
    Update,
    UpdateData,
    WhistleData,
)
from services.intake.models import refuse_surrogates

Action = Literal["claim", "reject", "resolve", "feedback", "reopen", "whistle"]
EVENT_TYPE: dict[str, str] = {
    "claim": "dispatch.ticket.claimed",
    "reject": "dispatch.ticket.rejected",
    "resolve": "dispatch.ticket.resolved",
    "feedback": "dispatch.ticket.feedback",
    "reopen": "dispatch.ticket.reopened",
    "whistle": "dispatch.ticket.whistled",
}


class UpdateIn(BaseModel):
    """``satisfaction`` (1-5) comes with ``feedback`` only, and ``feedback`` needs it;
    ``department`` (吹哨报到: the department called in) comes with ``whistle`` only."""

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
            ]
        },
    )

    action: Action = Field(
        description="claim 签收, reject 退单, resolve 办结, feedback 回访评价, "
        "reopen 重新办理, whistle 吹哨报到"
    )
    actor: str = Field(min_length=1, max_length=100, description="谁:姓名或岗位")
    note: str | None = Field(default=None, max_length=2000, description="说明")
    satisfaction: int | None = Field(default=None, ge=1, le=5, description="满意度 1-5")
    solved: bool | None = Field(default=None, description="回访:是否解决(feedback only)")
    contacted: bool | None = Field(default=None, description="回访:是否联系(feedback only)")
    department: str | None = Field(
        default=None, min_length=1, max_length=100, description="吹哨报到的部门(编号或名称)"
    )

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return refuse_surrogates(data)


class UpdateAccepted(BaseModel):
    ticket_id: str
    event_id: str


def rule_errors(update: UpdateIn, departments: Mapping[str, str]) -> list[dict[str, str]]:
    """The cross-field problems of ``update``, one entry per field (``pointer``, ``detail``).

    ``departments`` maps department id → name (the policy's)."""
    errors = []
    if update.action == "feedback" and update.satisfaction is None:
        errors.append({"pointer": "#/satisfaction", "detail": "feedback 需要 satisfaction (1-5)"})
    if update.action != "feedback" and update.satisfaction is not None:
        errors.append(
            {"pointer": "#/satisfaction", "detail": "satisfaction 只能与 action=feedback 一起提交"}
        )
    for name in ("solved", "contacted"):
        if update.action != "feedback" and getattr(update, name) is not None:
            errors.append(
                {"pointer": f"#/{name}", "detail": f"{name} 只能与 action=feedback 一起提交"}
            )
    if update.action == "whistle":
        if update.department is None:
            errors.append({"pointer": "#/department", "detail": "whistle 需要 department"})
        elif department_id(update.department, departments) is None:
            known = ", ".join(f"{k}({v})" for k, v in departments.items())
            errors.append({"pointer": "#/department", "detail": f"未知部门;可选: {known}"})
    elif update.department is not None:
        errors.append(
            {"pointer": "#/department", "detail": "department 只能与 action=whistle 一起提交"}
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
    departments: Mapping[str, str],
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
    base = {
        "ticket_id": ticket_id,
        "actor": update.actor,
        "note": update.note,
        "principal": caller,
    }
    if update.action == "feedback":
        assert update.satisfaction is not None
        return TicketFeedback(
            **envelope,
            data=FeedbackData(
                **base,
                satisfaction=update.satisfaction,
                solved=update.solved,
                contacted=update.contacted,
            ),
        )
    if update.action == "whistle":
        department = department_id(update.department or "", departments)
        assert department is not None
        return TicketWhistled(**envelope, data=WhistleData(**base, department=department))
    data = UpdateData(**base)
    if update.action == "claim":
        return TicketClaimed(**envelope, data=data)
    if update.action == "reject":
        return TicketRejected(**envelope, data=data)
    if update.action == "resolve":
        return TicketResolved(**envelope, data=data)
    return TicketReopened(**envelope, data=data)
