"""解忧超市 (北海): pull, not push. A request from a source the policy routes to the shelf is put
there (``dispatch.ticket.shelved``) under its resolution type (政府解决类 / 市场解决类 /
爱心救助类) for ``shelf.shelf_hours``; a department's handler or a ``helper`` (a party member,
a market provider) adopts it (认领/认购: ``adopt``) and it is assigned to them; unadopted by
then, it is assigned to its place as any request is. Life-safety requests never wait there.
Pure: state + input (or tick) → decisions.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.envelope import CloudEvent, Decision
from schemas.events import (
    Assignee,
    RequestReceived,
    ShelvedData,
    TicketAdopted,
    TicketShelved,
    Unit,
    helper_id,
)
from schemas.policy import Policy
from services.router.kernel import assign
from services.router.kernel.assign import Target
from services.router.kernel.deadlines import after
from services.router.kernel.emit import envelope, summarise
from services.router.kernel.errors import TransitionError
from services.router.kernel.lifecycle import _decide, _require, assigned
from services.router.kernel.locate import Located
from services.router.kernel.rules import Classification
from services.router.kernel.state import Ticket
from services.router.kernel.workorder import _classification


def goes_on_shelf(event: RequestReceived, cls: Classification, policy: Policy) -> bool:
    return event.data.source in policy.shelf.sources and not cls.emergency


def shelved(
    event: RequestReceived, cls: Classification, located: Located, policy: Policy
) -> TicketShelved:
    unit = located.unit
    return TicketShelved(
        **envelope(event, "shelved", policy, 0),
        data=ShelvedData(
            ticket_id=event.data.ticket_id,
            summary=summarise(event.data.description),
            resolution=cls.resolution,
            category=cls.category.code,
            category_name=cls.category.name,
            tier=cls.tier,
            unit=Unit(id=unit.id, level=unit.level, name=unit.name),
            until=after(
                event.data.received_at, timedelta(hours=policy.shelf.shelf_hours), "wall", policy
            ),
        ),
    )


def adopter(event: TicketAdopted, policy: Policy) -> Target:
    """Who adopts: a helper by the name its token carries, a handler by its unit."""
    principal = event.data.principal
    if principal is not None and principal.kind == "helper":
        name = principal.name
        return Target("community", Assignee(id=helper_id(name), kind="helper", name=name))
    unit = principal.unit if principal is not None and principal.kind == "handler" else None
    target = assign.target_of(unit, policy) if unit else None
    if target is None:
        raise TransitionError(
            "adopt is for a helper or a handler of a unit or department of the policy "
            f"(the caller: {principal.kind + ':' + principal.name if principal else 'unknown'})"
        )
    return target


@_decide.register
def _(event: TicketAdopted, ticket: Ticket, policy: Policy) -> list[Decision]:
    """认领/认购: assigned to the adopter, with the tier's limits from now."""
    _require(ticket, event, "shelved")
    to = adopter(event, policy)
    return [assigned(ticket, event, policy, to, "shelf:adopted", "adopted")]


def unadopted(ticket: Ticket, tick: CloudEvent, policy: Policy) -> list[Decision]:
    """Off the shelf, nobody having adopted it: assigned as any request, limits from now."""
    if ticket.status != "shelved" or ticket.shelved_until is None:
        return []
    if tick.time < ticket.shelved_until:
        return []
    cls, located = _classification(ticket, policy)
    to = assign.first(cls, located, policy)
    key = f"{ticket.ticket_id}:unadopted"
    return [assigned(ticket, tick, policy, to, to.rule, "unadopted", cause_key=key)]
