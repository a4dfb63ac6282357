"""The intake's doors to the permission table (``services.common.permissions``): which ticket a
caller may see (404 otherwise) and which update a caller may post (403 otherwise)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from schemas.events import Principal
from services.common.permissions import ACTIONS, may_see, refusal
from services.intake.auth import Caller, IntakeDep
from services.intake.problems import ProblemError
from services.intake.runtime import Intake
from services.intake.updates import EVENT_TYPE
from services.intake.views import TicketState, TicketView, facts_of, view


async def _state(intake: Intake, ticket_id: str) -> TicketState | None:
    """The ticket, also when another instance accepted it a moment ago."""
    found = intake.readmodel.state(ticket_id)
    if found is None:
        await intake.readmodel.tail.sync()
        found = intake.readmodel.state(ticket_id)
    return found


def _missing(ticket_id: str) -> ProblemError:
    return ProblemError(404, f"no ticket {ticket_id[:40]!r} that this credential may see")


async def visible_state(intake: Intake, ticket_id: str, caller: Principal) -> TicketState:
    """The ticket's state; 404 when there is none or the caller may not see it."""
    state = await _state(intake, ticket_id)
    facts = facts_of(state) if state is not None else None
    if state is None or facts is None or not may_see(caller, facts, intake.policy):
        raise _missing(ticket_id)
    return state


async def visible_view(intake: Intake, ticket_id: str, caller: Principal) -> TicketView:
    shown = view(await visible_state(intake, ticket_id, caller))
    if shown is None:
        raise _missing(ticket_id)
    return shown


async def _action_of(request: Request) -> Any:
    try:
        body = await request.json()
    except ValueError:
        return None  # the body's own validation answers 422
    return body.get("action") if isinstance(body, dict) else None


async def permitted_update(
    ticket_id: str, request: Request, caller: Caller, intake: IntakeDep
) -> Principal:
    """Before the body is validated: 404 for no such ticket, 403 when the caller may not do
    the action, then a 422 "not yet supported" for a contract action this intake cannot
    carry out yet. An action outside the contract is left to the body's validation (422)."""
    action = await _action_of(request)
    if not isinstance(action, str) or action not in ACTIONS:
        return caller
    state = await _state(intake, ticket_id)
    facts = facts_of(state) if state is not None else None
    if facts is None:
        raise ProblemError(404, f"no ticket {ticket_id[:40]!r}")
    why = refusal(caller, action, facts, intake.policy)
    if why is not None:
        raise ProblemError(403, why)
    if action not in EVENT_TYPE:
        raise ProblemError(
            422,
            f"{action} is not yet supported by this intake",
            title="Not yet supported",
            errors=[{"pointer": "#/action", "detail": f"{action}: not yet supported"}],
        )
    return caller


Permitted = Annotated[Principal, Depends(permitted_update)]
