"""The router's one entry point: ``handle(state, input, policy, places) -> Outcome``.

Everything the router does with one input is decided here, and only here: the ticket's new
state, its decisions, a refusal (with its reason, remembered so a redelivery is refused again
for the same reason), a park (an update before its request), and the change to the open-place
index. The router's shell, ``dispatch audit replay --verify`` and the bench all call it; none
keeps a rule of its own. Pure: no Kafka, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import CloudEvent, Decision
from schemas.events import ClockTicked
from schemas.policy import Policy
from services.router.kernel.core import step
from services.router.kernel.errors import TransitionError, UnknownTicketError
from services.router.kernel.places import OpenTickets, PlaceChange, index_change
from services.router.kernel.state import Ticket

MAX_REFUSED = 16
"""Refusals a ticket remembers (the latest): enough for any redelivery, bounded for memory."""
MAX_APPLIED = 256
"""Input ids a ticket remembers for deduplication (the latest)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one input does. ``ticket`` is the state to keep (unchanged when nothing happened;
    None while the ticket is unknown); ``refusal`` the reason to dead-letter the input with;
    ``failed`` when that reason is an unexpected error of the logic, not a rule."""

    ticket: Ticket | None
    decisions: tuple[Decision, ...] = ()
    refusal: str | None = None
    failed: bool = False
    parked: bool = False
    places: tuple[PlaceChange, ...] = ()
    changed: bool = False


def refuse(ticket: Ticket, event_id: str, reason: str) -> Ticket:
    """Remember a refused input (the latest ``MAX_REFUSED``), so a redelivery of it is refused
    again with the same reason, never applied."""
    if ticket.has_refused(event_id):
        return ticket
    kept = (*ticket.refused, (event_id, reason))[-MAX_REFUSED:]
    return ticket.model_copy(update={"refused": kept})


def handle(
    ticket: Ticket | None, event: CloudEvent, policy: Policy, places: OpenTickets
) -> Outcome:
    """The outcome of ``event`` (an input, or a clock tick for this ticket) on ``ticket``."""
    try:
        after, decisions = step(ticket, event, policy, places)
    except UnknownTicketError:
        return Outcome(ticket, parked=True)
    except TransitionError as err:
        return _refused(ticket, event, str(err), failed=False)
    except Exception as err:  # a fault of the logic or the policy: this input only
        reason = f"the router's logic failed on {event.type} {event.id}: {err!r}"
        return _refused(ticket, event, reason, failed=True)
    if after is not None and len(after.applied) > MAX_APPLIED:
        after = after.model_copy(update={"applied": after.applied[-MAX_APPLIED:]})
    changed = after is not None and after != ticket
    return Outcome(
        after,
        tuple(decisions),
        places=index_change(ticket, after, places) if changed else (),
        changed=changed,
    )


def _refused(ticket: Ticket | None, event: CloudEvent, reason: str, failed: bool) -> Outcome:
    if ticket is None or isinstance(event, ClockTicked):
        return Outcome(ticket, refusal=reason, failed=failed)
    after = refuse(ticket, event.id, reason)
    return Outcome(after, refusal=reason, failed=failed, changed=after != ticket)
