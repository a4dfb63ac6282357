"""Each ticket's timeline, folded from what the log records (pure).

The state comes from the router's own fold (``state.apply``) over the recorded inputs and
decisions in time order; an input the router dead-lettered stays in the timeline, marked
refused, and changes nothing. Phone numbers are masked in every text an auditor reads.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from schemas import topics
from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    NotificationFailed,
    NotificationSent,
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketLinked,
)
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from schemas.words import LEVEL_NAMES, SOURCE_NAMES, TIER_NAMES
from services.audit import entries
from services.audit.history import grouped, refusals
from services.audit.log import AuditLog, Logged
from services.audit.policies import PolicyBook
from services.common.privacy import mask_phone, mask_text
from services.router.kernel.lifecycle import STATUS_NAMES
from services.router.kernel.state import Ticket, apply, start


def _notified(log: AuditLog) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for logged in log.of(topics.NOTIFICATIONS):
        event = logged.event
        if isinstance(event, NotificationSent | NotificationFailed):
            outcome = "sent" if isinstance(event, NotificationSent) else "failed"
            counts.setdefault(event.data.ticket_id, Counter())[outcome] += 1
    return counts


def _decided(logged: Logged) -> bool:
    return logged.at.topic in (topics.DECISIONS, topics.POINTS) and isinstance(
        logged.event, Decision
    )


def _version(events: list[Logged]) -> str:
    named = Counter(r.event.policyversion for r in events if isinstance(r.event, Decision))
    return named.most_common(1)[0][0] if named else ""


def fold(accepted: list[Logged]) -> Ticket:
    """The router's state of one ticket from its recorded decisions and accepted inputs."""
    request = next(r.event for r in accepted if isinstance(r.event, RequestReceived))
    assert isinstance(request, RequestReceived)
    ticket = start(request, _version([r for r in accepted if _decided(r)]))
    for logged in accepted:
        if _decided(logged):
            ticket = apply(ticket, logged.event)
        elif logged.event is not request:
            ticket = apply(ticket, logged.event, is_input=True)
    return ticket


def timelines(log: AuditLog, book: PolicyBook, as_of: datetime | None) -> list[dict[str, Any]]:
    """One JSON-ready timeline per ticket, in order of arrival."""
    letters = log.router_letters()
    notified = _notified(log)
    out = []
    for ticket_id, events in grouped(log).items():
        refused = refusals(events, letters, log.prefix)
        listed = [entries.entry(r.event, refused.get(r.at), ticket_id) for r in events]
        counts = notified.get(ticket_id, Counter())
        record: dict[str, Any] = {
            "ticket_id": ticket_id,
            "notifications": {"sent": counts["sent"], "failed": counts["failed"]},
            "refused_inputs": sum(1 for e in listed if e.get("refused")),
            "events": [e for e in listed if e],
        }
        accepted = [r for r in events if r.at not in refused]
        if any(isinstance(r.event, RequestReceived) for r in accepted):
            record = {**_describe(fold(accepted), accepted, book, as_of), **record}
        else:
            record = {**record, "status": "no_request", "status_name": "未见诉求(更新在等它)"}
        out.append(record)
    out.sort(key=lambda t: str(t.get("received_at") or ""))
    return out


def _first(events: list[Logged], kind: type[CloudEvent]) -> Any:
    return next((r.event for r in events if isinstance(r.event, kind)), None)


def _describe(
    ticket: Ticket, events: list[Logged], book: PolicyBook, as_of: datetime | None
) -> dict[str, Any]:
    request: RequestReceived = _first(events, RequestReceived)
    classified: TicketClassified | None = _first(events, TicketClassified)
    assigned: TicketAssigned | None = _first(events, TicketAssigned)
    closed = [r.event for r in events if isinstance(r.event, TicketClosed)]
    d = request.data
    policy = book.get(ticket.policyversion)
    unit = classified.data.unit if classified else None
    community = _community(policy, unit.id if unit else None) or (
        (unit.id, unit.name) if unit is not None and unit.level == "community" else None
    )
    department = ticket.department
    first_claim = next((e for e in events if e.event.type == "dispatch.ticket.claimed"), None)
    return {
        "ticket_id": ticket.ticket_id,
        "source": d.source,
        "source_name": SOURCE_NAMES.get(d.source, d.source),
        "external_id": d.external_id,
        "channel": d.channel,
        "summary": mask_text(ticket.summary or entries.summarise(d.description)),
        "description": mask_text(d.description),
        "address": mask_text(d.location.address) if d.location and d.location.address else None,
        "reporter": {"name": d.reporter.name, "phone": mask_phone(d.reporter.phone)}
        if d.reporter
        else None,
        "tier": ticket.tier,
        "tier_name": TIER_NAMES.get(ticket.tier or "", None),
        "category": ticket.category,
        "category_name": classified.data.category_name if classified else None,
        "emergency": ticket.emergency,
        "unit": {"id": unit.id, "level": unit.level, "name": unit.name} if unit else None,
        "community_id": community[0] if community else None,
        "community": community[1] if community else None,
        "department": department,
        "department_name": policy.department_by_id[department].name
        if policy is not None and department in policy.department_by_id
        else None,
        "policyversion": ticket.policyversion or None,
        "status": ticket.status,
        "status_name": STATUS_NAMES[ticket.status],
        "first_level": assigned.data.level if assigned else None,
        "level": ticket.level,
        "level_name": LEVEL_NAMES.get(ticket.level or "", None),
        "assignee": ticket.assignee.name if ticket.assignee else None,
        "received_at": d.received_at,
        "claim_by": ticket.claim_by,
        "resolve_by": ticket.resolve_by,
        "promised_by": ticket.promised_by,
        "claimed_at": ticket.claimed_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "claimed_on_time": _claimed_on_time(assigned, first_claim, ticket, as_of),
        "on_time": closed[-1].data.on_time if closed else None,
        "outcome": closed[-1].data.outcome if closed else None,
        "overdue": _overdue(ticket, as_of),
        "satisfaction": ticket.satisfaction,
        "ratings": [
            r.event.data.satisfaction for r in events if isinstance(r.event, TicketFeedback)
        ],
        "merged_into": ticket.merged_into,
        "repeats": [r.event.data.repeat for r in events if isinstance(r.event, TicketLinked)],
        "escalations": sum(1 for r in events if isinstance(r.event, TicketEscalated)),
    }


def _community(policy: Policy | None, unit_id: str | None) -> tuple[str, str] | None:
    if policy is None or unit_id is None:
        return None
    placed = grid_of(policy).by_id.get(unit_id)
    if placed is None or placed.community is None:
        return None
    return placed.community, grid_of(policy).by_id[placed.community].name


def _claimed_on_time(
    assigned: TicketAssigned | None, claim: Logged | None, ticket: Ticket, as_of: datetime | None
) -> bool | None:
    """签收 within the first assignment's limit; unknown while that limit has not passed."""
    if assigned is None or ticket.merged_into is not None:
        return None
    limit = assigned.data.claim_by
    if claim is not None:
        return claim.event.time <= limit
    if as_of is not None and as_of > limit:
        return False
    return None


def _overdue(ticket: Ticket, as_of: datetime | None) -> bool:
    if as_of is None:
        return False
    if ticket.status == "assigned" and ticket.claim_by is not None:
        return ticket.claim_by < as_of
    if ticket.status == "claimed" and ticket.resolve_by is not None:
        return ticket.resolve_by < as_of
    return False
