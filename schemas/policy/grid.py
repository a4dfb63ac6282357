"""The five-level grid of a policy as lookups: every unit by id, its chain up to the district.

A data contract shared by every service that names units (the router assigns to them, the
notifier finds their channels, the audit and the reports group by them). Where a request's
text places it is the router's business (``services/router/kernel/locate.py``), not this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Level
from schemas.policy.memo import per_policy
from schemas.policy.model import Handler, Member, Policy


@dataclass(frozen=True, slots=True)
class Placed:
    """A unit of the grid with its place in the hierarchy."""

    id: str
    level: Level
    name: str
    handler: Handler
    parent: str | None
    community: str | None
    street: str | None


class Grid:
    """Every unit of a policy's district by id, with its chain up to the district."""

    def __init__(self, policy: Policy) -> None:
        district = policy.district
        root = Placed(
            district.id, "district", district.name, district.command_center, None, None, None
        )
        self.root = root
        self.by_id: dict[str, Placed] = {root.id: root}
        for street in district.streets:
            self._add(
                Placed(street.id, "street", street.name, street.handler, root.id, None, street.id)
            )
            for com in street.communities:
                self._add(
                    Placed(
                        com.id, "community", com.name, com.secretary, street.id, com.id, street.id
                    )
                )
                for area in com.areagrids:
                    self._add(
                        Placed(
                            area.id, "areagrid", area.name, area.leader, com.id, com.id, street.id
                        )
                    )
                    for micro in area.microgrids:
                        self._add(
                            Placed(
                                micro.id,
                                "microgrid",
                                micro.name,
                                micro.leader,
                                area.id,
                                com.id,
                                street.id,
                            )
                        )
        self.conveners = {c.id: c.convener for s in district.streets for c in s.communities}
        self.members: dict[str, tuple[str, Member]] = {
            m.id: (c.id, m) for s in district.streets for c in s.communities for m in c.members
        }
        """兼职委员 by id, with the community whose committee they sit on"""

    def _add(self, unit: Placed) -> None:
        self.by_id[unit.id] = unit

    def chain(self, unit_id: str) -> list[Placed]:
        """The unit and every unit above it, up to the district."""
        out: list[Placed] = []
        current: str | None = unit_id
        while current is not None:
            unit = self.by_id[current]
            out.append(unit)
            current = unit.parent
        return out

    def above(self, unit_id: str, level: Level) -> Placed:
        """The unit at ``level`` on the chain from ``unit_id`` (the district if none)."""
        for unit in self.chain(unit_id):
            if unit.level == level:
                return unit
        return self.root


@per_policy
def grid_of(policy: Policy) -> Grid:
    """The policy's grid, built once per policy content."""
    return Grid(policy)


CONVENER_SUFFIX = ":convener"


def assignable(unit_or_department: str, policy: Policy) -> bool:
    """Whether a ticket can be given to this id: a unit of the grid, a department, or a
    community's 近邻恳谈会 convener (``<community id>:convener``)."""
    if unit_or_department in policy.department_by_id:
        return True
    grid = grid_of(policy)
    if unit_or_department.endswith(CONVENER_SUFFIX):
        return unit_or_department.removesuffix(CONVENER_SUFFIX) in grid.conveners
    return unit_or_department in grid.by_id
