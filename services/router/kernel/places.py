"""The open-place index (多次反映): which open ticket holds each place key. The one home of the
index's bookkeeping: the router's shell, the audit's replay and the bench all keep the index
through ``index_change``. Whether a request repeats a holder is ``repeats.py``'s rule.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import Protocol

from services.router.kernel import repeats
from services.router.kernel.repeats import OpenTickets

__all__ = ["OpenTickets", "PlaceChange", "apply_changes", "index_change", "place_holder"]


class Placed(Protocol):
    """What the index needs of a ticket's state."""

    @property
    def ticket_id(self) -> str: ...
    @property
    def place(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def merged_into(self) -> str | None: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def point(self) -> tuple[float, float] | None: ...


PlaceChange = tuple[str, str | None]
"""(place, the ticket now holding it, or None: the place is free)"""


def place_key(unit_id: str, level: str, category: str) -> str | None:
    """The place key of a classification recorded before repeat rules named one (old logs)."""
    return None if level == "district" else f"{unit_id}|{category}"


def place_holder(after: Placed, holder: str | None) -> str | None:
    """Who holds ``after.place`` once ``after`` is the ticket's state: a ticket takes a free
    place (or one of an earlier report) while open or awaiting feedback, and frees it when
    closed. The value names the ticket, its report time and point (``repeats.Holder``)."""
    if after.place is None or after.merged_into is not None:
        return holder
    if after.status == "closed":
        held = repeats.Holder.parse(holder).ticket_id if holder is not None else None
        return None if held == after.ticket_id else holder
    if repeats.takes_place(after.ticket_id, after.received_at, after.point, holder):
        return repeats.Holder(after.ticket_id, after.received_at, after.point).value()
    return holder


def index_change(
    before: Placed | None, after: Placed | None, open_at: OpenTickets
) -> tuple[PlaceChange, ...]:
    """The changes a ticket going from ``before`` to ``after`` makes to the index: a place it
    left (reclassified under a category keyed another way) freed if it held it, then its
    place's new holder."""
    if after is None:
        return ()
    changes: list[PlaceChange] = []
    left = before.place if before is not None else None
    if left is not None and left != after.place:
        holder = open_at.get(left)
        if holder is not None and repeats.Holder.parse(holder).ticket_id == after.ticket_id:
            changes.append((left, None))
    if after.place is not None:
        holder = open_at.get(after.place)
        new = place_holder(after, holder)
        if new != holder:
            changes.append((after.place, new))
    return tuple(changes)


def apply_changes(index: MutableMapping[str, str], changes: Iterable[PlaceChange]) -> None:
    for place, holder in changes:
        if holder is None:
            index.pop(place, None)
        else:
            index[place] = holder
