"""How long a closed ticket stays in the router's hot state, and what it keeps after.

A closed ticket can still be reopened (回访 finds it unsolved, a reporter reopens it, a repeat
report reopens it), so it is never forgotten: after the policy's ``lifecycle.closed_retention``
(``CLOSED_RETENTION``, 7 days, by default) the shell keeps it
cold (serialised, off the working set) and warms it again when an input names it. Cold, it
keeps all the state reopen needs and the latest input ids (a late copy of a recent input is
still recognised); its refusals are dropped (their inputs are long committed). The open-place
index does not need closed tickets: closing frees the place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.policy.model import Lifecycle
from services.router.kernel.state import Ticket

CLOSED_RETENTION = Lifecycle().closed_retention
APPLIED_KEPT_COLD = 8


def is_cold(ticket: Ticket, now: datetime, retention: timedelta = CLOSED_RETENTION) -> bool:
    """Closed for at least ``retention`` (the ticket's policy's) at ``now`` (a tick's time)."""
    return (
        ticket.status == "closed"
        and ticket.closed_at is not None
        and now - ticket.closed_at >= retention
    )


def slim(ticket: Ticket) -> Ticket:
    """The ticket as it is kept cold."""
    return ticket.model_copy(update={"applied": ticket.applied[-APPLIED_KEPT_COLD:], "refused": ()})
