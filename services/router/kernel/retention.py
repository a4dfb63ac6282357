"""How long a closed ticket stays in the router's hot state, and what it keeps after.

A closed ticket can still be reopened (回访 finds it unsolved, a reporter reopens it, a repeat
report reopens it), so it is never forgotten: after ``CLOSED_RETENTION`` the shell keeps it
cold (serialised, off the working set) and warms it again when an input names it. Cold, it
keeps all the state reopen needs and the latest input ids (a late copy of a recent input is
still recognised); its refusals are dropped (their inputs are long committed). The open-place
index does not need closed tickets: closing frees the place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.router.kernel.state import Ticket

CLOSED_RETENTION = timedelta(days=7)
APPLIED_KEPT_COLD = 8


def is_cold(ticket: Ticket, now: datetime) -> bool:
    """Closed for at least the retention at ``now`` (a clock tick's time)."""
    return (
        ticket.status == "closed"
        and ticket.closed_at is not None
        and now - ticket.closed_at >= CLOSED_RETENTION
    )


def slim(ticket: Ticket) -> Ticket:
    """The ticket as it is kept cold."""
    return ticket.model_copy(update={"applied": ticket.applied[-APPLIED_KEPT_COLD:], "refused": ()})
