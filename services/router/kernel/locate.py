"""Where a request belongs: the most specific unit of the five-level grid a location names.

Order of evidence: a micro-grid id or name; an address fragment of a micro-grid (in the address,
then the description); the nearest micro-grid to the request's lat/lon; a community or street
name (or alias) in the location, the address or the description. Nothing resolvable → the
district, whose command center triages. A request is never dropped for its location.

Addresses are compared as people write them (``normalise``): 5栋, 5号楼, 5座, 5#, 五栋, 第5幢
and 5幢 are one building, and so are 5-2-301 and 5-301 (building-unit-room, after a place
name); full-width digits, spaces, 小区 and the word 社区 or 的 before a number do not matter,
nor does a missing district prefix (沙县) or extra words around the fragment.
The unit found records how (``evidence``) and, when the address names one, the building.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from schemas.events import Location
from schemas.policy import Policy
from schemas.policy.grid import Grid, Placed, grid_of
from schemas.policy.memo import per_policy
from services.router.kernel.wording import Vocabulary

_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_NUMERAL = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CHINESE_NUMBER = re.compile(
    r"(?<![零〇一二两三四五六七八九十百几])[零〇一二两三四五六七八九十百]+(?=号楼|栋|幢|座|号|单元)"
)
_BUILDING = re.compile(r"(\d+)\s*(?:号楼(?![道梯])|栋|座|幢|#楼?)")
_DASHED = re.compile(r"(?<=[^\d\s\-—.:/])(\d{1,3})(?:[-—]\d{1,4}){1,2}(?![\d\-—号.:/])")
"""building-unit-room as addresses are often written (7-2-301, 7-301): the building first"""
_BEFORE_NUMBER = re.compile(r"(?:社区|的|第)+(?=\d)")
_BUILDING_NUMBER = re.compile(r"\d+幢|\d+号")
NEAREST_WITHIN_M = 1500.0  # lat/lon farther than this from every micro-grid: not in the grid
_CELL_DEG = 0.01  # lat/lon index cells (~1 km)


def _number(text: str) -> int:
    """五 → 5, 十二 → 12, 二十 → 20, 一百零五 → 105, 一二 → 12 (digit by digit)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_NUMERAL[ch]) for ch in text))
    value, digit = 0, 0
    for ch in text:
        if ch in _NUMERAL:
            digit = _NUMERAL[ch]
        else:
            value += (digit or 1) * (10 if ch == "十" else 100)
            digit = 0
    return value + digit


def normalise(text: str) -> str:
    """An address as the directory writes it: ``沙县府前小区 五栋`` → ``沙县府前5幢``."""
    text = text.translate(_FULL_WIDTH)
    text = _CHINESE_NUMBER.sub(lambda m: str(_number(m.group(0))), text)
    text = _DASHED.sub(r"\1幢", "".join(text.split()))
    text = _BUILDING.sub(r"\1幢", text).replace("小区", "")
    return _BEFORE_NUMBER.sub("", text)


@dataclass(frozen=True, slots=True)
class Located:
    unit: Placed
    evidence: str
    building: str | None = None  # the building in the micro-grid the address names (5幢, 12号)


def _building(text: str) -> str | None:
    """The building a matched address names, as the micro-grid knows it: 府前9幢20号 → 9幢,
    府前路12号 → 12号, 洋坊新村3幢 → 3幢; a whole compound alone names none."""
    found = _BUILDING_NUMBER.search(text)
    return found.group(0) if found else None


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two (lat, lon) points (equirectangular: exact enough within a city)."""
    mean = math.radians((a[0] + b[0]) / 2)
    dy = math.radians(b[0] - a[0])
    dx = math.radians(b[1] - a[1]) * math.cos(mean)
    return 6_371_000.0 * math.hypot(dx, dy)


def _cell(point: tuple[float, float]) -> tuple[int, int]:
    return math.floor(point[0] / _CELL_DEG), math.floor(point[1] / _CELL_DEG)


_SECTION = re.compile(r"(.{2,}?)(?:[东南西北中]区|[一二三四五六七八九十\d]+期|[A-Za-z]区)")


def _stems(names: list[tuple[str, str]]) -> dict[str, str]:
    """Names without their section (城北新村南区 → 城北新村: residents leave out 南区, 二期),
    each for the one unit all of its sections belong to; a stem two units share names neither.
    """
    owners: dict[str, set[str]] = {}
    for name, unit_id in names:
        found = _SECTION.fullmatch(name)
        if found is not None:
            owners.setdefault(found.group(1), set()).add(unit_id)
    return {stem: next(iter(units)) for stem, units in owners.items() if len(units) == 1}


class Locator:
    """The grid's names and address fragments, longest first: the most specific text wins."""

    def __init__(self, policy: Policy) -> None:
        self.grid: Grid = grid_of(policy)
        names: list[tuple[str, str]] = []
        fragments: dict[str, str] = {}
        self.cells: dict[tuple[int, int], list[tuple[tuple[float, float], str]]] = {}
        for street in policy.district.streets:
            names += [(n, street.id) for n in (street.name, *street.aliases)]
            for com in street.communities:
                names += [(n, com.id) for n in (com.name, *com.aliases)]
                for area in com.areagrids:
                    for micro in area.microgrids:
                        names.append((micro.name, micro.id))
                        for fragment in micro.addresses:
                            fragments.setdefault(normalise(fragment), micro.id)
                        if micro.lat is not None and micro.lon is not None:
                            point = (micro.lat, micro.lon)
                            self.cells.setdefault(_cell(point), []).append((point, micro.id))
        # One pass over a text finds every fragment or name in it (wording.Vocabulary); the
        # longest found wins, ties to the directory's order.
        self.fragment_of = fragments
        self.fragment_rank = {f: i for i, f in enumerate(fragments)}
        self.fragment_words = tuple(fragments)
        self.name_of: dict[str, str] = {}
        for name, unit_id in names:
            self.name_of.setdefault(name, unit_id)
        for stem, unit_id in _stems(names).items():
            self.name_of.setdefault(stem, unit_id)
        self.name_rank = {n: i for i, n in enumerate(self.name_of)}
        self.name_words = tuple(self.name_of)
        self.vocabulary = Vocabulary([self.fragment_words, self.name_words])

    def _by_fragment(self, text: str, within: str | None) -> tuple[Placed, str | None] | None:
        """The micro-grid whose fragment ``text`` (normalised) names, with the building."""
        spans = self.vocabulary.scan(text).find(self.fragment_words)
        rank = self.fragment_rank
        for span in sorted(spans, key=lambda s: (s.start - s.end, rank[s.word], s.start)):
            fragment = span.word
            if span.start > 0 and text[span.start - 1].isdigit() and fragment[0].isdigit():
                continue  # 9幢20号 is not in 39幢20号
            unit = self.grid.by_id[self.fragment_of[fragment]]
            if within is not None and unit.community != within:
                continue
            return unit, _building(fragment + text[span.end :][:8])
        return None

    def _by_name(self, text: str) -> Placed | None:
        spans = self.vocabulary.scan(text).find(self.name_words)
        if not spans:
            return None
        rank = self.name_rank
        best = min(spans, key=lambda s: (s.start - s.end, rank[s.word]))
        return self.grid.by_id[self.name_of[best.word]]

    def nearest(self, point: tuple[float, float]) -> tuple[Placed, float] | None:
        """The micro-grid whose centre is nearest ``point``, within ``NEAREST_WITHIN_M``."""
        row, col = _cell(point)
        best: tuple[float, str] | None = None
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                for centre, unit_id in self.cells.get((row + dr, col + dc), ()):
                    d = distance_m(point, centre)
                    if best is None or (d, unit_id) < best:
                        best = (d, unit_id)
        if best is None or best[0] > NEAREST_WITHIN_M:
            return None
        return self.grid.by_id[best[1]], best[0]

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
            found = self._by_fragment(normalise(text), within) if text else None
            if found is not None:
                unit, building = found
                where = f"{unit.name} {building}" if building else unit.name
                return Located(unit, f"{what} matches {where}", building)
        if loc.lat is not None and loc.lon is not None:
            near = self.nearest((loc.lat, loc.lon))
            if near is not None:
                unit, metres = near
                return Located(unit, f"lat/lon nearest {unit.name} ({metres:.0f} m)")
        if community is not None:
            return Located(community, f"community {community.name}")
        for text, what in ((loc.address, "address"), (description, "description")):
            named = self._by_name(text) if text else None
            if named is not None:
                return Located(named, f"{what} names {named.name}")
        return Located(self.grid.root, "location not in the grid directory: district triage")


locator_of = per_policy(Locator)


def locate(policy: Policy, location: Location | None, description: str) -> Located:
    """The unit of ``policy``'s grid that a request's location and text name."""
    return locator_of(policy).locate(location, description)
