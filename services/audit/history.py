"""A ticket's recorded history in the order it happened, and the inputs the router refused
(pure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas import topics
from schemas.events import InputRejected, RequestReceived
from services.audit.log import INPUT_TOPICS, AuditLog, Letters, Logged, Position

# Events that share a time (a decision carries its cause's time) in the order they happened.
RANK = {
    kind: rank
    for rank, kind in enumerate(
        (
            "dispatch.request.received",
            "dispatch.ticket.claimed",
            "dispatch.ticket.rejected",
            "dispatch.ticket.resolved",
            "dispatch.ticket.feedback",
            "dispatch.ticket.reopened",
            "dispatch.ticket.whistled",
            "dispatch.ticket.reported_in",
            "dispatch.ticket.meeting_scheduled",
            "dispatch.ticket.meeting_held",
            "dispatch.ticket.linked",
            "dispatch.ticket.adopted",
            "dispatch.ticket.classified",
            "dispatch.ticket.shelved",
            "dispatch.ticket.assigned",
            "dispatch.ticket.escalated",
            "dispatch.ticket.summoned",
            "dispatch.ticket.closed",
            "dispatch.points.awarded",
        )
    )
}


def grouped(log: AuditLog) -> dict[str, list[Logged]]:
    """Every ticket's inputs and decisions, in the order they happened."""
    by_ticket: dict[str, list[Logged]] = {}
    for topic in (topics.REQUESTS, topics.UPDATES, topics.LINKS, topics.DECISIONS, topics.POINTS):
        for logged in log.of(topic):
            by_ticket.setdefault(logged.event.subject, []).append(logged)
    for events in by_ticket.values():
        events.sort(key=_order(events))
    return by_ticket


def _order(events: list[Logged]) -> Callable[[Logged], tuple[datetime, int, int]]:
    """By time, then cause before decision; an update that overtook its request after the
    request's decisions (the router holds it until then)."""
    requested = min(
        (r.event.time for r in events if isinstance(r.event, RequestReceived)), default=None
    )

    def key(logged: Logged) -> tuple[datetime, int, int]:
        when, rank = logged.event.time, RANK.get(logged.event.type, 99)
        if requested is not None and logged.at.topic == topics.UPDATES and when < requested:
            return requested, len(RANK), logged.at.offset
        return when, rank, logged.at.offset

    return key


def _reason(letter: Logged) -> str:
    return letter.event.data.reason if isinstance(letter.event, InputRejected) else ""


def refusals(events: list[Logged], letters: Letters, prefix: str) -> dict[Position, str]:
    """The inputs of one ticket the router dead-lettered, with the reason. A letter names the
    input's position; one naming the ticket's request is for an update that had overtaken it
    (the router's unpark passes the request's message on): the update its reason names."""
    found: dict[Position, str] = {}
    spare: list[str] = []
    for logged in events:
        if logged.at.topic not in INPUT_TOPICS:
            continue
        reasons = [_reason(letter) for letter in letters.get(_key(logged, prefix), [])]
        if isinstance(logged.event, RequestReceived):
            spare += reasons  # a request itself is never refused
        elif reasons:
            found[logged.at] = reasons[0]
    for reason in spare:
        for logged in events:
            kind = logged.event.type.rsplit(".", 1)[-1]
            named = logged.at.topic == topics.UPDATES and reason.startswith(f"{kind} ")
            if named and logged.at not in found:
                found[logged.at] = reason
                break
    return found


def _key(logged: Logged, prefix: str) -> tuple[str, int, int]:
    return (f"{prefix}{logged.at.topic}", logged.at.partition, logged.at.offset)
