"""The 12345 work order beyond claim and resolve: 延期 extend, 审核 approve/refuse, 改派
reassign, reclassify, 无效件 invalidate, split, merge, 催办 remind, 补充 supplement.

Each is an input on ``dispatch.updates`` that the router judges against the ticket's state and
the policy (``lifecycle``), registered on the same dispatch as claim and resolve. Pure.
"""

from __future__ import annotations

from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    Assignee,
    ClassifiedData,
    ClosedData,
    DeadlineChangedData,
    LinkedData,
    RemindedData,
    ReminderReason,
    ReviewedData,
    SupplementNoticeData,
    TicketApproved,
    TicketClassified,
    TicketClosed,
    TicketDeadlineChanged,
    TicketExtensionRequested,
    TicketInvalidated,
    TicketLinked,
    TicketMerged,
    TicketReassigned,
    TicketReclassified,
    TicketRefused,
    TicketReminded,
    TicketRemindRequested,
    TicketReviewed,
    TicketSplit,
    TicketSupplemented,
    TicketSupplementNoticed,
    Unit,
)
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from services.router.kernel import assign
from services.router.kernel.emit import envelope
from services.router.kernel.errors import TransitionError
from services.router.kernel.lifecycle import (
    _decide,
    _require,
    assigned,
    moved_back,
    review_requested,
)
from services.router.kernel.locate import Located
from services.router.kernel.repeats import Sighting, place_of
from services.router.kernel.rules import Classification
from services.router.kernel.state import Pending, Ticket

# ---------------------------------------------------------------- 延期 and 审核


@_decide.register
def _(event: TicketExtensionRequested, ticket: Ticket, policy: Policy) -> list[Decision]:
    """延期申请: before the limit, later than it, at most ``extend_at_most`` later, at most
    ``extensions`` times; it waits for the centre's approve or refuse."""
    _require(ticket, event, "assigned", "claimed")
    assert ticket.resolve_by is not None
    rules = policy.lifecycle
    wanted = event.data.resolve_by
    if ticket.extensions >= rules.extensions:
        raise TransitionError(
            f"ticket {ticket.ticket_id} has had {ticket.extensions} extension(s); the policy "
            f"allows {rules.extensions}"
        )
    if event.time >= ticket.resolve_by:
        raise TransitionError(
            f"ticket {ticket.ticket_id} is past its deadline {ticket.resolve_by.isoformat()}: "
            "an extension is asked for before the limit"
        )
    if wanted <= ticket.resolve_by:
        raise TransitionError(
            f"the resolve_by asked for ({wanted.isoformat()}) is not later than the current one "
            f"({ticket.resolve_by.isoformat()})"
        )
    latest = ticket.resolve_by + rules.extend_at_most
    if wanted > latest:
        raise TransitionError(
            f"the resolve_by asked for ({wanted.isoformat()}) is past the policy's limit of "
            f"{rules.extend_at_most} after the current deadline ({latest.isoformat()})"
        )
    return [review_requested(ticket, event, policy, "extend", resolve_by=wanted)]


def _pending(ticket: Ticket, event: TicketApproved | TicketRefused) -> Pending:
    _require(ticket, event, "assigned", "claimed")
    found = ticket.pending_request(event.data.request)
    if found is None:
        waiting = ", ".join(f"{p.kind} {p.request}" for p in ticket.pending) or "nothing"
        raise TransitionError(
            f"no pending request {event.data.request[:80]!r} on ticket {ticket.ticket_id}; "
            f"awaiting review: {waiting}"
        )
    return found


def _reviewed(
    ticket: Ticket, event: CloudEvent, policy: Policy, pending: Pending, approved: bool
) -> TicketReviewed:
    return TicketReviewed(
        **envelope(event, "reviewed", policy, ticket.version),
        data=ReviewedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            request=pending.request,
            kind=pending.kind,
            verdict="approved" if approved else "refused",
            assignee=ticket.assignee,
        ),
    )


@_decide.register
def _(event: TicketApproved, ticket: Ticket, policy: Policy) -> list[Decision]:
    """审定: an approved reject moves as an unreviewed one would (or to ``to``); an approved
    extension changes the deadline."""
    pending = _pending(ticket, event)
    reviewed = _reviewed(ticket, event, policy, pending, approved=True)
    if pending.kind == "reject":
        return [reviewed, moved_back(ticket, event, policy, to=event.data.to)]
    if event.data.to is not None:
        raise TransitionError("to names where an approved reject goes; an extension has none")
    assert pending.resolve_by is not None
    assert ticket.assignee is not None and ticket.resolve_by is not None
    changed = TicketDeadlineChanged(
        **envelope(event, "deadline_changed", policy, ticket.version),
        data=DeadlineChangedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            assignee=ticket.assignee,
            previous_resolve_by=ticket.resolve_by,
            resolve_by=pending.resolve_by,
            request=pending.request,
        ),
    )
    return [reviewed, changed]


@_decide.register
def _(event: TicketRefused, ticket: Ticket, policy: Policy) -> list[Decision]:
    """Refused: the handler keeps the ticket; its clock never stopped."""
    pending = _pending(ticket, event)
    if event.data.to is not None:
        raise TransitionError("to names where an approved reject goes; a refusal keeps it")
    return [_reviewed(ticket, event, policy, pending, approved=False)]


# ---------------------------------------------------------------- 改派, reclassify


def _classification(ticket: Ticket, policy: Policy) -> tuple[Classification, Located]:
    """The ticket's classification as the router holds it, and its place on the grid."""
    assert ticket.tier is not None and ticket.resolution is not None
    category = policy.category_by_code.get(ticket.category or "")
    if category is None:
        raise TransitionError(f"ticket {ticket.ticket_id}'s category is not in the policy")
    unit = grid_of(policy).by_id.get(ticket.unit_id or "")
    located = Located(
        unit if unit is not None else grid_of(policy).root, "as classified", ticket.building
    )
    cls = Classification(
        category=category,
        tier=ticket.tier,
        emergency=ticket.emergency,
        resolution=ticket.resolution,
        department=ticket.department,
        rule="as classified",
        evidence=(),
    )
    return cls, located


@_decide.register
def _(event: TicketReassigned, ticket: Ticket, policy: Policy) -> list[Decision]:
    """改派: to the unit, department or convener named, with deadlines that start now (also
    a worry taken off the shelf by the centre)."""
    _require(ticket, event, "assigned", "claimed", "shelved")
    to = assign.target_of(event.data.to, policy)
    if to is None:
        raise TransitionError(
            f"no unit or department {event.data.to!r} in the policy's directory: reassign names "
            "a grid unit id, a department id (DEP-…) or a community's convener (…:convener)"
        )
    if ticket.assignee is not None and to.assignee.id == ticket.assignee.id:
        raise TransitionError(f"ticket {ticket.ticket_id} is with {to.assignee.id} already")
    return [assigned(ticket, event, policy, to, "reassign", "reassigned")]


@_decide.register
def _(event: TicketReclassified, ticket: Ticket, policy: Policy) -> list[Decision]:
    """Classified again under the operator's tier and/or category, then assigned under it."""
    _require(ticket, event, "assigned", "claimed")
    d = event.data
    if d.tier is None and d.category is None:
        raise TransitionError("reclassify names a tier, a category or both")
    current, located = _classification(ticket, policy)
    category = current.category
    if d.category is not None:
        found = policy.category_by_code.get(d.category)
        if found is None:
            raise TransitionError(f"no category {d.category!r} in the policy")
        category = found
    changed_category = category.code != current.category.code
    tier = d.tier or (category.tier if changed_category else current.tier)
    if not changed_category and tier == current.tier:
        raise TransitionError(
            f"ticket {ticket.ticket_id} is {category.code} at tier {tier} already: nothing changes"
        )
    cls = Classification(
        category=category,
        tier=tier,
        emergency=ticket.emergency,
        resolution=category.resolution if changed_category else current.resolution,
        department=category.department if changed_category else current.department,
        rule="reclassify",
        evidence=(f"reclassified:{current.category.code}/{current.tier}→{category.code}/{tier}",),
    )
    unit = located.unit
    # Another category keys its repeats its own way (building, micro-grid, radius): the ticket
    # leaves its old place key and holds the new category's, if that has one.
    place = ticket.place
    if changed_category:
        sighting = Sighting(category, located, ticket.point, ticket.received_at, ticket.emergency)
        place = place_of(sighting)
    classified = TicketClassified(
        **envelope(event, "classified", policy, ticket.version),
        data=ClassifiedData(
            ticket_id=ticket.ticket_id,
            category=category.code,
            category_name=category.name,
            tier=tier,
            emergency=ticket.emergency,
            resolution=cls.resolution,
            department=cls.department,
            unit=Unit(id=unit.id, level=unit.level, name=unit.name),
            rule=cls.rule,
            evidence=list(cls.evidence),
            place=place,
            point=ticket.point,
            building=ticket.building,
        ),
    )
    to = assign.first(cls, located, policy)
    return [classified, assigned(ticket, event, policy, to, to.rule, "reclassified", tier=tier)]


# ---------------------------------------------------------------- 无效件, split, merge


@_decide.register
def _(event: TicketInvalidated, ticket: Ticket, policy: Policy) -> list[Decision]:
    """无效件 / 不合理诉求: closed ``invalid``, out of every rate."""
    _require(ticket, event, "assigned", "claimed", "resolved", "shelved")
    reasons = policy.lifecycle.invalid_reasons
    if event.data.reason_code not in reasons:
        known = ", ".join(f"{k} {v}" for k, v in reasons.items())
        raise TransitionError(
            f"no invalid reason {event.data.reason_code!r} in the policy; known: {known}"
        )
    return [
        TicketClosed(
            **envelope(event, "closed:invalid", policy, ticket.version),
            data=ClosedData(
                ticket_id=ticket.ticket_id,
                outcome="invalid",
                on_time=None,
                reason_code=event.data.reason_code,
            ),
        )
    ]


@_decide.register
def _(event: TicketSplit, ticket: Ticket, policy: Policy) -> list[Decision]:
    """A wrong merge undone: the ticket is its own again, assigned as its classification says."""
    if ticket.status != "closed" or ticket.merged_into is None:
        raise TransitionError(
            f"ticket {ticket.ticket_id} is not merged into another: only a merged ticket splits"
        )
    cls, located = _classification(ticket, policy)
    to = assign.first(cls, located, policy)
    return [assigned(ticket, event, policy, to, to.rule, "split")]


@_decide.register
def _(event: TicketMerged, ticket: Ticket, policy: Policy) -> list[Decision]:
    """Closed as merged into ``into``; the link carries it to that ticket's timeline."""
    _require(ticket, event, "assigned", "claimed")
    into = event.data.into
    if into == ticket.ticket_id:
        raise TransitionError(f"ticket {ticket.ticket_id} cannot merge into itself")
    closed = TicketClosed(
        **envelope(event, "closed:merged", policy, ticket.version),
        data=ClosedData(
            ticket_id=ticket.ticket_id, outcome="merged", merged_into=into, on_time=None
        ),
    )
    linked = TicketLinked(
        **envelope(event, "linked", policy, ticket.version, subject=into),
        data=LinkedData(
            ticket_id=into, repeat=ticket.ticket_id, summary=ticket.summary, by="operator"
        ),
    )
    return [closed, linked]


# ---------------------------------------------------------------- 催办, supplement


def reminded(
    ticket: Ticket,
    cause: CloudEvent,
    policy: Policy,
    reason: ReminderReason,
    purpose: str,
    cause_key: str | None = None,
) -> TicketReminded:
    assert ticket.assignee is not None
    due = ticket.claim_by if ticket.status == "assigned" else ticket.resolve_by
    return TicketReminded(
        **envelope(
            cause, purpose, policy, ticket.version, subject=ticket.ticket_id, cause_key=cause_key
        ),
        data=RemindedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            assignee=ticket.assignee,
            reason=reason,
            due=due,
            emergency=ticket.emergency,
        ),
    )


@_decide.register
def _(event: TicketRemindRequested, ticket: Ticket, policy: Policy) -> list[Decision]:
    """催办 by an operator: the assignee is told again, with the deadline."""
    _require(ticket, event, "assigned", "claimed")
    return [reminded(ticket, event, policy, "remind", "reminded")]


@_decide.register
def _(event: TicketSupplemented, ticket: Ticket, policy: Policy) -> list[Decision]:
    """补充: the resident's new information is on the timeline; the assignee is told."""
    _require(ticket, event, "assigned", "claimed", "resolved")
    assignee: Assignee | None = ticket.assignee
    assert assignee is not None
    return [
        TicketSupplementNoticed(
            **envelope(event, "supplement_noticed", policy, ticket.version),
            data=SupplementNoticeData(
                ticket_id=ticket.ticket_id,
                summary=ticket.summary,
                assignee=assignee,
                supplement=event.id,
            ),
        )
    ]
