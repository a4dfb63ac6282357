"""近邻恳谈会 (荆西): a 杂事 is settled by talking, not by a work crew. The consultation ticket's
convener schedules a meeting of the residents and units concerned (``schedule``: when, where)
and records its outcome (``hold``: agreed or not, the minutes, optionally a department to hand
over to).

- Scheduling is the convener taking the ticket on (it counts as the claim); the meeting must
  fall within the consultation's resolve limit (a later one needs an approved ``extend``).
- From then the deadline is the meeting's: its outcome is due ``lifecycle.meeting_record``
  after its time (and never after the resolve limit); a meeting never recorded sends the
  ticket a level up (``meeting_overdue``).
- ``agreed`` without a handoff settles it: resolved, then 回访 as any ticket. ``not_agreed``
  passes it to the street of its community; a ``handoff`` to the department named, with the
  department's limits from the meeting on (the follow-up).
Pure: state + input (or tick) → decisions.
"""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import CloudEvent, Decision
from schemas.events import TicketMeetingHeld, TicketMeetingScheduled
from schemas.policy import Policy
from services.router.kernel import assign
from services.router.kernel.assign import CONVENER_SUFFIX, Target
from services.router.kernel.deadlines import after, due_for
from services.router.kernel.errors import TransitionError
from services.router.kernel.lifecycle import _decide, _require, assigned, one_up
from services.router.kernel.state import Ticket


def _convened(ticket: Ticket, event: CloudEvent) -> str:
    """The community whose 近邻恳谈会 holds the ticket; refused for any other ticket."""
    assignee = ticket.assignee
    if assignee is None or not assignee.id.endswith(CONVENER_SUFFIX):
        held = assignee.id if assignee is not None else "nobody"
        raise TransitionError(
            f"{event.type.rsplit('.', 1)[1]}: ticket {ticket.ticket_id} is with {held}, not with "
            "a 近邻恳谈会 convener (only a consultation ticket is settled at a meeting)"
        )
    return assignee.id.removesuffix(CONVENER_SUFFIX)


@_decide.register
def _(event: TicketMeetingScheduled, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "assigned", "claimed")
    _convened(ticket, event)
    at = event.data.at
    if at <= event.time:
        raise TransitionError(f"the meeting's time {at.isoformat()} is not after now")
    if ticket.resolve_by is not None and at > ticket.resolve_by:
        raise TransitionError(
            f"the meeting ({at.isoformat()}) falls after the ticket's resolve limit "
            f"({ticket.resolve_by.isoformat()}): ask for an extension (extend) first"
        )
    return []


@_decide.register
def _(event: TicketMeetingHeld, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "claimed")
    community = _convened(ticket, event)
    if ticket.meeting_at is None:
        raise TransitionError(
            f"no meeting is scheduled for ticket {ticket.ticket_id}: schedule first"
        )
    d = event.data
    if d.handoff is not None:
        department = policy.department_by_id.get(d.handoff)
        if department is None:
            known = ", ".join(f"{x.id} {x.short}" for x in policy.departments)
            raise TransitionError(f"no department {d.handoff!r} to hand over to; known: {known}")
        to = Target(department.level, assign.department_assignee(policy, department.id))
        follow_up = due_for(event.time, policy.deadlines.department, policy)
        return [assigned(ticket, event, policy, to, "meeting:handoff", "handoff", due_=follow_up)]
    if d.outcome == "agreed":
        return []  # settled by agreement: resolved (state.py)
    street = assign.street_of(community, policy)
    return [assigned(ticket, event, policy, street, "meeting:not_agreed", "handoff")]


def meeting_due(ticket: Ticket, policy: Policy) -> datetime | None:
    """When the scheduled meeting's outcome is due: its time plus ``meeting_record``, never
    after the resolve limit."""
    if ticket.meeting_at is None or ticket.status != "claimed":
        return None
    record = after(ticket.meeting_at, policy.lifecycle.meeting_record, "wall", policy)
    return min(record, ticket.resolve_by) if ticket.resolve_by is not None else record


def unheld(ticket: Ticket, tick: CloudEvent, policy: Policy) -> list[Decision]:
    """A meeting whose outcome was never recorded: a level up (the community), once."""
    deadline = meeting_due(ticket, policy)
    if deadline is None or tick.time < deadline:
        return []
    key = f"{ticket.ticket_id}:{ticket.attempt}:meeting"
    return one_up(ticket, tick, policy, "meeting_overdue", "escalated:meeting_overdue", key)
