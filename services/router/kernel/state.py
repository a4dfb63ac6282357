"""A ticket's state: a fold (``apply``) over the events of a ticket, inputs and decisions alike."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.envelope import CloudEvent
from schemas.events import (
    Assignee,
    ClassifiedData,
    Level,
    RequestReceived,
    Resolution,
    ReviewKind,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketFeedback,
    TicketMeetingHeld,
    TicketMeetingScheduled,
    TicketReminded,
    TicketReportedIn,
    TicketResolved,
    TicketReviewed,
    TicketReviewRequested,
    TicketShelved,
    TicketSummoned,
    Tier,
    VolunteerKind,
)
from services.router.kernel.places import place_key

Status = Literal["received", "shelved", "assigned", "claimed", "resolved", "closed"]
OPEN: frozenset[str] = frozenset({"assigned", "claimed"})


class Pending(BaseModel):
    """A reject or an extension waiting for the centre's approve or refuse."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str
    kind: ReviewKind
    at: datetime
    reason_code: str | None = None
    resolve_by: datetime | None = None


class Summons(BaseModel):
    """A committee member whistled in (吹哨报到) who has not reported in yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    member: str
    report_by: datetime
    whistle: str


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
    resolution: Resolution | None = None
    department: str | None = None
    unit_id: str | None = None
    place: str | None = None
    point: tuple[float, float] | None = None
    building: str | None = None
    """the building its address names (a reclassified ticket's place key is made again)"""
    repeat_raised_at: datetime | None = None
    level: Level | None = None
    assignee: Assignee | None = None
    claim_by: datetime | None = None
    resolve_by: datetime | None = None
    promised_by: datetime | None = None
    attempt: int = 0
    window_from: datetime | None = None
    """when the current claim and resolve windows opened (the latest assignment)"""
    rejects: int = 0
    extensions: int = 0
    pending: tuple[Pending, ...] = ()
    summons: tuple[Summons, ...] = ()
    """committee members whistled in who have not reported in (吹哨报到)"""
    meeting_at: datetime | None = None
    """the 近邻恳谈会 scheduled and not held yet"""
    shelved_until: datetime | None = None
    """解忧超市: on the shelf until then"""
    volunteer: tuple[str, VolunteerKind] | None = None
    """五闪: the volunteer who reported it, and what it did (points once resolved)"""
    reminded: tuple[str, ...] = ()
    """the automatic reminders sent for the current windows (``claim:2``, ``resolve:2:0``)"""
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

    def pending_request(self, request: str) -> Pending | None:
        return next((p for p in self.pending if p.request == request), None)

    def pending_of(self, kind: str) -> Pending | None:
        return next((p for p in self.pending if p.kind == kind), None)

    @property
    def is_open(self) -> bool:
        """Someone must still act on it (claim or resolve)."""
        return self.status in OPEN


def classified_place(d: ClassifiedData) -> str | None:
    """The place key a classification gives its ticket: its own since repeats.py (None: no
    place); a decision recorded before that keys by unit and category."""
    if "place" in d.model_fields_set:
        return d.place
    return place_key(d.unit.id, d.unit.level, d.category)


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
            "resolution": d.resolution,
            "department": d.department,
            "unit_id": d.unit.id,
            "place": classified_place(d),
            "point": d.point,
            "building": d.building,
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
            "window_from": event.time,
            "claimed_at": None,
            "resolved_at": None,
            "closed_at": None,
            "satisfaction": None,
            "merged_into": None,
            "pending": (),
            "reminded": (),
            "meeting_at": None,
            "shelved_until": None,
        }
    )


@_mutate.register
def _(event: TicketShelved, ticket: Ticket) -> Ticket:
    return ticket.model_copy(
        update={
            "status": "shelved",
            "summary": event.data.summary,
            "shelved_until": event.data.until,
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
            "window_from": event.time,
            "claimed_at": None,
            "rejects": ticket.rejects + 1 if d.reason == "rejected" else ticket.rejects,
            "pending": (),
            "reminded": (),
            "meeting_at": None,
            "repeat_raised_at": event.time
            if d.reason == "repeat_report"
            else ticket.repeat_raised_at,
            # a whistle nobody answered in time has gone over the head of the one who whistled
            "summons": tuple(s for s in ticket.summons if s.report_by > event.time)
            if d.reason == "whistle"
            else ticket.summons,
        }
    )


@_mutate.register
def _(event: TicketClosed, ticket: Ticket) -> Ticket:
    return ticket.model_copy(
        update={
            "status": "closed",
            "closed_at": event.time,
            "merged_into": event.data.merged_into,
            "pending": (),
            "summons": (),
            "meeting_at": None,
        }
    )


@_mutate.register
def _(event: TicketClaimed, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"status": "claimed", "claimed_at": event.time})


@_mutate.register
def _(event: TicketSummoned, ticket: Ticket) -> Ticket:
    d = event.data
    called = Summons(member=d.member.id, report_by=d.report_by, whistle=d.whistle)
    return ticket.model_copy(update={"summons": (*ticket.summons, called)})


@_mutate.register
def _(event: TicketReportedIn, ticket: Ticket) -> Ticket:
    """A member reported in: its summons is answered. The department whistled in (now the
    assignee) reporting in takes the ticket on: its report is its claim."""
    unit = event.data.principal.unit if event.data.principal is not None else None
    left = tuple(s for s in ticket.summons if s.member != unit)
    if len(left) < len(ticket.summons):
        return ticket.model_copy(update={"summons": left})
    return ticket.model_copy(
        update={"status": "claimed", "claimed_at": event.time, "summons": left}
    )


@_mutate.register
def _(event: TicketReviewRequested, ticket: Ticket) -> Ticket:
    d = event.data
    asked = Pending(
        request=d.request,
        kind=d.kind,
        at=event.time,
        reason_code=d.reason_code,
        resolve_by=d.resolve_by,
    )
    return ticket.model_copy(update={"pending": (*ticket.pending, asked)})


@_mutate.register
def _(event: TicketReviewed, ticket: Ticket) -> Ticket:
    left = tuple(p for p in ticket.pending if p.request != event.data.request)
    return ticket.model_copy(update={"pending": left})


@_mutate.register
def _(event: TicketDeadlineChanged, ticket: Ticket) -> Ticket:
    return ticket.model_copy(
        update={
            "resolve_by": event.data.resolve_by,
            "promised_by": event.data.resolve_by,
            "extensions": ticket.extensions + 1,
        }
    )


@_mutate.register
def _(event: TicketReminded, ticket: Ticket) -> Ticket:
    if event.data.reason == "remind":
        return ticket
    key = reminder_key(ticket, event.data.reason)
    return ticket.model_copy(update={"reminded": (*ticket.reminded, key)})


def reminder_key(ticket: Ticket, reason: str) -> str:
    """Which window an automatic reminder is for: one per claim window, one per resolve
    window (an approved extension opens a new one)."""
    if reason == "claim_due":
        return f"claim:{ticket.attempt}"
    return f"resolve:{ticket.attempt}:{ticket.extensions}"


@_mutate.register
def _(event: TicketResolved, ticket: Ticket) -> Ticket:
    # a reject or an extension awaiting review lapses: the handler finished the work
    return ticket.model_copy(
        update={"status": "resolved", "resolved_at": event.time, "pending": (), "summons": ()}
    )


@_mutate.register
def _(event: TicketMeetingScheduled, ticket: Ticket) -> Ticket:
    """The convener has taken the ticket on: scheduling is its claim."""
    claimed_at = ticket.claimed_at if ticket.status == "claimed" else event.time
    return ticket.model_copy(
        update={"status": "claimed", "claimed_at": claimed_at, "meeting_at": event.data.at}
    )


@_mutate.register
def _(event: TicketMeetingHeld, ticket: Ticket) -> Ticket:
    """Agreed, with no handoff: settled, resolved at the meeting's record. Otherwise the
    assignment that passes it on (a decision) moves it."""
    if event.data.outcome == "agreed" and event.data.handoff is None:
        return ticket.model_copy(
            update={
                "status": "resolved",
                "resolved_at": event.time,
                "pending": (),
                "summons": (),
                "meeting_at": None,
            }
        )
    return ticket.model_copy(update={"meeting_at": None})


@_mutate.register
def _(event: TicketFeedback, ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"satisfaction": event.data.satisfaction})


def start(event: RequestReceived, policyversion: str) -> Ticket:
    d = event.data
    return Ticket(
        ticket_id=event.data.ticket_id,
        correlationid=event.correlationid,
        policyversion=policyversion,
        received_at=event.data.received_at,
        volunteer=(d.volunteer_id, d.kind) if d.volunteer_id and d.kind else None,
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
