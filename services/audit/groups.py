"""Which tickets a replay must take together, and how to share them among processes (pure).

The router's tickets meet in one place only: the open-place index (a request looks up the keys
in its reach, ``repeats.reach``, and a repeat is linked to its holder). So tickets fall into
groups that never meet: the tickets of each recorded place, with those whose places are in
each other's reach, and each repeat with the ticket it was linked to. Replayed group by group,
every ticket meets the index as it does in one replay of all. A ticket whose place the logic
now decides differently from its record diverges in its classification, so a log that diverges
in one replay of all diverges group by group too (the divergences that follow from the first
may differ).
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.events import TicketClassified, TicketLinked
from services.audit.cursor import Cursor
from services.audit.recorded import Recorded
from services.router.kernel.repeats import reach
from services.router.kernel.state import classified_place


class _Sets:
    """Union-find over ticket ids."""

    def __init__(self, items: list[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        if a in self.parent and b in self.parent:
            ra, rb = self.find(a), self.find(b)
            if ra != rb:
                self.parent[max(ra, rb)] = min(ra, rb)


def groups(cursors: Mapping[str, Cursor], recorded: Recorded) -> list[list[str]]:
    """The tickets of ``cursors`` in groups that never meet in the index, each in the order of
    ``cursors``, the groups in the order of their first ticket."""
    sets = _Sets(list(cursors))
    holders: dict[str, str] = {}  # place key → the first ticket recorded there
    for ticket_id in cursors:
        for decision_id in recorded.owned.get(ticket_id, []):
            event = recorded.decisions[decision_id].event
            if isinstance(event, TicketLinked):
                sets.union(event.subject, event.data.repeat)
            elif isinstance(event, TicketClassified):
                place = classified_place(event.data)
                if place is not None:
                    sets.union(holders.setdefault(place, ticket_id), ticket_id)
    for place, ticket_id in holders.items():
        for near in reach(place):
            if near in holders:
                sets.union(holders[near], ticket_id)
    found: dict[str, list[str]] = {}
    for ticket_id in cursors:
        found.setdefault(sets.find(ticket_id), []).append(ticket_id)
    return list(found.values())


def share(groups: list[list[str]], weights: Mapping[str, int], parts: int) -> list[list[str]]:
    """The groups dealt to ``parts`` processes, heaviest first to the lightest (a ticket weighs
    its inputs and recorded ticks); each part's tickets in the order of ``groups``. Parts left
    empty are dropped."""
    weight = [sum(weights.get(t, 1) for t in group) for group in groups]
    loads = [0] * max(parts, 1)
    dealt: list[list[int]] = [[] for _ in loads]
    for k in sorted(range(len(groups)), key=lambda k: (-weight[k], k)):
        lightest = min(range(len(loads)), key=lambda p: (loads[p], p))
        dealt[lightest].append(k)
        loads[lightest] += weight[k]
    return [[t for k in sorted(ks) for t in groups[k]] for ks in dealt if ks]
