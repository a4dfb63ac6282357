"""One line of a ticket's timeline per recorded event: what happened, when, by or to whom,
at which grid level, why; phone numbers masked (pure)."""

from __future__ import annotations

from typing import Any

from schemas.envelope import CloudEvent
from schemas.events import (
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketLinked,
    TicketWhistled,
    UpdateData,
)
from schemas.words import REASON_NAMES, SOURCE_NAMES
from services.common.identity import label
from services.common.privacy import mask_text
from services.router.kernel.emit import summarise

__all__ = ["entry", "summarise"]


def _short(kind: str) -> str:
    """``dispatch.ticket.claimed`` → ``claimed``; ``dispatch.request.received`` → ``received``."""
    return kind.rsplit(".", 1)[-1]


def entry(event: CloudEvent, refused: str | None, ticket_id: str) -> dict[str, Any]:
    """The timeline line of ``event`` (``refused``: the router's dead-letter reason)."""
    line: dict[str, Any] = {"type": _short(event.type), "time": event.time, "id": event.id}
    line.update(_details(event, ticket_id))
    if refused is not None:
        line["refused"] = mask_text(refused)
    return {key: value for key, value in line.items() if value is not None}


def _details(event: CloudEvent, ticket_id: str) -> dict[str, Any]:
    if isinstance(event, RequestReceived):
        source = event.data.source
        return {"actor": SOURCE_NAMES.get(source, source), "summary": _masked(event)}
    if isinstance(event, TicketClassified):
        d = event.data
        return {"tier": d.tier, "category": d.category, "emergency": d.emergency, "rule": d.rule}
    if isinstance(event, TicketAssigned):
        a = event.data
        return {
            "assignee": a.assignee.name,
            "assignee_id": a.assignee.id,
            "level": a.level,
            "claim_by": a.claim_by,
            "resolve_by": a.resolve_by,
            "attempt": a.attempt,
            "rule": a.rule,
        }
    if isinstance(event, TicketEscalated):
        e = event.data
        return {
            "assignee": e.assignee.name,
            "assignee_id": e.assignee.id,
            "from_level": e.from_level,
            "level": e.to_level,
            "reason": e.reason,
            "reason_name": REASON_NAMES.get(e.reason),
            "claim_by": e.claim_by,
            "resolve_by": e.resolve_by,
            "attempt": e.attempt,
        }
    if isinstance(event, TicketClosed):
        c = event.data
        return {
            "outcome": c.outcome,
            "on_time": c.on_time,
            "satisfaction": c.satisfaction,
            "merged_into": c.merged_into,
        }
    if isinstance(event, TicketLinked):
        return {"repeat": event.data.repeat, "summary": mask_text(event.data.summary)}
    data = getattr(event, "data", None)
    if isinstance(data, UpdateData):
        line: dict[str, Any] = {
            "actor": mask_text(data.actor),
            # who the intake authenticated (v2): the credential, not the free-text actor
            "by": mask_text(label(data.principal)) if data.principal is not None else None,
            "note": mask_text(data.note) if data.note else None,
        }
        if isinstance(event, TicketFeedback):
            line["satisfaction"] = event.data.satisfaction
        if isinstance(event, TicketWhistled):
            line["department"] = event.data.department
        return line
    return {"note": f"{event.type} for {ticket_id}"}


def _masked(event: RequestReceived) -> str:
    return mask_text(summarise(event.data.description))
