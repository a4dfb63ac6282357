"""Every ticket the console can show, folded from the topics it follows (pure: no I/O).

Bounded: every open ticket is kept, plus the most recent ``keep_closed`` closed ones (and as
many tickets known only from a stray update or dead letter); each timeline keeps its latest
``keep_lines`` lines. Redeliveries are recognised by event id within the ticket.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.envelope import CloudEvent
from schemas.events import (
    InputRejected,
    NotificationFailed,
    NotificationSent,
    RequestReceived,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TicketReviewed,
    TicketReviewRequested,
    TicketShelved,
)
from schemas.words import watch
from services.common.privacy import mask_text
from services.console.timeline import Line, line
from services.console.trends import Trends

KEEP_CLOSED = 2000
KEEP_LINES = 300
ASSIGNMENTS = (TicketAssigned, TicketEscalated)
MOVES = {
    "dispatch.ticket.claimed": "claimed",
    "dispatch.ticket.resolved": "resolved",
    "dispatch.ticket.reopened": "reopened",
}
"""a handler's move that changes the status by itself (a 退单 does not: the router's escalation
does, or under review the centre's approval)"""


@dataclass
class Ticket:
    ticket_id: str
    source: str = ""
    description: str = ""  # masked
    address: str = ""  # masked
    received_at: datetime | None = None
    category_name: str = ""
    tier: str = ""
    emergency: bool = False
    unit_id: str = ""  # where the request was placed on the grid
    unit_name: str = ""
    assignee_id: str = ""
    assignee: str = ""
    level: str = ""
    claim_by: datetime | None = None
    resolve_by: datetime | None = None
    assigned_at: datetime | None = None
    status: str = "received"  # received, classified, assigned, escalated, claimed, resolved, …
    pending: str = ""  # a 退单 or 延期 awaiting the centre's review: its event id
    outcome: str = ""  # closed: resolved, merged, invalid
    shelf: str = ""  # 解忧超市: the resolution type it was shelved under (government, market …)
    shelf_until: datetime | None = None  # unadopted by then, it is assigned to its place
    adopted_at: datetime | None = None  # taken off the shelf by an adopter (认领)
    move: tuple[datetime, str, str] | None = None  # the handler's latest: time, status, id
    units: set[str] = field(default_factory=set)  # every unit it was placed at or assigned to
    lines: list[Line] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    @property
    def closed(self) -> bool:
        return bool(self.outcome)

    @property
    def known(self) -> bool:
        """Its request was read (not only a stray update or dead letter about it)."""
        return self.received_at is not None

    def deadline(self) -> datetime | None:
        if self.closed or self.status in ("received", "classified", "resolved"):
            return None
        return self.claim_by if self.status in ("assigned", "escalated") else self.resolve_by

    def watch(self, now: datetime, warn: timedelta = timedelta(hours=1)) -> str:
        return watch(self.deadline(), now, warn)

    def summary(self, width: int = 60) -> str:
        return self.description[:width] + ("…" if len(self.description) > width else "")


@dataclass
class Tickets:
    keep_closed: int = KEEP_CLOSED
    keep_lines: int = KEEP_LINES
    by_id: dict[str, Ticket] = field(default_factory=dict)
    finished: OrderedDict[str, None] = field(default_factory=OrderedDict)  # closed, oldest first
    strays: OrderedDict[str, None] = field(default_factory=OrderedDict)  # no request read (yet)
    trends: Trends = field(default_factory=Trends)

    def fold(self, event: CloudEvent) -> bool:
        """Apply ``event`` to its ticket once; True when it was new."""
        ticket_id = getattr(getattr(event, "data", None), "ticket_id", None) or event.subject
        ticket = self.by_id.get(ticket_id)
        if ticket is None:
            ticket = self.by_id[ticket_id] = Ticket(ticket_id)
        if event.id in ticket.ids:
            return False
        ticket.ids.add(event.id)
        self._apply(ticket, event)
        shown = line(event)
        if shown is not None:
            ticket.lines.append(shown)
            ticket.lines.sort(key=lambda x: x.time)
            del ticket.lines[: -self.keep_lines]
        self._file(ticket)
        return True

    def _file(self, ticket: Ticket) -> None:
        """Open tickets are always kept; closed ones and strays only the latest of each."""
        self.finished.pop(ticket.ticket_id, None)
        self.strays.pop(ticket.ticket_id, None)
        if ticket.closed:
            self._keep(self.finished, ticket.ticket_id)
        elif not ticket.known:
            self._keep(self.strays, ticket.ticket_id)

    def _keep(self, latest: OrderedDict[str, None], ticket_id: str) -> None:
        latest[ticket_id] = None
        while len(latest) > self.keep_closed:
            oldest, _ = latest.popitem(last=False)
            self.by_id.pop(oldest, None)

    def _apply(self, t: Ticket, event: CloudEvent) -> None:
        if isinstance(event, RequestReceived):
            d = event.data
            t.source, t.received_at = d.source, d.received_at
            t.description = mask_text(d.description)
            loc = d.location
            t.address = mask_text((loc.address or loc.community or "") if loc else "")
            self.trends.received(d.received_at, d.source)
        elif isinstance(event, TicketClassified):
            c = event.data
            t.category_name, t.tier, t.emergency = c.category_name, c.tier, c.emergency
            t.unit_id, t.unit_name = c.unit.id, c.unit.name
            t.units.add(c.unit.id)
            t.status = _later(t.status, "classified")
            self.trends.classified(t.received_at or event.time, c.tier, t.ticket_id)
        elif isinstance(event, ASSIGNMENTS):
            self._assign(t, event)
        elif isinstance(event, TicketClaimed | TicketResolved | TicketReopened):
            if t.move is None or t.move[0] <= event.time:
                t.move = (event.time, MOVES[event.type], event.id)
            self._settle(t)
        elif isinstance(event, TicketReviewRequested):
            if t.assigned_at is None or t.assigned_at <= event.time:
                t.pending = event.data.request
        elif isinstance(event, TicketReviewed):
            if t.pending == event.data.request:
                t.pending = ""
        elif isinstance(event, TicketDeadlineChanged):
            t.resolve_by = event.data.resolve_by
        elif isinstance(event, TicketShelved):
            t.shelf, t.shelf_until = event.data.resolution, event.data.until
            t.unit_id, t.unit_name = event.data.unit.id, event.data.unit.name
            if t.assigned_at is None and not t.closed:  # an adoption read first stands
                t.status = "shelved"
        elif isinstance(event, TicketClosed):
            t.outcome, t.status, t.pending = event.data.outcome, "closed", ""
        elif isinstance(event, NotificationSent | NotificationFailed | InputRejected):
            pass  # timeline lines only

    def _assign(self, t: Ticket, event: TicketAssigned | TicketEscalated) -> None:
        if t.assigned_at is not None and event.time < t.assigned_at:
            return  # an older assignment read late: the newer one stands
        d = event.data
        t.assignee_id, t.assignee = d.assignee.id, d.assignee.name
        t.level = event.data.level if isinstance(event, TicketAssigned) else event.data.to_level
        t.claim_by, t.resolve_by, t.assigned_at = d.claim_by, d.resolve_by, event.time
        t.units.add(d.assignee.id.removesuffix(":convener"))
        t.pending = ""
        if isinstance(event, TicketAssigned) and d.reason == "adopted":
            t.adopted_at = event.time
        if not t.closed:
            t.status = "assigned" if isinstance(event, TicketAssigned) else "escalated"
        self._settle(t)

    def _settle(self, t: Ticket) -> None:
        """The handler's latest move applies when it came after the assignment it answers
        (topics are read unevenly: a claim may be folded before its assignment)."""
        if t.move is None or t.closed or (t.assigned_at and t.move[0] < t.assigned_at):
            return
        t.status = t.move[1]
        if t.move[1] == "resolved":
            t.pending = ""

    def get(self, ticket_id: str) -> Ticket | None:
        found = self.by_id.get(ticket_id)
        return found if found is not None and (found.known or found.lines) else None

    def all(self) -> list[Ticket]:
        """Known tickets, newest first."""
        known = [t for t in self.by_id.values() if t.known]
        known.sort(key=lambda t: t.received_at or t.lines[0].time, reverse=True)
        return known

    def shelved(self) -> list[Ticket]:
        """解忧超市: the worries on the shelf, oldest first."""
        found = [t for t in self.by_id.values() if t.known and t.status == "shelved"]
        found.sort(key=lambda t: (t.received_at or t.lines[0].time, t.ticket_id))
        return found

    def adopted(self, limit: int) -> list[Ticket]:
        """The latest worries adopted off the shelf, newest first."""
        found = [(t.adopted_at, t) for t in self.by_id.values() if t.known and t.adopted_at]
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [t for _, t in found[:limit]]

    def open(self) -> list[Ticket]:
        return [t for t in self.by_id.values() if t.known and not t.closed]


ORDER = ("received", "classified", "assigned")


def _later(current: str, new: str) -> str:
    """A classification read after the assignment does not set the ticket back."""
    if current in ORDER and ORDER.index(current) < ORDER.index(new):
        return new
    return current
