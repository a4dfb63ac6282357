"""The router's decisions: pure functions of (ticket state, input event, policy) → new events.

No Kafka, Faust, HTTP or asyncio here. Time comes from the input event; ids derive from it.
"""

from __future__ import annotations

from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    AssignedData,
    ClassifiedData,
    ClockTicked,
    PointsAwarded,
    PointsAwardedData,
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    Unit,
)
from schemas.policy import Policy
from services.router.kernel import assign, escalation, lifecycle, repeats, shelf
from services.router.kernel import meetings as meetings  # registers 近邻恳谈会
from services.router.kernel import whistle as whistle  # registers 吹哨报到
from services.router.kernel import workorder as workorder  # registers its actions
from services.router.kernel.deadlines import due
from services.router.kernel.emit import envelope, summarise
from services.router.kernel.errors import TransitionError, UnknownTicketError
from services.router.kernel.locate import Located, locate
from services.router.kernel.places import OpenTickets
from services.router.kernel.rules import Classification, Facts, classify
from services.router.kernel.state import Ticket, apply, start

__all__ = ["OpenTickets", "TransitionError", "UnknownTicketError", "decide", "step", "summarise"]


def _classified(
    event: RequestReceived,
    cls: Classification,
    located: Located,
    policy: Policy,
    sighting: repeats.Sighting,
) -> TicketClassified:
    unit = located.unit
    return TicketClassified(
        **envelope(event, "classified", policy, 0),
        data=ClassifiedData(
            ticket_id=event.data.ticket_id,
            category=cls.category.code,
            category_name=cls.category.name,
            tier=cls.tier,
            emergency=cls.emergency,
            resolution=cls.resolution,
            department=cls.department,
            unit=Unit(id=unit.id, level=unit.level, name=unit.name),
            rule=cls.rule,
            evidence=[*cls.evidence, located.evidence],
            place=repeats.place_of(sighting),
            point=sighting.point,
            building=located.building,
        ),
    )


def on_request(event: RequestReceived, policy: Policy, open_at: OpenTickets) -> list[Decision]:
    """Classify, locate and assign; a repeat of an open ticket joins it instead (多次反映)."""
    d = event.data
    facts = Facts(
        description=d.description,
        category=d.category,
        urgent=d.urgent,
        households_affected=d.households_affected,
        resolution_hint=d.resolution_hint,
    )
    cls = classify(facts, policy)
    located = locate(policy, d.location, d.description)
    loc = d.location
    point = (loc.lat, loc.lon) if loc and loc.lat is not None and loc.lon is not None else None
    sighting = repeats.Sighting(cls.category, located, point, d.received_at, cls.emergency)
    classified = _classified(event, cls, located, policy, sighting)
    joined = repeats.repeat_of(sighting, open_at, d.ticket_id)
    if joined is not None:
        return [classified, *repeats.join(event, d.ticket_id, joined, d.description, policy)]
    if shelf.goes_on_shelf(event, cls, policy):
        return [classified, shelf.shelved(event, cls, located, policy)]
    to = assign.first(cls, located, policy)
    deadlines = due(d.received_at, cls.tier, cls.emergency, policy)
    assigned = TicketAssigned(
        **envelope(event, "assigned:1", policy, 0),
        data=AssignedData(
            ticket_id=d.ticket_id,
            summary=summarise(d.description),
            tier=cls.tier,
            level=to.level,
            assignee=to.assignee,
            claim_by=deadlines.claim_by,
            resolve_by=deadlines.resolve_by,
            attempt=1,
            copied_to=list(to.copied_to),
            rule=to.rule,
            emergency=cls.emergency,
        ),
    )
    return [classified, assigned]


def decide(
    ticket: Ticket | None,
    event: CloudEvent,
    policy: Policy,
    open_at: OpenTickets | None = None,
) -> list[Decision]:
    """The decisions ``event`` calls for; a redelivered input calls for none.

    ``open_at`` maps a place key to the open ticket there (for repeat reports).
    Raises ``TransitionError`` for an input the ticket's state does not allow.
    """
    if ticket is not None and ticket.has_applied(event.id):
        return []
    refused = ticket.refusal_of(event.id) if ticket is not None else None
    if refused is not None:  # refused again, for the same reason (a redelivery: the same letter)
        raise TransitionError(refused)
    if isinstance(event, RequestReceived):
        if ticket is not None:
            return []  # the same ticket again under another event id: already decided
        return on_request(event, policy, open_at or {})
    if isinstance(event, ClockTicked):
        if ticket is None:
            return []
        return _with_points(ticket, event, escalation.on_tick(ticket, event, policy), policy)
    if ticket is None:
        raise UnknownTicketError(f"{event.type} for {event.subject}, a ticket not seen yet")
    decisions = lifecycle.decide(ticket, event, policy)  # with the work order's (workorder)
    return _with_points(ticket, event, decisions, policy)


def _with_points(
    ticket: Ticket, event: CloudEvent, decisions: list[Decision], policy: Policy
) -> list[Decision]:
    """五闪积分: a volunteer's report earns its kind's points when its ticket closes as
    resolved (not when merely submitted; an invalid or merged-away report never). The id
    derives from the ticket: closed again after a reopen, the same award, counted once."""
    if ticket.volunteer is None:
        return decisions
    resolved = any(
        isinstance(d, TicketClosed)
        and d.subject == ticket.ticket_id
        and d.data.outcome == "resolved"
        for d in decisions
    )
    if not resolved:
        return decisions
    volunteer_id, kind = ticket.volunteer
    award = PointsAwarded(
        **envelope(
            event,
            "points:awarded",
            policy,
            ticket.version,
            subject=ticket.ticket_id,
            cause_key=f"{ticket.ticket_id}:points",
        ),
        data=PointsAwardedData(
            ticket_id=ticket.ticket_id,
            volunteer_id=volunteer_id,
            kind=kind,
            points=policy.volunteers.points[kind],
            category=ticket.category,
        ),
    )
    return [*decisions, award]


def step(
    ticket: Ticket | None,
    event: CloudEvent,
    policy: Policy,
    open_at: OpenTickets | None = None,
) -> tuple[Ticket | None, list[Decision]]:
    """Decide, then fold the input and this ticket's decisions into its state."""
    decisions = decide(ticket, event, policy, open_at)
    if isinstance(event, ClockTicked):  # time passing is not an input of the ticket
        for decision in decisions:
            assert ticket is not None
            ticket = apply(ticket, decision)
        return ticket, decisions
    if ticket is None and isinstance(event, RequestReceived):
        ticket = start(event, policy.version)
    if ticket is None:
        return None, decisions
    ticket = apply(ticket, event, is_input=True)
    for decision in decisions:
        if decision.subject == ticket.ticket_id:
            ticket = apply(ticket, decision)
    return ticket, decisions
