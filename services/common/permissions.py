"""Who may do what (CONTRACT.md, "Identities and permissions"): the one table of actions, and
who may see a ticket. Pure: a principal, the facts of a ticket, the policy's grid → a verdict.

Every HTTP door that acts on a ticket asks here; nothing else decides a permission. The grid
path is the policy's (``grid_of(policy).chain(unit)``): a handler of a unit above the
assignee may act for it; a department (not on the grid) is its own path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from schemas.events import Principal, helper_id
from schemas.policy import Policy
from schemas.policy.grid import grid_of

CONVENER_SUFFIX = ":convener"

Rule = Literal[
    "assignee_path",  # a handler whose unit is the assignee or above it on the grid path
    "holding_community",  # a handler of the community holding the ticket, or under it
    "whistled_department",  # a handler of a department or committee member whistled in
    "submitter_or_operator",  # the source that submitted it, or an operator (回访)
    "operator",
    "convener",  # a handler who is the ticket's 近邻恳谈会 convener
    "adopter",  # a handler or helper, for a ticket on the shelf
]

ACTIONS: dict[str, Rule] = {
    "claim": "assignee_path",
    "reject": "assignee_path",
    "resolve": "assignee_path",
    "extend": "assignee_path",
    "whistle": "holding_community",
    "report_in": "whistled_department",
    "feedback": "submitter_or_operator",
    "reopen": "submitter_or_operator",
    "supplement": "submitter_or_operator",
    "approve": "operator",
    "refuse": "operator",
    "reassign": "operator",
    "reclassify": "operator",
    "invalidate": "operator",
    "split": "operator",
    "merge": "operator",
    "remind": "operator",
    "schedule": "convener",
    "hold": "convener",
    "adopt": "adopter",
}

WHO: dict[Rule, str] = {
    "assignee_path": "a handler of the assigned unit (or a unit above it on the grid path)",
    "holding_community": "a handler of the community holding the ticket (or a unit under it)",
    "whistled_department": "a handler of the department (or committee member) whistled in",
    "submitter_or_operator": "the source that submitted the ticket, or an operator",
    "operator": "an operator",
    "convener": "the ticket's 近邻恳谈会 convener",
    "adopter": "a handler or helper, for a ticket on the shelf",
}


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a permission depends on, as the views know it (refused updates left out)."""

    source: str
    assignee: str | None = None  # the current assignee's id
    path: tuple[str, ...] = ()  # every unit or department it was assigned or copied to
    whistled: tuple[str, ...] = ()  # departments and committee members whistled in
    shelved: bool = False


def path_of(unit_id: str, policy: Policy) -> list[str]:
    """The unit and every unit above it; a department, or an id the grid does not know, alone."""
    grid = grid_of(policy)
    if unit_id.endswith(CONVENER_SUFFIX):
        community = unit_id.removesuffix(CONVENER_SUFFIX)
        if community in grid.by_id:
            return [unit_id, *(u.id for u in grid.chain(community))]
    if unit_id in grid.by_id:
        return [u.id for u in grid.chain(unit_id)]
    return [unit_id]


def _community_of(unit_id: str, policy: Policy) -> str | None:
    grid = grid_of(policy)
    placed = grid.by_id.get(unit_id.removesuffix(CONVENER_SUFFIX))
    return placed.community if placed is not None else None


def _handler_unit(principal: Principal) -> str | None:
    return principal.unit if principal.kind == "handler" else None


def _allowed(principal: Principal, rule: Rule, facts: TicketFacts, policy: Policy) -> bool:
    unit = _handler_unit(principal)
    if rule == "operator":
        return principal.kind == "operator"
    if rule == "submitter_or_operator":
        return principal.kind == "operator" or (
            principal.kind == "source" and principal.name == facts.source
        )
    if rule == "adopter":
        return principal.kind in ("handler", "helper") and facts.shelved
    if principal.kind == "helper":  # a worry it adopted is its own to claim, resolve, extend
        return rule == "assignee_path" and facts.assignee == helper_id(principal.name)
    if unit is None or facts.assignee is None:
        return rule == "whistled_department" and unit is not None and unit in facts.whistled
    if rule == "assignee_path":
        return unit in path_of(facts.assignee, policy)
    if rule == "holding_community":
        community = _community_of(facts.assignee, policy)
        return community is not None and community in path_of(unit, policy)
    if rule == "whistled_department":
        return unit in facts.whistled
    return unit == facts.assignee and facts.assignee.endswith(CONVENER_SUFFIX)  # convener


def refusal(principal: Principal, action: str, facts: TicketFacts, policy: Policy) -> str | None:
    """Why ``principal`` may not ``action`` this ticket; None when it may."""
    rule = ACTIONS.get(action)
    if rule is None:
        return f"{action!r} is not an action of the contract"
    if _allowed(principal, rule, facts, policy):
        return None
    return f"{action} may be done only by {WHO[rule]}"


def may_see(principal: Principal, facts: TicketFacts, policy: Policy) -> bool:
    """``GET /v1/tickets/{id}``: the submitting source, the handlers on its assignment path
    (units above an assignee included, departments whistled in) and operators."""
    if principal.kind == "operator":
        return True
    if principal.kind == "source":
        return principal.name == facts.source
    if principal.kind == "helper":
        return facts.shelved or helper_id(principal.name) in facts.path
    unit = principal.unit
    return unit is not None and (unit in facts.whistled or unit in _reach(facts.path, policy))


def _reach(assigned: Iterable[str], policy: Policy) -> set[str]:
    return {u for a in assigned for u in path_of(a, policy)}


def is_operator(principal: Principal | None) -> bool:
    return principal is not None and principal.kind == "operator"
