"""The router's decisions: pure functions of (ticket state, input event, policy) → new events.

No Kafka, Faust, HTTP or asyncio here. Time comes from the input event; ids derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.schemas.envelope import CloudEvent, Decision, derive_id
from dispatch.schemas.events import (
    AssignedData,
    Assignee,
    ClassifiedData,
    Level,
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    Unit,
)
from dispatch.services.router.deadlines import due
from dispatch.services.router.locate import Located, Placed
from dispatch.services.router.policy import Policy
from dispatch.services.router.rules import Classification, Facts, classify
from dispatch.services.router.state import Ticket, apply, start

ROUTER_SOURCE = "/dispatch/router"

KIND_BY_LEVEL: dict[str, str] = {
    "microgrid": "microgrid_leader",
    "areagrid": "areagrid_leader",
    "community": "community",
    "street": "street",
    "district": "command_center",
}


SUMMARY_CHARS = 40


def summarise(description: str) -> str:
    """The first words of a request, on one line, for notification text."""
    line = " ".join(description.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


class TransitionError(ValueError):
    """An input the ticket's state does not allow (e.g. resolve before claim)."""


@dataclass(frozen=True, slots=True)
class Target:
    level: Level
    assignee: Assignee
    copied_to: tuple[Assignee, ...]
    rule: str


def unit_assignee(unit: Placed) -> Assignee:
    return Assignee(
        id=unit.id, kind=KIND_BY_LEVEL[unit.level], name=f"{unit.name}·{unit.handler.name}"
    )


def department_assignee(policy: Policy, department_id: str) -> Assignee:
    dep = policy.department_by_id[department_id]
    return Assignee(id=dep.id, kind="department", name=dep.name)


def target(cls: Classification, located: Located, policy: Policy) -> Target:
    """Who solves it: 小事 on the spot, 中事 a department, 大事 the district, 杂事 consultation."""
    directory = policy.directory
    unit = located.unit
    center = unit_assignee(directory.root)
    community = directory.by_id.get(unit.community) if unit.community else None
    community_copy = (unit_assignee(community),) if community is not None else ()
    involved = tuple(department_assignee(policy, d) for d in cls.departments)
    if cls.emergency:
        return Target("district", center, involved + community_copy, "assign:emergency")
    if cls.tier == "city":
        return Target("district", center, involved, "assign:city")
    if cls.tier == "department" and cls.department is not None:
        dep = policy.department_by_id[cls.department]
        return Target(
            dep.level, department_assignee(policy, dep.id), community_copy, "assign:department"
        )
    if cls.tier == "consultation" and community is not None:
        convener = directory.conveners[community.id]
        assignee = Assignee(
            id=f"{community.id}:convener",
            kind="convener",
            name=f"{community.name}近邻恳谈会·{convener.name}",
        )
        return Target("community", assignee, (), "assign:consultation")
    # 小事就地解: the lowest unit the location resolved to (the district when none).
    return Target(unit.level, unit_assignee(unit), (), f"assign:{cls.tier}:{unit.level}")


def _classified(
    event: RequestReceived, cls: Classification, located: Located, policy: Policy
) -> TicketClassified:
    unit = located.unit
    return TicketClassified(
        id=derive_id(event.id, "classified"),
        source=ROUTER_SOURCE,
        time=event.time,
        subject=event.subject,
        causationid=event.id,
        correlationid=event.correlationid,
        policyversion=policy.version,
        data=ClassifiedData(
            ticket_id=event.data.ticket_id,
            category=cls.category.code,
            category_name=cls.category.name,
            tier=cls.tier,
            emergency=cls.emergency,
            resolution=cls.resolution,
            department=cls.department,
            unit=Unit(id=unit.id, level=unit.level, name=unit.name),
            rule=cls.rule,
            evidence=[*cls.evidence, located.evidence],
        ),
    )


def on_request(event: RequestReceived, policy: Policy) -> list[Decision]:
    d = event.data
    cls = classify(
        Facts(
            description=d.description,
            category=d.category,
            urgent=d.urgent,
            households_affected=d.households_affected,
            resolution_hint=d.resolution_hint,
        ),
        policy,
    )
    located = policy.directory.locate(d.location, d.description)
    to = target(cls, located, policy)
    deadlines = due(d.received_at, cls.tier, cls.emergency, policy)
    assigned = TicketAssigned(
        id=derive_id(event.id, "assigned:1"),
        source=ROUTER_SOURCE,
        time=event.time,
        subject=event.subject,
        causationid=event.id,
        correlationid=event.correlationid,
        policyversion=policy.version,
        data=AssignedData(
            ticket_id=d.ticket_id,
            summary=summarise(d.description),
            tier=cls.tier,
            level=to.level,
            assignee=to.assignee,
            claim_by=deadlines.claim_by,
            resolve_by=deadlines.resolve_by,
            attempt=1,
            copied_to=list(to.copied_to),
            rule=to.rule,
        ),
    )
    return [_classified(event, cls, located, policy), assigned]


def decide(ticket: Ticket | None, event: CloudEvent, policy: Policy) -> list[Decision]:
    """The decisions ``event`` calls for; a redelivered input calls for none."""
    if ticket is not None and ticket.has_applied(event.id):
        return []
    if isinstance(event, RequestReceived):
        if ticket is not None:
            return []  # the same ticket again under another event id: already decided
        return on_request(event, policy)
    raise TransitionError(f"the router does not handle {event.type} yet")


def step(
    ticket: Ticket | None, event: CloudEvent, policy: Policy
) -> tuple[Ticket | None, list[Decision]]:
    """Decide, then fold the input and the decisions into the state."""
    decisions = decide(ticket, event, policy)
    if ticket is None and isinstance(event, RequestReceived):
        ticket = start(event, policy.version)
    elif ticket is not None:
        ticket = apply(ticket, event, is_input=True)
    for decision in decisions:
        assert ticket is not None
        ticket = apply(ticket, decision)
    return ticket, decisions
