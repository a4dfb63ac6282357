"""Repeat reports (多次反映): whether a new request is a repeat of an open ticket.

The policy names a rule per category (``Category.duplicates``): the same building, the same
micro-grid, or within a radius in metres (with lat/lon; without, the same micro-grid), within a
time window of the open ticket's report. A request located only to a community, an area grid
or the district is a repeat of nothing, and an emergency is never merged. A repeat raises its
ticket at most one level, once per window (``escalates``).

Matching goes through the open-place index the shell keeps (place key → holder): a ticket is
registered under one key (``place_of``); a new request looks up the keys it could repeat
(``lookups``: one, or the 3×3 cells around it for a radius) and checks each holder's report
time and point, which the holder value carries (``holder_value``/``Holder.parse``). A plain
ticket id (an index written before this module) reads as a holder of unknown time: a repeat.

The boundary for an operator's ``split``/``merge`` (a later issue): ``repeat_of`` is the only
decision that calls a request a repeat, and ``join`` the only one that merges a ticket into
another (closed as ``merged``, linked on the other's timeline): a ``merge`` action calls
``join`` with its own cause and the ticket's version; a ``split`` undoes it by the ids it made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from schemas.envelope import CloudEvent, Decision
from schemas.events import ClosedData, LinkedData, TicketClosed, TicketLinked
from schemas.policy import Category, Duplicates, Policy
from services.router.kernel.emit import envelope, summarise
from services.router.kernel.locate import Located, distance_m

SEP = "|"


class OpenTickets(Protocol):
    """The open-place index: which ticket holds a place key (a dict will do)."""

    def get(self, place: str, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Sighting:
    """What a new request offers for matching: its category, where, when."""

    category: Category
    located: Located
    point: tuple[float, float] | None
    at: datetime
    emergency: bool = False


@dataclass(frozen=True, slots=True)
class Holder:
    """The open ticket registered under a place key, with its report time and point."""

    ticket_id: str
    at: datetime | None = None
    point: tuple[float, float] | None = None

    def value(self) -> str:
        when = self.at.isoformat() if self.at is not None else ""
        where = f"{self.point[0]:.6f},{self.point[1]:.6f}" if self.point is not None else ""
        return SEP.join((self.ticket_id, when, where))

    @classmethod
    def parse(cls, value: str) -> Holder:
        ticket_id, _, rest = value.partition(SEP)
        when, _, where = rest.partition(SEP)
        point = None
        if where:
            lat, _, lon = where.partition(",")
            point = (float(lat), float(lon))
        return cls(ticket_id, datetime.fromisoformat(when) if when else None, point)


def _cell(point: tuple[float, float], radius: float) -> tuple[int, int]:
    """A square of side ``radius`` metres: every point within it lies in the 3×3 around."""
    y = point[0] * 111_320.0
    x = point[1] * 111_320.0 * math.cos(math.radians(point[0]))
    return math.floor(y / radius), math.floor(x / radius)


def _keys(s: Sighting, rule: Duplicates) -> tuple[str | None, list[str]]:
    """The key a ticket registers under, and the keys a request looks up."""
    unit, code = s.located.unit, s.category.code
    if unit.level != "microgrid":
        return None, []
    if rule.scope == "building":
        if s.located.building is None:
            return None, []
        key = f"b:{unit.id}:{s.located.building}{SEP}{code}"
        return key, [key]
    if rule.scope == "radius_m" and s.point is not None:
        assert rule.radius_m is not None
        row, col = _cell(s.point, rule.radius_m)
        scope = f"r{rule.radius_m:g}"
        return f"{scope}:{row}:{col}{SEP}{code}", _around(scope, row, col, code)
    key = f"m:{unit.id}{SEP}{code}"
    return key, [key]


def _around(scope: str, row: int, col: int, code: str) -> list[str]:
    """A radius key's cell and the eight around it."""
    return [f"{scope}:{row + dr}:{col + dc}{SEP}{code}" for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def reach(place: str) -> list[str]:
    """The keys a request whose ticket holds ``place`` looks up (``_keys``): the key itself,
    and for a radius key the eight cells around it. Two tickets meet in the index only when
    one's key is in the other's reach (the audit splits its replay by that: audit/groups.py)."""
    where, sep, code = place.partition(SEP)
    parts = where.split(":")
    if not sep or len(parts) != 3 or not parts[0].startswith("r"):
        return [place]
    try:
        row, col = int(parts[1]), int(parts[2])
    except ValueError:
        return [place]
    return _around(parts[0], row, col, code)


def place_of(s: Sighting) -> str | None:
    """The key a ticket of this request holds in the open-place index (None: no place)."""
    rule = s.category.duplicates
    return None if rule is None or s.emergency else _keys(s, rule)[0]


def _matches(s: Sighting, holder: Holder, rule: Duplicates) -> bool:
    if holder.at is not None and not (holder.at <= s.at <= holder.at + rule.window):
        return False
    if rule.scope == "radius_m" and s.point is not None:
        assert rule.radius_m is not None
        return holder.point is not None and distance_m(s.point, holder.point) <= rule.radius_m
    return True


def repeat_of(s: Sighting, open_at: OpenTickets, ticket_id: str) -> str | None:
    """The open ticket that request ``ticket_id`` repeats, by its category's rule, else None."""
    rule = s.category.duplicates
    if rule is None or s.emergency:
        return None
    best: Holder | None = None
    for key in _keys(s, rule)[1]:
        value = open_at.get(key)
        if value is None:
            continue
        holder = Holder.parse(value)
        if holder.ticket_id == ticket_id or not _matches(s, holder, rule):
            continue
        if best is None or (holder.at or s.at, holder.ticket_id) < (
            best.at or s.at,
            best.ticket_id,
        ):
            best = holder
    return best.ticket_id if best is not None else None


def join(
    cause: CloudEvent,
    ticket_id: str,
    into: str,
    description: str,
    policy: Policy,
    version: int = 0,
) -> list[Decision]:
    """Ticket ``ticket_id`` closed as merged into ``into``, and the link that carries it to
    ``into``'s partition and timeline (lifecycle: raised a level, once per window)."""
    closed = TicketClosed(
        **envelope(cause, "closed:merged", policy, version, subject=ticket_id),
        data=ClosedData(ticket_id=ticket_id, outcome="merged", merged_into=into, on_time=None),
    )
    linked = TicketLinked(
        **envelope(cause, "linked", policy, version, subject=into),
        data=LinkedData(ticket_id=into, repeat=ticket_id, summary=summarise(description)),
    )
    return [closed, linked]


def window_of(category: str | None, policy: Policy) -> Duplicates | None:
    found = policy.category_by_code.get(category) if category else None
    return found.duplicates if found is not None else None


def escalates(
    category: str | None, raised_at: datetime | None, at: datetime, policy: Policy
) -> bool:
    """Whether a repeat reported at ``at`` raises its ticket a level: once per window."""
    if raised_at is None:
        return True
    rule = window_of(category, policy)
    return rule is None or at >= raised_at + rule.window


def takes_place(
    ticket_id: str, at: datetime, point: tuple[float, float] | None, holder: str | None
) -> bool:
    """Whether an open ticket reported ``at`` takes its place from ``holder``: a free place, or
    one held by an earlier report (whose window a newer one carries on)."""
    if holder is None:
        return True
    held = Holder.parse(holder)
    if held.ticket_id == ticket_id:
        return held != Holder(ticket_id, at, point)
    return held.at is not None and (held.at, held.ticket_id) < (at, ticket_id)
