"""A ticket's state: a fold (``apply``) over the events of a ticket, inputs and decisions alike."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dispatch.schemas.envelope import CloudEvent
from dispatch.schemas.events import (
    Assignee,
    Level,
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    Tier,
)

Status = Literal["received", "assigned", "claimed", "resolved", "closed"]


class Ticket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_id: str
    correlationid: str
    policyversion: str
    received_at: datetime
    status: Status = "received"
    tier: Tier | None = None
    emergency: bool = False
    category: str | None = None
    unit_id: str | None = None
    level: Level | None = None
    assignee: Assignee | None = None
    claim_by: datetime | None = None
    resolve_by: datetime | None = None
    attempt: int = 0
    applied: tuple[str, ...] = ()

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied


@singledispatch
def _mutate(event: CloudEvent, ticket: Ticket) -> Ticket:
    return ticket


@_mutate.register
def _(event: TicketClassified, ticket: Ticket) -> Ticket:
    d = event.data
    return ticket.model_copy(
        update={
            "tier": d.tier,
            "emergency": d.emergency,
            "category": d.category,
            "unit_id": d.unit.id,
        }
    )


@_mutate.register
def _(event: TicketAssigned, ticket: Ticket) -> Ticket:
    d = event.data
    return ticket.model_copy(
        update={
            "status": "assigned",
            "level": d.level,
            "assignee": d.assignee,
            "claim_by": d.claim_by,
            "resolve_by": d.resolve_by,
            "attempt": d.attempt,
        }
    )


def start(event: RequestReceived, policyversion: str) -> Ticket:
    return Ticket(
        ticket_id=event.data.ticket_id,
        correlationid=event.correlationid,
        policyversion=policyversion,
        received_at=event.data.received_at,
        applied=(event.id,),
    )


def apply(ticket: Ticket, event: CloudEvent, *, is_input: bool = False) -> Ticket:
    """The ticket after ``event``; inputs are remembered so a redelivery changes nothing."""
    after = _mutate(event, ticket)
    if is_input and not after.has_applied(event.id):
        after = after.model_copy(update={"applied": (*after.applied, event.id)})
    return after
