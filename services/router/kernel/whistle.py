"""吹哨报到: the community holding a ticket whistles in a department or one of its part-time
committee members (兼职委员: the property manager, the power station's contact), who must report
in (``report_in``) within the policy's ``whistle_report``.

- A department is assigned the ticket at once, with the report limit as its claim deadline: its
  report is its claim, and a department that does not report escalates as any late claim does.
- A member is summoned (``dispatch.ticket.summoned``); the ticket stays with its assignee. A
  member who has not reported in by then sends the ticket a level up (reason ``whistle``).
Pure: state + input (or tick) → decisions.
"""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    Assignee,
    SummonedData,
    TicketReportedIn,
    TicketSummoned,
    TicketWhistled,
)
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from services.router.kernel import assign
from services.router.kernel.assign import CONVENER_SUFFIX, Target
from services.router.kernel.deadlines import Due, after
from services.router.kernel.emit import envelope
from services.router.kernel.errors import TransitionError
from services.router.kernel.lifecycle import _decide, _require, escalated, one_up
from services.router.kernel.state import Summons, Ticket


def community_of(ticket: Ticket, policy: Policy) -> str | None:
    """The community holding the ticket: its assignee's, else the place it was located to."""
    grid = grid_of(policy)
    for unit in (ticket.assignee.id if ticket.assignee else None, ticket.unit_id):
        placed = grid.by_id.get((unit or "").removesuffix(CONVENER_SUFFIX))
        if placed is not None and placed.community is not None:
            return placed.community
    return None


@_decide.register
def _(event: TicketWhistled, ticket: Ticket, policy: Policy) -> list[Decision]:
    _require(ticket, event, "assigned", "claimed")
    if event.data.member is not None:
        return [_summon(event, event.data.member, ticket, policy)]
    department = policy.department_by_id.get(event.data.department or "")
    if department is None:
        known = ", ".join(f"{d.id} {d.short}" for d in policy.departments)
        raise TransitionError(f"no department {event.data.department!r}; known: {known}")
    to = Target(department.level, assign.department_assignee(policy, department.id))
    limits = policy.deadlines.department
    deadlines = Due(
        claim_by=after(event.time, policy.lifecycle.whistle_report, limits.clock, policy),
        resolve_by=after(event.time, limits.resolve, limits.clock, policy),
    )
    return [escalated(ticket, event, policy, to, "whistle", deadlines, "escalated:whistle")]


def _summon(event: TicketWhistled, member_id: str, ticket: Ticket, policy: Policy) -> Decision:
    community = community_of(ticket, policy)
    found = grid_of(policy).members.get(member_id)
    if community is None or found is None or found[0] != community:
        listed = [m for m, (c, _) in grid_of(policy).members.items() if c == community]
        raise TransitionError(
            f"{member_id!r} is not a committee member of {community or 'a community'} holding "
            f"ticket {ticket.ticket_id}; its members: {', '.join(listed) or 'none'}"
        )
    if any(s.member == member_id for s in ticket.summons):
        raise TransitionError(f"{member_id} is whistled in already and has not reported in")
    _, member = found
    report_by = after(
        event.time, policy.lifecycle.whistle_report, policy.deadlines.department.clock, policy
    )
    name = f"{member.name}({member.org})" if member.org else member.name
    return TicketSummoned(
        **envelope(event, f"summoned:{member_id}", policy, ticket.version),
        data=SummonedData(
            ticket_id=ticket.ticket_id,
            summary=ticket.summary,
            member=Assignee(id=member_id, kind="member", name=name[:100]),
            community=community,
            report_by=report_by,
            whistle=event.id,
            emergency=ticket.emergency,
        ),
    )


@_decide.register
def _(event: TicketReportedIn, ticket: Ticket, policy: Policy) -> list[Decision]:
    """报到: a summoned member, or the department whistled in while it has not claimed."""
    _require(ticket, event, "assigned", "claimed")
    unit = event.data.principal.unit if event.data.principal is not None else None
    if unit is not None and any(s.member == unit for s in ticket.summons):
        return []
    assignee = ticket.assignee
    if (
        unit is not None
        and assignee is not None
        and assignee.kind == "department"
        and assignee.id == unit
        and ticket.status == "assigned"
    ):
        return []
    raise TransitionError(
        f"{unit or 'the caller'} has no whistle to answer on ticket {ticket.ticket_id} "
        "(not whistled in, or reported in already)"
    )


def lapsed(ticket: Ticket, now: datetime) -> Summons | None:
    """The first summons nobody answered by ``now``."""
    late = [s for s in ticket.summons if s.report_by <= now]
    return min(late, key=lambda s: (s.report_by, s.member)) if late else None


def next_report_due(ticket: Ticket) -> datetime | None:
    return min((s.report_by for s in ticket.summons), default=None)


def unanswered(ticket: Ticket, tick: CloudEvent, policy: Policy) -> list[Decision]:
    """A whistle nobody answered: the ticket goes a level up, once for that whistle."""
    late = lapsed(ticket, tick.time)
    if late is None or not ticket.is_open:
        return []
    purpose = f"escalated:whistle:unanswered:{late.member}"
    key = f"{ticket.ticket_id}:summons:{late.whistle}"
    return one_up(ticket, tick, policy, "whistle", purpose, key)
