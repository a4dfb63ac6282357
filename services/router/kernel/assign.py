"""Who acts: the first assignee by tier, and the next one up the five-level grid."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Assignee, Level
from schemas.policy import Policy
from schemas.policy.grid import Placed, grid_of
from schemas.policy.memo import per_policy
from services.router.kernel.locate import Located
from services.router.kernel.rules import Classification

KIND_BY_LEVEL: dict[str, str] = {
    "microgrid": "microgrid_leader",
    "areagrid": "areagrid_leader",
    "community": "community",
    "street": "street",
    "district": "command_center",
}
CONVENER_SUFFIX = ":convener"


@dataclass(frozen=True, slots=True)
class Target:
    level: Level
    assignee: Assignee
    copied_to: tuple[Assignee, ...] = ()
    rule: str = ""


_assignees = per_policy(lambda policy: dict[tuple[str, str], Assignee]())
"""A policy's assignees by (kind, id), each a frozen model built the first time it is needed
and not validated again for every ticket it gets. Keyed by the policy's content hash
(``per_policy``); the name is checked against the one asked with, so a copy of a policy with
other names gets its own."""


def _assignee(policy: Policy, kind: str, assignee_id: str, name: str) -> Assignee:
    known = _assignees(policy)
    found = known.get((kind, assignee_id))
    if found is None or found.name != name:
        found = known[(kind, assignee_id)] = Assignee(id=assignee_id, kind=kind, name=name)
    return found


def unit_assignee(policy: Policy, unit: Placed) -> Assignee:
    """The assignee of a unit of ``policy``'s grid."""
    name = f"{unit.name}·{unit.handler.name}"
    return _assignee(policy, KIND_BY_LEVEL[unit.level], unit.id, name)


def department_assignee(policy: Policy, department_id: str) -> Assignee:
    dep = policy.department_by_id[department_id]
    return _assignee(policy, "department", dep.id, dep.name)


def convener_assignee(policy: Policy, community: Placed) -> Assignee:
    convener = grid_of(policy).conveners[community.id]
    name = f"{community.name}近邻恳谈会·{convener.name}"
    return _assignee(policy, "convener", f"{community.id}{CONVENER_SUFFIX}", name)


def command_center(policy: Policy) -> Target:
    return Target("district", unit_assignee(policy, grid_of(policy).root))


def first(cls: Classification, located: Located, policy: Policy) -> Target:
    """大事全市解、中事部门解、小事就地解、杂事协商解; life-safety to the command center."""
    directory = grid_of(policy)
    unit = located.unit
    community = directory.by_id.get(unit.community) if unit.community else None
    copy = (unit_assignee(policy, community),) if community is not None else ()
    if cls.emergency or cls.tier == "city":
        involved = tuple(department_assignee(policy, d) for d in cls.departments)
        center = unit_assignee(policy, directory.root)
        if cls.emergency:
            return Target("district", center, involved + copy, "assign:emergency")
        return Target("district", center, involved, "assign:city")
    if cls.tier == "department" and cls.department is not None:
        dep = policy.department_by_id[cls.department]
        return Target(dep.level, department_assignee(policy, dep.id), copy, "assign:department")
    if cls.tier == "consultation" and community is not None:
        return Target("community", convener_assignee(policy, community), (), "assign:consultation")
    # 小事就地解 (and any tier without a better owner): the lowest unit the location resolved
    # to, which is the district command center when the location is unknown.
    return Target(unit.level, unit_assignee(policy, unit), (), f"assign:{cls.tier}:{unit.level}")


def _unit_of(assignee: Assignee, policy: Policy) -> Placed | None:
    """The grid unit behind an assignee (a convener belongs to their community)."""
    unit_id = assignee.id.removesuffix(CONVENER_SUFFIX)
    return grid_of(policy).by_id.get(unit_id)


def next_up(assignee: Assignee, policy: Policy) -> Target | None:
    """The unit above the current assignee; None at the top (the district command center).

    A department hands back to the command center (re-triage); a convener to the community.
    """
    if assignee.kind == "department":
        return command_center(policy)
    unit = _unit_of(assignee, policy)
    if unit is None:
        return command_center(policy)
    if assignee.kind == "convener":
        return Target(unit.level, unit_assignee(policy, unit))
    if unit.parent is None:
        return None
    parent = grid_of(policy).by_id[unit.parent]
    return Target(parent.level, unit_assignee(policy, parent))


def has_above(assignee: Assignee, policy: Policy) -> bool:
    """Whether anyone is above ``assignee`` to escalate to (``next_up``'s rule, not a copy)."""
    return next_up(assignee, policy) is not None


LEVELS: tuple[Level, ...] = ("microgrid", "areagrid", "community", "street", "district")


def street_of(unit_id: str | None, policy: Policy) -> Target:
    """提级督办 at the street of the ticket's place (the command center when it has none)."""
    unit = grid_of(policy).by_id.get(unit_id) if unit_id else None
    if unit is None or unit.street is None:
        return command_center(policy)
    street = grid_of(policy).by_id[unit.street]
    return Target("street", unit_assignee(policy, street))


def is_below(level: Level, other: Level) -> bool:
    return LEVELS.index(level) < LEVELS.index(other)


def target_of(unit_or_department: str, policy: Policy) -> Target | None:
    """改派: the unit of the grid, the department, or the community's convener named by id;
    None when the policy knows no such one."""
    if unit_or_department in policy.department_by_id:
        dep = policy.department_by_id[unit_or_department]
        return Target(dep.level, department_assignee(policy, dep.id))
    directory = grid_of(policy)
    if unit_or_department.endswith(CONVENER_SUFFIX):
        community = directory.by_id.get(unit_or_department.removesuffix(CONVENER_SUFFIX))
        if community is None or community.id not in directory.conveners:
            return None
        return Target("community", convener_assignee(policy, community))
    unit = directory.by_id.get(unit_or_department)
    return Target(unit.level, unit_assignee(policy, unit)) if unit is not None else None
