"""A ticket's state: a fold (``apply``) over the events of a ticket, inputs and decisions alike."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.envelope import CloudEvent
from schemas.events import (
    Assignee,
    Level,
    RequestReceived,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketRejected,
    TicketResolved,
    Tier,
)
from services.router.kernel.places import place_key

Status = Literal["received", "assigned", "claimed", "resolved", "closed"]
OPEN: frozenset[str] = frozenset({"assigned", "claimed"})


class Ticket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_id: str
    correlationid: str
    policyversion: str
    received_at: datetime
    status: Status = "received"
    summary: str = ""
    tier: Tier | None = None
    emergency: bool = False
    category: str | None = None
    department: str | None = None
    unit_id: str | None = None
    place: str | None = None
    point: tuple[float, float] | None = None
    repeat_raised_at: datetime | None = None
    level: Level | None = None
    assignee: Assignee | None = None
    claim_by: datetime | None = None
    resolve_by: datetime | None = None
    promised_by: datetime | None = None
    attempt: int = 0
    rejects: int = 0
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    satisfaction: int | None = None
    merged_into: str | None = None
    version: int = 0
    applied: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    """(input id, reason) of the latest refusals (handle.MAX_REFUSED at most)"""

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied

    def has_refused(self, event_id: str) -> bool:
        return self.refusal_of(event_id) is not None

    def refusal_of(self, event_id: str) -> str | None:
        """Why the input ``event_id`` was refused, if it was (among the latest refusals)."""
        for refused_id, reason in self.refused:
            if refused_id == event_id:
                return reason
        return None

    @property
    def is_open(self) -> bool:
        """Someone must still act on it (claim or resolve)."""
        return self.status in OPEN


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
            "department": d.department,
            "unit_id": d.unit.id,
            # decisions since repeats.py carry their place; older ones keyed by unit+category
            "place": d.place
            if "place" in d.model_fields_set
            else place_key(d.unit.id, d.unit.level, d.category),
            "point": d.point,
        }
    )


@_mutate.register
def _(event: TicketAssigned, ticket: Ticket) -> Ticket:
    d = event.data
    return ticket.model_copy(
        update={
            "status": "assigned",
            "summary": d.summary,
            "tier": d.tier,
            "level": d.level,
            "assignee": d.assignee,
            "claim_by": d.claim_by,
            "resolve_by": d.resolve_by,
            "promised_by": d.resolve_by,
            "attempt": d.attempt,
            "claimed_at": None,
            "resolved_at": None,
            "closed_at": None,
            "satisfaction": None,
        }
    )


@_mutate.register
def _(event: TicketEscalated, ticket: Ticket) -> Ticket:
    d = event.data
    return ticket.model_copy(
        update={
            "status": "assigned",
            "level": d.to_level,
            "assignee": d.assignee,
            "claim_by": d.claim_by,
            "resolve_by": d.resolve_by,
            "attempt": d.attempt,
            "claimed_at": None,
            "repeat_raised_at": event.time
            if d.reason == "repeat_report"
            else ticket.repeat_raised_at,
        }
    )


@_mutate.register
def _(event: TicketClosed, ticket: Ticket) -> Ticket:
    return ticket.model_copy(
        update={"status": "closed", "closed_at": event.time, "merged_into": event.data.merged_into}
    )


@_mutate.register
def _(event: TicketClaimed, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"status": "claimed", "claimed_at": event.time})


@_mutate.register
def _(event: TicketRejected, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"rejects": ticket.rejects + 1})


@_mutate.register
def _(event: TicketResolved, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"status": "resolved", "resolved_at": event.time})


@_mutate.register
def _(event: TicketFeedback, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"satisfaction": event.data.satisfaction})


def start(event: RequestReceived, policyversion: str) -> Ticket:
    return Ticket(
        ticket_id=event.data.ticket_id,
        correlationid=event.correlationid,
        policyversion=policyversion,
        received_at=event.data.received_at,
    )


def apply(ticket: Ticket, event: CloudEvent, *, is_input: bool = False) -> Ticket:
    """The ticket after ``event``. Inputs are remembered (a redelivery changes nothing) and
    counted: ``version`` is the number of inputs folded in, recorded on every decision."""
    if not is_input:
        return _mutate(event, ticket)
    if ticket.has_applied(event.id):
        return ticket
    after = _mutate(event, ticket)
    return after.model_copy(
        update={"applied": (*after.applied, event.id), "version": after.version + 1}
    )
