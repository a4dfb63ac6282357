"""Where a request belongs: the most specific unit of the five-level grid a location names.

Order of evidence: a micro-grid id or name; an address fragment of a micro-grid; a community or
street name (or alias) in the location, the address or the description. Nothing resolvable →
the district, whose command center triages. A request is never dropped for its location.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.schemas.events import Level, Location
from dispatch.services.router.policy import Handler, Policy


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


class Directory:
    """Lookups over a policy's grid directory, built once per policy."""

    def __init__(self, policy: Policy) -> None:
        district = policy.district
        root = Placed(
            district.id, "district", district.name, district.command_center, None, None, None
        )
        self.root = root
        self.by_id: dict[str, Placed] = {root.id: root}
        names: list[tuple[str, str]] = []
        fragments: list[tuple[str, str]] = []
        for street in district.streets:
            self._add(
                Placed(street.id, "street", street.name, street.handler, root.id, None, street.id)
            )
            names += [(n, street.id) for n in (street.name, *street.aliases)]
            for com in street.communities:
                self._add(
                    Placed(
                        com.id, "community", com.name, com.secretary, street.id, com.id, street.id
                    )
                )
                names += [(n, com.id) for n in (com.name, *com.aliases)]
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
                        names.append((micro.name, micro.id))
                        fragments += [(f, micro.id) for f in micro.addresses]
        # Longest first: the most specific text wins.
        self.names = sorted(names, key=lambda item: -len(item[0]))
        self.fragments = sorted(fragments, key=lambda item: -len(item[0]))
        self.conveners = {c.id: c.convener for s in district.streets for c in s.communities}

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

    def _by_fragment(self, text: str, within: str | None) -> Placed | None:
        for fragment, unit_id in self.fragments:
            if fragment in text and _bounded(text, fragment):
                unit = self.by_id[unit_id]
                if within is None or unit.community == within:
                    return unit
        return None

    def _by_name(self, text: str) -> Placed | None:
        for name, unit_id in self.names:
            if name in text:
                return self.by_id[unit_id]
        return None

    def locate(self, location: Location | None, description: str) -> Located:
        loc = location or Location()
        if loc.microgrid:
            unit = self.by_id.get(loc.microgrid)
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
        return Located(self.root, "location not in the grid directory: district triage")
