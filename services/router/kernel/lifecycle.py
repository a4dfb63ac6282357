"""A ticket after its first assignment: 签收 claim, 退单 reject, 办结 resolve, 回访 feedback,
reopen, and a repeat report joining it (吹哨报到: whistle.py). Pure: state + input → decisions."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    AssignedData,
    ClosedData,
    EscalatedData,
    EscalationReason,
    ReviewKind,
    ReviewRequestedData,
    TicketAssigned,
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketFeedback,
    TicketLinked,
    TicketRejected,
    TicketReopened,
    TicketResolved,
    TicketReviewRequested,
    Tier,
)
from schemas.policy import Policy
from services.router.kernel import assign, repeats
from services.router.kernel.assign import Target
from services.router.kernel.deadlines import Due, due
from services.router.kernel.emit import envelope
from services.router.kernel.errors import TransitionError
from services.router.kernel.state import Ticket

STATUS_NAMES = {
    "received": "未派单",
    "assigned": "待签收",
    "claimed": "已签收",
    "resolved": "已办结待回访",
    "closed": "已关闭",
    "shelved": "在解忧超市货架上待认领",
}


def _require(ticket: Ticket, event: CloudEvent, *allowed: str) -> None:
    if ticket.status not in allowed:
        raise TransitionError(
            f"{event.type.rsplit('.', 1)[1]} is not allowed on ticket {ticket.ticket_id}: it is "
            f"{ticket.status} ({STATUS_NAMES[ticket.status]}); allowed when {' or '.join(allowed)}"
        )


def _deadlines(ticket: Ticket, start: datetime, policy: Policy) -> Due:
    assert ticket.tier is not None
    return due(start, ticket.tier, ticket.emergency, policy)


def escalated(
    ticket: Ticket,
    event: CloudEvent,
    policy: Policy,
    to: Target,
    reason: EscalationReason,
    deadlines: Due,
    purpose: str,
    cause_key: str | None = None,
) -> TicketEscalated:
    assert ticket.level is not None
    return TicketEscalated(
        **envelope(
            event, purpose, policy, ticket.version, subject=ticket.ticket_id, cause_key=cause_key
        ),
        data=EscalatedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            from_level=ticket.level,
            to_level=to.level,
            reason=reason,
            assignee=to.assignee,
            previous_assignee=ticket.assignee,
            claim_by=deadlines.claim_by,
            resolve_by=deadlines.resolve_by,
            attempt=ticket.attempt + 1,
            emergency=ticket.emergency,
        ),
    )


def one_up(
    ticket: Ticket,
    tick: CloudEvent,
    policy: Policy,
    reason: EscalationReason,
    purpose: str,
    cause_key: str,
) -> list[Decision]:
    """Something overdue on a tick: the unit above the assignee takes the ticket, with the
    tier's deadlines from now; nothing at the top (the district command center)."""
    assert ticket.assignee is not None and ticket.tier is not None
    to = assign.next_up(ticket.assignee, policy)
    if to is None:
        return []
    deadlines = due(tick.time, ticket.tier, ticket.emergency, policy)
    return [escalated(ticket, tick, policy, to, reason, deadlines, purpose, cause_key=cause_key)]


def reassigned(ticket: Ticket, event: CloudEvent, policy: Policy, rule: str) -> TicketAssigned:
    """Back to the same handler with new deadlines (reopen, 重新办理)."""
    assert ticket.level is not None and ticket.assignee is not None
    return assigned(ticket, event, policy, Target(ticket.level, ticket.assignee), rule, "reopen")


def assigned(
    ticket: Ticket,
    event: CloudEvent,
    policy: Policy,
    to: Target,
    rule: str,
    reason: str,
    tier: Tier | None = None,
    due_: Due | None = None,
    cause_key: str | None = None,
) -> TicketAssigned:
    """Assigned again (``reason``: reopen, reassigned, reclassified, split, handoff), with
    deadlines that start now (``due_``, else the tier's), under ``tier`` when it changes."""
    tier = tier or ticket.tier
    assert tier is not None
    deadlines = due_ or due(event.time, tier, ticket.emergency, policy)
    return TicketAssigned(
        **envelope(
            event,
            f"assigned:{ticket.attempt + 1}",
            policy,
            ticket.version,
            subject=ticket.ticket_id,
            cause_key=cause_key,
        ),
        data=AssignedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            tier=tier,
            level=to.level,
            assignee=to.assignee,
            claim_by=deadlines.claim_by,
            resolve_by=deadlines.resolve_by,
            attempt=ticket.attempt + 1,
            copied_to=list(to.copied_to),
            rule=rule,
            reason=reason,
            emergency=ticket.emergency,
        ),
    )


@singledispatch
def _decide(event: CloudEvent, ticket: Ticket, policy: Policy) -> list[Decision]:
    raise TransitionError(f"the router does not take {event.type} as input")


@_decide.register
def _(event: TicketClaimed, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "assigned")
    return []


@_decide.register
def _(event: TicketResolved, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "claimed")
    return []


def moved_back(
    ticket: Ticket, cause: CloudEvent, policy: Policy, to: str | None = None
) -> TicketEscalated:
    """退单 carried out: to ``to`` (the centre's choice on approving it), else to the next
    responsible unit up; the n-th reject to the street (提级督办)."""
    assert ticket.assignee is not None and ticket.level is not None
    target: Target | None
    if to is not None:
        target = assign.target_of(to, policy)
        if target is None:
            raise TransitionError(f"no unit or department {to!r} in the policy's directory")
    elif ticket.rejects + 1 >= policy.lifecycle.rejects_before_street and assign.is_below(
        ticket.level, "street"
    ):
        target = assign.street_of(ticket.unit_id, policy)
    else:
        target = assign.next_up(ticket.assignee, policy)
    if target is None:
        raise TransitionError(
            f"ticket {ticket.ticket_id} is with the district command center, which cannot send "
            "it back: reassign it instead"
        )
    deadlines = _deadlines(ticket, cause.time, policy)
    return escalated(ticket, cause, policy, target, "rejected", deadlines, "escalated:rejected")


def review_requested(
    ticket: Ticket,
    event: CloudEvent,
    policy: Policy,
    kind: ReviewKind,
    reason_code: str | None = None,
    resolve_by: datetime | None = None,
) -> TicketReviewRequested:
    if ticket.pending_of(kind) is not None:
        name = "退单" if kind == "reject" else "延期"
        raise TransitionError(
            f"ticket {ticket.ticket_id} has a {kind} ({name}) awaiting review already: "
            f"{ticket.pending_of(kind).request}"  # type: ignore[union-attr]
        )
    return TicketReviewRequested(
        **envelope(event, f"review_requested:{kind}", policy, ticket.version),
        data=ReviewRequestedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            request=event.id,
            kind=kind,
            reason_code=reason_code,
            resolve_by=resolve_by,
            requested_by=ticket.assignee,
        ),
    )


@_decide.register
def _(event: TicketRejected, ticket: Ticket, policy: Policy) -> list[Decision]:
    """退单: with the policy's ``reject_review`` it waits for the centre's approve or refuse;
    without, it moves at once."""
    _require(ticket, event, "assigned", "claimed")
    code = event.data.reason_code
    reasons = policy.lifecycle.reject_reasons
    if code is not None and code not in reasons:
        known = ", ".join(f"{k} {v}" for k, v in reasons.items())
        raise TransitionError(f"no reject reason {code!r} in the policy; known: {known}")
    if policy.lifecycle.reject_review:
        return [review_requested(ticket, event, policy, "reject", reason_code=code)]
    return [moved_back(ticket, event, policy)]


@_decide.register
def _(event: TicketFeedback, ticket: Ticket, policy: Policy) -> list[Decision]:
    """回访: solved and satisfied closes the ticket; not solved, or dissatisfied, sends it back
    to the handler with a new deadline (重新办理)."""
    _require(ticket, event, "resolved")
    if event.data.solved is False:  # 未解决: 重新办理
        return [reassigned(ticket, event, policy, "reopen:unsolved")]
    if event.data.satisfaction < policy.lifecycle.satisfied_at_least:
        return [reassigned(ticket, event, policy, "reopen:dissatisfied")]
    assert ticket.resolved_at is not None and ticket.promised_by is not None
    return [
        TicketClosed(
            **envelope(event, "closed", policy, ticket.version),
            data=ClosedData(
                ticket_id=ticket.ticket_id,
                outcome="resolved",
                on_time=ticket.resolved_at <= ticket.promised_by,
                satisfaction=event.data.satisfaction,
            ),
        )
    ]


@_decide.register
def _(event: TicketReopened, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "resolved", "closed")
    if ticket.merged_into is not None:
        raise TransitionError(
            f"ticket {ticket.ticket_id} was merged into {ticket.merged_into}: reopen that one"
        )
    return [reassigned(ticket, event, policy, "reopen")]


@_decide.register
def _(event: TicketLinked, ticket: Ticket, policy: Policy) -> list[Decision]:
    """群众反映多次: an open ticket goes one level up; a finished one is reopened. An operator's
    merge only links (it is on the timeline)."""
    if event.data.by == "operator":
        return []
    if ticket.merged_into is not None:
        raise TransitionError(
            f"ticket {ticket.ticket_id} was itself merged into {ticket.merged_into}"
        )
    if ticket.status in ("resolved", "closed"):
        return [reassigned(ticket, event, policy, "reopen:repeat_report")]
    if ticket.status == "shelved":
        return []  # the worry waits on the shelf; the repeat is on its timeline
    _require(ticket, event, "assigned", "claimed")
    if not repeats.escalates(ticket.category, ticket.repeat_raised_at, event.time, policy):
        return []  # raised for a repeat in this window already: the link is on the timeline
    assert ticket.assignee is not None and ticket.level is not None
    to = assign.next_up(ticket.assignee, policy) or Target(ticket.level, ticket.assignee)
    fresh = _deadlines(ticket, event.time, policy)
    assert ticket.resolve_by is not None
    deadlines = Due(claim_by=fresh.claim_by, resolve_by=max(ticket.resolve_by, fresh.claim_by))
    return [
        escalated(
            ticket,
            event,
            policy,
            to,
            "repeat_report",
            deadlines,
            f"escalated:repeat_report:{event.data.repeat}",
        )
    ]


def decide(ticket: Ticket, event: CloudEvent, policy: Policy) -> list[Decision]:
    return _decide(event, ticket, policy)
