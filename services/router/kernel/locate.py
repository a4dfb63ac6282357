"""Where a request belongs: the most specific unit of the five-level grid a location names.

Order of evidence: a micro-grid id or name; an address fragment of a micro-grid; a community or
street name (or alias) in the location, the address or the description. Nothing resolvable →
the district, whose command center triages. A request is never dropped for its location.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Location
from schemas.policy import Policy
from schemas.policy.grid import Grid, Placed, grid_of
from schemas.policy.memo import per_policy


@dataclass(frozen=True, slots=True)
class Located:
    unit: Placed
    evidence: str


def _bounded(text: str, fragment: str) -> bool:
    """``fragment`` occurs in ``text`` not glued to a digit: 9幢20号 is not in 39幢20号."""
    start = text.find(fragment)
    while start != -1:
        before = text[start - 1] if start > 0 else ""
        if not (before.isdigit() and fragment[0].isdigit()):
            return True
        start = text.find(fragment, start + 1)
    return False


class Locator:
    """The grid's names and address fragments, longest first: the most specific text wins."""

    def __init__(self, policy: Policy) -> None:
        self.grid: Grid = grid_of(policy)
        names: list[tuple[str, str]] = []
        fragments: list[tuple[str, str]] = []
        for street in policy.district.streets:
            names += [(n, street.id) for n in (street.name, *street.aliases)]
            for com in street.communities:
                names += [(n, com.id) for n in (com.name, *com.aliases)]
                for area in com.areagrids:
                    for micro in area.microgrids:
                        names.append((micro.name, micro.id))
                        fragments += [(f, micro.id) for f in micro.addresses]
        self.names = sorted(names, key=lambda item: -len(item[0]))
        self.fragments = sorted(fragments, key=lambda item: -len(item[0]))

    def _by_fragment(self, text: str, within: str | None) -> Placed | None:
        for fragment, unit_id in self.fragments:
            if fragment in text and _bounded(text, fragment):
                unit = self.grid.by_id[unit_id]
                if within is None or unit.community == within:
                    return unit
        return None

    def _by_name(self, text: str) -> Placed | None:
        for name, unit_id in self.names:
            if name in text:
                return self.grid.by_id[unit_id]
        return None

    def locate(self, location: Location | None, description: str) -> Located:
        loc = location or Location()
        by_id = self.grid.by_id
        if loc.microgrid:
            unit = by_id.get(loc.microgrid)
            if unit is not None and unit.level == "microgrid":
                return Located(unit, f"microgrid id {loc.microgrid}")
            named = self._by_name(loc.microgrid)
            if named is not None and named.level == "microgrid":
                return Located(named, f"microgrid name {named.name}")
        community = self._by_name(loc.community) if loc.community else None
        within = community.community if community is not None else None
        for text, what in ((loc.address, "address"), (description, "description")):
            if not text:
                continue
            unit = self._by_fragment(text, within)
            if unit is not None:
                return Located(unit, f"{what} matches {unit.name}")
        if community is not None:
            return Located(community, f"community {community.name}")
        for text, what in ((loc.address, "address"), (description, "description")):
            unit = self._by_name(text) if text else None
            if unit is not None:
                return Located(unit, f"{what} names {unit.name}")
        return Located(self.grid.root, "location not in the grid directory: district triage")


locator_of = per_policy(Locator)


def locate(policy: Policy, location: Location | None, description: str) -> Located:
    """The unit of ``policy``'s grid that a request's location and text name."""
    return locator_of(policy).locate(location, description)
