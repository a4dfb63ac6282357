"""Nothing overdue goes unnoticed: on each clock tick, what passed its deadline moves up the
grid (microgrid → areagrid → community → street → district).

- a claim or resolve deadline near (the policy's ``remind_at`` share of its window): the
  assignee is reminded, once per window, always before that window escalates;
- a committee member whistled in (吹哨报到) who has not reported in: the next level up;
- a 近邻恳谈会 whose outcome was not recorded in time: the next level up;
- claim overdue (催办): the next level up is assigned, with new deadlines;
- resolve overdue (督办): the next level up supervises, with new deadlines;
- resolved without 回访 feedback for the policy's window: closed;
- at the district command center there is no one above: the ticket stays overdue, visibly.
Pure: the tick's time is the only "now".
"""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import Decision
from schemas.events import (
    ClockTicked,
    ClosedData,
    EscalationReason,
    ReminderReason,
    TicketClosed,
)
from schemas.policy import Policy
from services.router.kernel.assign import has_above
from services.router.kernel.deadlines import after
from services.router.kernel.emit import envelope
from services.router.kernel.lifecycle import one_up
from services.router.kernel.meetings import meeting_due, unheld
from services.router.kernel.shelf import unadopted
from services.router.kernel.state import Ticket, reminder_key
from services.router.kernel.whistle import next_report_due, unanswered
from services.router.kernel.workorder import reminded


def feedback_due(ticket: Ticket, policy: Policy) -> datetime | None:
    if ticket.resolved_at is None:
        return None
    return after(ticket.resolved_at, policy.lifecycle.feedback_window, "working", policy)


def reminder_due(ticket: Ticket, policy: Policy) -> tuple[ReminderReason, datetime] | None:
    """The automatic reminder this ticket's current window still calls for, and when."""
    share = policy.lifecycle.remind_at
    if share is None or ticket.window_from is None:
        return None
    reason: ReminderReason
    if ticket.status == "assigned":
        reason, deadline = "claim_due", ticket.claim_by
    elif ticket.status == "claimed":
        reason, deadline = "resolve_due", ticket.resolve_by
    else:
        return None
    if deadline is None or reminder_key(ticket, reason) in ticket.reminded:
        return None
    at = ticket.window_from + (deadline - ticket.window_from) * share
    return (reason, at) if at < deadline else None


def next_check(ticket: Ticket, policy: Policy) -> datetime | None:
    """When this ticket next needs a look: a reminder, its claim, resolve or feedback deadline,
    a whistle's or a meeting's, the end of its time on the shelf. At the top (no one above to
    escalate to) only a reminder can decide anything: a lapsed whistle or deadline there is not
    a check, or it would stand in the past before the reminders still to come."""
    if ticket.status == "shelved":
        return ticket.shelved_until
    if ticket.status in ("assigned", "claimed"):
        reminder = reminder_due(ticket, policy)
        times = [reminder[1]] if reminder else []
        if ticket.assignee is None or has_above(ticket.assignee, policy):
            deadline = ticket.claim_by if ticket.status == "assigned" else ticket.resolve_by
            times += [
                t for t in (deadline, next_report_due(ticket), meeting_due(ticket, policy)) if t
            ]
        return min(times, default=None)
    if ticket.status == "resolved":
        return feedback_due(ticket, policy)
    return None


def _overdue(ticket: Ticket, now: datetime) -> EscalationReason | None:
    if ticket.status == "assigned" and ticket.claim_by is not None and ticket.claim_by <= now:
        return "claim_overdue"
    if ticket.status == "claimed" and ticket.resolve_by is not None and ticket.resolve_by <= now:
        return "resolve_overdue"
    return None


def on_tick(ticket: Ticket, tick: ClockTicked, policy: Policy) -> list[Decision]:
    now = tick.time
    cause = f"{ticket.ticket_id}:{ticket.attempt}"
    if ticket.status == "shelved":
        return unadopted(ticket, tick, policy)
    if ticket.status == "resolved":
        closes = feedback_due(ticket, policy)
        if closes is None or now < closes:
            return []
        assert ticket.resolved_at is not None and ticket.promised_by is not None
        return [
            TicketClosed(
                **envelope(
                    tick,
                    "closed:no_feedback",
                    policy,
                    ticket.version,
                    subject=ticket.ticket_id,
                    cause_key=cause,
                ),
                data=ClosedData(
                    ticket_id=ticket.ticket_id,
                    outcome="resolved",
                    on_time=ticket.resolved_at <= ticket.promised_by,
                ),
            )
        ]
    reminder = reminder_due(ticket, policy)
    if reminder is not None and now >= reminder[1]:
        # 催办 before 督办: the unit is warned before the ticket goes over its head, also when
        # the first tick to notice comes after the deadline (the escalation follows next tick)
        key = f"{ticket.ticket_id}:{reminder_key(ticket, reminder[0])}"
        return [reminded(ticket, tick, policy, reminder[0], "reminded", cause_key=key)]
    whistled = unanswered(ticket, tick, policy)  # a member whistled in who never came
    if whistled:
        return whistled
    if ticket.meeting_at is not None:
        return unheld(ticket, tick, policy)  # the meeting's deadline stands for the resolve one
    reason = _overdue(ticket, now)
    if reason is None:
        return []
    return one_up(ticket, tick, policy, reason, f"escalated:{reason}", cause)
