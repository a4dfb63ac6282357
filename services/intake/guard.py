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
from services.intake.updates import UpdateIn
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
    the action. An action outside the contract is left to the body's validation (422)."""
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
    return caller


Permitted = Annotated[Principal, Depends(permitted_update)]


async def state_errors(intake: Intake, ticket_id: str, update: UpdateIn) -> list[dict[str, str]]:
    """What the ticket as the intake knows it already rules out, answered at once (422) rather
    than as the router's dead letter: approving or refusing nothing pending, merging into no
    ticket or into itself. The router judges again; this only spares a round trip."""
    if update.action in ("approve", "refuse") and update.request is not None:
        waiting = await _pending(intake, ticket_id, update.request)
        if update.request not in waiting:
            listed = ", ".join(waiting) or "无"
            return [
                {
                    "pointer": "#/request",
                    "detail": f"没有待审核的申请 {update.request[:80]!r};待审核: {listed}",
                }
            ]
    if update.action == "schedule" and update.at is not None:
        found = await _state(intake, ticket_id)
        shown = view(found) if found is not None else None
        if shown is not None and shown.resolve_by is not None and update.at > shown.resolve_by:
            limit = shown.resolve_by.isoformat()
            return [{"pointer": "#/at", "detail": f"恳谈会须在办结时限 {limit} 前召开;先申请延期"}]
    if update.action == "merge" and update.into is not None:
        if update.into == ticket_id:
            return [{"pointer": "#/into", "detail": "不能并入自己"}]
        into = await _state(intake, update.into)
        target = view(into) if into is not None else None
        if target is None:
            return [{"pointer": "#/into", "detail": f"未知工单 {update.into[:40]!r}"}]
        if target.status == "closed":
            return [{"pointer": "#/into", "detail": f"工单 {update.into} 已结案,不能并入"}]
    return []


async def _pending(intake: Intake, ticket_id: str, request: str) -> list[str]:
    """The ids awaiting review on the ticket (read again from Kafka when ``request`` is not
    among them yet: the router's review_requested may be moments old)."""
    for attempt in range(2):
        state = intake.readmodel.state(ticket_id)
        shown = view(state) if state is not None else None
        waiting = [p.request for p in shown.pending] if shown is not None else []
        if request in waiting or attempt:
            return waiting
        await intake.readmodel.tail.sync()
    return []
