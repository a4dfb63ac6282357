"""The figures operators watch, folded from the event streams (pure: no I/O)."""

from __future__ import annotations

import base64
import binascii
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.codec import EventDecodeError, decode
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
    TicketResolved,
    TicketReviewed,
    TicketReviewRequested,
)
from schemas.words import watch
from services.common.privacy import mask_text

RECENT = 200  # decisions kept for the live feed
SEEN = 200_000
"""Event ids remembered to recognise a redelivery: the latest ones (a redelivery comes soon
after, from a consumer resumed at its last commit), so memory stays bounded however long the
console runs."""


def refused_move(letter: InputRejected) -> str | None:
    """The id of the claim or resolution a router's dead letter refused, else None."""
    if letter.data.origin.service != "router":
        return None
    try:
        original = decode(base64.b64decode(letter.data.original, validate=True))
    except (EventDecodeError, binascii.Error, ValueError):
        return None
    if not isinstance(original, TicketClaimed | TicketResolved):
        return None
    return original.id if original.subject == letter.subject else None


@dataclass
class Open:
    """What the console needs of an open ticket: whose move it is, and by when."""

    ticket_id: str
    summary: str
    assignee: str
    level: str
    status: str  # assigned (must claim) or claimed (must resolve)
    claim_by: datetime
    resolve_by: datetime
    tier: str = ""
    emergency: bool = False
    since: datetime | None = None  # when it became this assignee's (the decision's time)

    def deadline(self) -> datetime:
        return self.claim_by if self.status == "assigned" else self.resolve_by


@dataclass(frozen=True)
class Decided:
    """One line of the decision feed: what the router decided for a ticket, and when."""

    time: datetime
    ticket_id: str
    kind: str  # assigned, escalated, closed
    tier: str
    emergency: bool
    assignee: str = ""
    level: str = ""
    reason: str = ""  # escalated: its reason; closed: resolved or merged
    claim_by: datetime | None = None
    resolve_by: datetime | None = None
    on_time: bool | None = None
    satisfaction: int | None = None


@dataclass
class Kpis:
    received: int = 0
    assigned: int = 0
    escalated: int = 0
    closed: int = 0
    closed_on_time: int = 0
    merged: int = 0
    notified: int = 0
    notify_failed: int = 0
    rejected_inputs: int = 0
    emergencies: int = 0
    by_tier: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    satisfaction: Counter[int] = field(default_factory=Counter)  # score: how many
    seen: set[str] = field(default_factory=set)
    seen_order: deque[str] = field(default_factory=deque)
    open: dict[str, Open] = field(default_factory=dict)
    tiers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # ticket: tier, emergency
    # ticket: the time and kind of its handler's latest move (claimed, resolved). Updates and
    # decisions are different topics, read in whatever order the fetches bring them: a claim
    # folded before the assignment it answers must still count once that assignment arrives.
    moves: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # Views show what happened: every move with its event id, the ids the router refused (its
    # dead letters), and the tickets a resolution took off the watch list, to put back when
    # the router refuses that resolution.
    history: dict[str, list[tuple[datetime, str, str]]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    refused_order: deque[str] = field(default_factory=deque)  # oldest first, capped at SEEN
    settled: dict[str, Open] = field(default_factory=dict)
    recent: deque[Decided] = field(default_factory=lambda: deque(maxlen=RECENT))
    # ticket: the rejects and extensions awaiting the centre's review (request id: asked at)
    reviews: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def fold(self, event: CloudEvent) -> bool:
        """Count ``event`` once (redeliveries are recognised by id); True when it counted."""
        if event.id in self.seen:
            return False
        self._remember(event.id)
        if isinstance(event, RequestReceived):
            self.received += 1
            self.by_source[event.data.source] += 1
        elif isinstance(event, TicketClassified):
            self.by_tier[event.data.tier] += 1
            self.emergencies += int(event.data.emergency)
            self.tiers[event.subject] = (event.data.tier, event.data.emergency)
        elif isinstance(event, TicketReviewRequested):
            self.reviews.setdefault(event.subject, {})[event.data.request] = event.time
        elif isinstance(event, TicketReviewed):
            self._reviewed(event.subject, lambda request, _: request == event.data.request)
        elif isinstance(event, TicketDeadlineChanged):
            held = self.open.get(event.subject)
            if held is not None:
                self.open[event.subject] = replace(held, resolve_by=event.data.resolve_by)
        elif isinstance(event, TicketAssigned):
            self.reviews.pop(event.subject, None)
            self.assigned += 1
            self.tiers.setdefault(event.subject, (event.data.tier, False))
            self._track(event)
        elif isinstance(event, TicketEscalated):
            self.reviews.pop(event.subject, None)
            self.escalated += 1
            self._track(event)
        elif isinstance(event, TicketClaimed | TicketResolved):
            kind = "claimed" if isinstance(event, TicketClaimed) else "resolved"
            self._move(event.subject, event.time, kind, event.id)
            if kind == "resolved":  # what awaited review lapses with the work done
                self._reviewed(event.subject, lambda _, at: at <= event.time)
        elif isinstance(event, TicketClosed):
            self.reviews.pop(event.subject, None)
            self.open.pop(event.subject, None)
            self.settled.pop(event.subject, None)
            self._note(event)
            # a closed ticket is counted: its per-ticket memory goes (a reopening's assignment
            # brings its tier again)
            self.tiers.pop(event.subject, None)
            self.moves.pop(event.subject, None)
            self.history.pop(event.subject, None)
            if event.data.outcome == "merged":
                self.merged += 1
                return True
            self.closed += 1
            self.closed_on_time += int(bool(event.data.on_time))
            if event.data.satisfaction is not None:
                self.satisfaction[event.data.satisfaction] += 1
        elif isinstance(event, NotificationSent):
            self.notified += 1
        elif isinstance(event, NotificationFailed):
            self.notify_failed += 1
        elif isinstance(event, InputRejected):
            self.rejected_inputs += 1
            refused = refused_move(event)
            if refused is not None:
                self._unmove(event.subject, refused)
        return True

    def _reviewed(self, ticket_id: str, judged: Callable[[str, datetime], bool]) -> None:
        waiting = self.reviews.get(ticket_id, {})
        for request in [r for r, at in waiting.items() if judged(r, at)]:
            del waiting[request]
        if not waiting:
            self.reviews.pop(ticket_id, None)

    def _remember(self, event_id: str) -> None:
        self.seen.add(event_id)
        self.seen_order.append(event_id)
        if len(self.seen_order) > SEEN:
            self.seen.discard(self.seen_order.popleft())

    def _track(self, event: TicketAssigned | TicketEscalated) -> None:
        """The ticket is now someone's to claim: keep it open, and add the line to the feed."""
        d = event.data
        if isinstance(event, TicketAssigned):
            kind, level, reason = "assigned", event.data.level, ""
        else:
            kind, level, reason = "escalated", event.data.to_level, event.data.reason
        tier, emergency = self.tiers.get(d.ticket_id, ("", False))
        # masked: a resident may have written a number into the description the summary quotes
        self.open[d.ticket_id] = Open(
            d.ticket_id,
            mask_text(d.summary),
            d.assignee.name,
            level,
            "assigned",
            d.claim_by,
            d.resolve_by,
            tier,
            emergency,
            since=event.time,
        )
        self._settle(d.ticket_id)
        self.recent.append(
            Decided(
                event.time,
                d.ticket_id,
                kind,
                tier,
                emergency,
                assignee=d.assignee.name,
                level=level,
                reason=reason,
                claim_by=d.claim_by,
                resolve_by=d.resolve_by,
            )
        )

    def _move(self, ticket_id: str, time: datetime, kind: str, event_id: str) -> None:
        """A handler claimed or resolved: it answers the assignment made before it."""
        if event_id in self.refused:
            return
        self.history.setdefault(ticket_id, []).append((time, kind, event_id))
        latest = self.moves.get(ticket_id)
        if latest is None or latest[0] <= time:
            self.moves[ticket_id] = (time, kind)
        self._settle(ticket_id)

    def _unmove(self, ticket_id: str, event_id: str) -> None:
        """The router refused a move: it never happened (the ticket is watched again)."""
        if event_id not in self.refused:
            self.refused.add(event_id)
            self.refused_order.append(event_id)
            if len(self.refused_order) > SEEN:
                self.refused.discard(self.refused_order.popleft())
        kept = [m for m in self.history.get(ticket_id, []) if m[2] != event_id]
        if kept:
            self.history[ticket_id] = kept
        else:
            self.history.pop(ticket_id, None)
        latest = max(kept, default=None)
        if latest is None:
            self.moves.pop(ticket_id, None)
        else:
            self.moves[ticket_id] = (latest[0], latest[1])
        back = self.settled.get(ticket_id)
        if back is not None and (latest is None or latest[1] != "resolved"):
            del self.settled[ticket_id]
            self.open[ticket_id] = back
        ticket = self.open.get(ticket_id)
        if ticket is not None:
            ticket.status = "assigned"
            self._settle(ticket_id)

    def _settle(self, ticket_id: str) -> None:
        """Apply the handler's latest move to the open ticket, if it came after the assignment."""
        ticket, move = self.open.get(ticket_id), self.moves.get(ticket_id)
        if ticket is None or move is None or (ticket.since and move[0] < ticket.since):
            return
        if move[1] == "resolved":
            self.settled[ticket_id] = self.open.pop(ticket_id)
        else:
            ticket.status = "claimed"

    def _note(self, event: TicketClosed) -> None:
        """Add a closure to the feed."""
        tier, emergency = self.tiers.get(event.subject, ("", False))
        self.recent.append(
            Decided(
                event.time,
                event.subject,
                "closed",
                tier,
                emergency,
                reason=event.data.outcome,
                on_time=event.data.on_time,
                satisfaction=event.data.satisfaction,
            )
        )

    def watching(self, now: datetime, warn_before: timedelta) -> dict[str, list[Open]]:
        """Open tickets that are overdue or due within ``warn_before``, soonest first."""
        out: dict[str, list[Open]] = {"overdue": [], "due_soon": []}
        for ticket in self.open.values():
            state = watch(ticket.deadline(), now, warn_before)
            if state in out:
                out[state].append(ticket)
        for tickets in out.values():
            tickets.sort(key=Open.deadline)
        return out

    def as_json(
        self, now: datetime | None = None, warn_before: timedelta = timedelta(hours=1)
    ) -> dict[str, Any]:
        satisfied = sum(n for score, n in self.satisfaction.items() if score >= 4)
        scored = sum(self.satisfaction.values())
        watched = self.watching(now or datetime.now(UTC), warn_before)
        return {
            "open": len(self.open),
            "overdue": len(watched["overdue"]),
            "due_soon": len(watched["due_soon"]),
            "received": self.received,
            "assigned": self.assigned,
            "escalated": self.escalated,
            "pending_reviews": sum(len(waiting) for waiting in self.reviews.values()),
            "closed": self.closed,
            "merged": self.merged,
            "on_time_rate": round(self.closed_on_time / self.closed, 4) if self.closed else None,
            "satisfaction_rate": round(satisfied / scored, 4) if scored else None,
            "emergencies": self.emergencies,
            "notified": self.notified,
            "notify_failed": self.notify_failed,
            "rejected_inputs": self.rejected_inputs,
            "by_tier": dict(self.by_tier),
            "by_source": dict(self.by_source),
        }
