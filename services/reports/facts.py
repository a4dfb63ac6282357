"""Per-ticket facts folded from the recorded events: requests, decisions and updates (pure).

The fold takes events in any order (topics are read unevenly): each fact is the earliest or
latest of its kind by event time, so the result does not depend on the order of reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import Any

from schemas.envelope import CloudEvent
from schemas.events import (
    RequestReceived,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketFeedback,
    TicketReportedIn,
    TicketSummoned,
)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the reports need of one ticket."""

    ticket_id: str
    received_at: datetime
    category: str
    category_name: str
    place: str | None
    """The grid unit the router located the ticket to (``classified.unit``)."""
    assignee: str | None
    """The first assignment's assignee id (a grid unit, department, convener, command center)."""
    assignee_kind: str | None
    claim_by: datetime | None
    """The first assignment's claim deadline."""
    claimed_at: datetime | None
    """The earliest claim."""
    feedback: bool
    solved: bool | None
    """The latest feedback's ``solved`` (None: that feedback did not say)."""
    satisfaction: int | None
    """The latest feedback's satisfaction."""
    invalid: bool
    repeat: bool
    """Closed as merged into an open ticket: a repeat report (多次反映)."""
    adopted: bool = False
    """解忧超市: the first assignment was an adoption from the shelf (认领/认购)."""
    summons: tuple[tuple[str, datetime, datetime | None], ...] = ()
    """吹哨报到: each committee member whistled in, by when it had to report in, and when it
    first did (None: never)."""

    @property
    def responded(self) -> bool:
        """Claimed by the first assignment's ``claim_by``."""
        return (
            self.claimed_at is not None
            and self.claim_by is not None
            and self.claimed_at <= self.claim_by
        )


@dataclass(slots=True)
class _Pieces:
    received_at: datetime | None = None
    category: str | None = None
    classified: tuple[datetime, str, str, str] | None = None
    """(time, category, category name, unit id) of the earliest classification."""
    assigned: tuple[datetime, str, str, datetime, str | None] | None = None
    """(time, assignee id, assignee kind, claim_by, reason) of the earliest assignment."""
    claimed_at: datetime | None = None
    feedback: tuple[datetime, bool | None, int] | None = None
    """(time, solved, satisfaction) of the latest feedback."""
    invalid: bool = False
    repeat: bool = False
    summons: dict[str, datetime] | None = None
    """member → the report-by of its earliest summons (None until the first: most tickets
    never have one, and a year of tickets is held)"""
    reports: dict[str, datetime] | None = None
    """reporting unit → its earliest report_in"""


WANTED = frozenset(
    {
        "dispatch.request.received",
        "dispatch.ticket.classified",
        "dispatch.ticket.assigned",
        "dispatch.ticket.claimed",
        "dispatch.ticket.feedback",
        "dispatch.ticket.closed",
        "dispatch.ticket.summoned",
        "dispatch.ticket.reported_in",
    }
)
"""The event types the facts rest on."""


@dataclass(slots=True)
class Ledger:
    """Accumulates events; ``facts()`` gives one ``TicketFacts`` per ticket with a request.

    ``add`` takes a decoded event (the console's live fold), ``add_json`` the event's JSON
    document as it lies in the log (a year of history without validating 150,000 models):
    both read the same fields into the same fold, ``_record``.
    """

    pieces: dict[str, _Pieces] = field(default_factory=dict)

    def add(self, event: CloudEvent) -> None:
        if event.type not in WANTED:
            return
        data = event.data  # type: ignore[attr-defined]
        if isinstance(event, RequestReceived):
            self._record(event.type, event.time, data.ticket_id, data.received_at, data.category)
        elif isinstance(event, TicketClassified):
            self._record(
                event.type, event.time, data.ticket_id,
                (data.category, data.category_name, data.unit.id),
            )  # fmt: skip
        elif isinstance(event, TicketAssigned):
            self._record(
                event.type, event.time, data.ticket_id,
                (data.assignee.id, data.assignee.kind, data.claim_by, data.reason),
            )  # fmt: skip
        elif isinstance(event, TicketSummoned):
            self._record(event.type, event.time, data.ticket_id, (data.member.id, data.report_by))
        elif isinstance(event, TicketReportedIn):
            unit = data.principal.unit if data.principal is not None else None
            self._record(event.type, event.time, data.ticket_id, unit)
        elif isinstance(event, TicketFeedback):
            self._record(event.type, event.time, data.ticket_id, (data.solved, data.satisfaction))
        elif isinstance(event, TicketClosed):
            self._record(event.type, event.time, data.ticket_id, data.outcome)
        elif isinstance(event, TicketClaimed):
            self._record(event.type, event.time, data.ticket_id, None)

    def add_json(self, doc: dict[str, Any]) -> None:
        """``doc`` is an event's JSON document (structured-mode CloudEvent)."""
        kind = doc.get("type")
        if kind not in WANTED:
            return
        time, data = _when(doc["time"]), doc["data"]
        if kind == "dispatch.request.received":
            self._record(
                kind, time, data["ticket_id"], _when(data["received_at"]), data.get("category")
            )
        elif kind == "dispatch.ticket.classified":
            self._record(
                kind, time, data["ticket_id"],
                (data["category"], data["category_name"], data["unit"]["id"]),
            )  # fmt: skip
        elif kind == "dispatch.ticket.assigned":
            who, why = data["assignee"], data.get("reason")
            self._record(
                kind, time, data["ticket_id"],
                (who["id"], who["kind"], _when(data["claim_by"]), why),
            )  # fmt: skip
        elif kind == "dispatch.ticket.summoned":
            called = (data["member"]["id"], _when(data["report_by"]))
            self._record(kind, time, data["ticket_id"], called)
        elif kind == "dispatch.ticket.reported_in":
            unit = (data.get("principal") or {}).get("unit")
            self._record(kind, time, data["ticket_id"], unit)
        elif kind == "dispatch.ticket.feedback":
            self._record(kind, time, data["ticket_id"], (data.get("solved"), data["satisfaction"]))
        elif kind == "dispatch.ticket.closed":
            self._record(kind, time, data["ticket_id"], data["outcome"])
        else:
            self._record(kind, time, data["ticket_id"], None)

    def _record(self, kind: str, time: datetime, ticket_id: str, *what: Any) -> None:
        p = self.pieces.setdefault(ticket_id, _Pieces())
        value = what[0]
        if kind == "dispatch.request.received":
            if p.received_at is None:
                category = what[1]
                p.received_at = value
                p.category = intern(category) if category is not None else None
        elif kind == "dispatch.ticket.classified":
            if p.classified is None or time < p.classified[0]:
                category, name, unit = value
                p.classified = (time, intern(category), intern(name), intern(unit))
        elif kind == "dispatch.ticket.assigned":
            if p.assigned is None or time < p.assigned[0]:
                who, kind_of, claim_by, why = value
                p.assigned = (time, intern(who), intern(kind_of), claim_by, why)
        elif kind == "dispatch.ticket.claimed":
            p.claimed_at = time if p.claimed_at is None else min(p.claimed_at, time)
        elif kind == "dispatch.ticket.feedback":
            if p.feedback is None or time >= p.feedback[0]:
                p.feedback = (time, *value)
        elif kind == "dispatch.ticket.summoned":
            member, report_by = value
            summons = p.summons if p.summons is not None else {}
            p.summons = summons
            if member not in summons or report_by < summons[member]:
                summons[member] = report_by
        elif kind == "dispatch.ticket.reported_in":
            reports = p.reports if p.reports is not None else {}
            if value is not None and (value not in reports or time < reports[value]):
                reports[value] = time
                p.reports = reports
        elif value == "invalid":
            p.invalid = True
        elif value == "merged":
            p.repeat = True

    def extend(self, events: Iterable[CloudEvent]) -> Ledger:
        for event in events:
            self.add(event)
        return self

    def facts(self) -> list[TicketFacts]:
        return [
            _facts(ticket_id, p)
            for ticket_id, p in self.pieces.items()
            if p.received_at is not None
        ]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _facts(ticket_id: str, p: _Pieces) -> TicketFacts:
    assert p.received_at is not None
    classified, assigned, feedback = p.classified, p.assigned, p.feedback
    category = classified[1] if classified else (p.category or "other")
    return TicketFacts(
        ticket_id=ticket_id,
        received_at=p.received_at,
        category=category,
        category_name=classified[2] if classified else category,
        place=classified[3] if classified else None,
        assignee=assigned[1] if assigned else None,
        assignee_kind=assigned[2] if assigned else None,
        claim_by=assigned[3] if assigned else None,
        claimed_at=p.claimed_at,
        feedback=feedback is not None,
        solved=feedback[1] if feedback else None,
        satisfaction=feedback[2] if feedback else None,
        invalid=p.invalid,
        repeat=p.repeat,
        adopted=assigned is not None and assigned[4] == "adopted",
        summons=tuple(
            (member, report_by, (p.reports or {}).get(member))
            for member, report_by in sorted((p.summons or {}).items())
        ),
    )
