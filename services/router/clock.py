"""The router's shell-side time keeping: the ticker's ticks, and an index of who is due when.

The index is derived state, kept in memory per partition and rebuilt from the tickets table
after every rebalance, so a restart loses no deadline: the deadlines themselves live in the
ticket state (changelogged), never in a timer.
"""

from __future__ import annotations

import heapq
from datetime import datetime


class DeadlineIndex:
    """Per partition, a heap of (next deadline, ticket id); stale entries are checked away."""

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}

    def is_built(self, partition: int) -> bool:
        return partition in self._heaps

    def build(self, partition: int, entries: list[tuple[datetime, str]]) -> None:
        heapq.heapify(entries)
        self._heaps[partition] = entries

    def push(self, partition: int, when: datetime | None, ticket_id: str) -> None:
        heap = self._heaps.get(partition)
        if heap is not None and when is not None:
            heapq.heappush(heap, (when, ticket_id))

    def due(self, partition: int, now: datetime) -> list[str]:
        heap = self._heaps.get(partition, [])
        out: list[str] = []
        while heap and heap[0][0] <= now:
            ticket_id = heapq.heappop(heap)[1]
            if ticket_id not in out:
                out.append(ticket_id)
        return out

    def drop(self, partition: int) -> None:
        """A partition given up: its owner rebuilds its index from the restored state."""
        self._heaps.pop(partition, None)

    def forget(self) -> None:
        """After a rebalance: rebuild each partition from the table at its next tick."""
        self._heaps.clear()

    def __len__(self) -> int:
        return sum(len(heap) for heap in self._heaps.values())
