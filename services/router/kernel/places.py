"""The open-place index (多次反映): which open ticket holds each place+category, and whether a
new request repeats it. The one home of the repeat-report key and matching rules: the router's
shell, the audit's replay and the bench all keep the index through ``index_change``.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Protocol


class OpenTickets(Protocol):
    """Which ticket is open at a place+category (a dict will do)."""

    def get(self, place: str, /) -> str | None: ...


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


PlaceChange = tuple[str, str | None]
"""(place, the ticket now holding it, or None: the place is free)"""


def place_key(unit_id: str, level: str, category: str) -> str | None:
    """Where-and-what of a request: repeated reports of one place and category meet here.
    A request located only to the district is too vague to call anything a repeat of it."""
    return None if level == "district" else f"{unit_id}|{category}"


def repeat_of(
    open_at: OpenTickets, place: str | None, ticket_id: str, emergency: bool
) -> str | None:
    """The open ticket a new request repeats, if any (an emergency is never merged)."""
    if place is None or emergency:
        return None
    joined = open_at.get(place)
    return joined if joined is not None and joined != ticket_id else None


def place_holder(after: Placed, holder: str | None) -> str | None:
    """Who holds ``after.place`` once ``after`` is the ticket's state: a ticket takes a free
    place while open or awaiting feedback, and frees it when closed."""
    if after.place is None or after.merged_into is not None:
        return holder
    if after.status == "closed":
        return None if holder == after.ticket_id else holder
    return after.ticket_id if holder is None else holder


def index_change(after: Placed | None, open_at: OpenTickets) -> tuple[PlaceChange, ...]:
    """The change ``after`` makes to the index: nothing, or its place's new holder."""
    if after is None or after.place is None:
        return ()
    holder = open_at.get(after.place)
    new = place_holder(after, holder)
    return () if new == holder else ((after.place, new),)


def apply_changes(index: MutableMapping[str, str], changes: Iterable[PlaceChange]) -> None:
    for place, holder in changes:
        if holder is None:
            index.pop(place, None)
        else:
            index[place] = holder
