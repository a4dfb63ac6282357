"""Which offsets of ``dispatch.decisions`` may be committed.

Deliveries finish out of order (a dead receiver retries while later decisions are done), so
per partition the committable offset is the lowest decision still in flight: a restart
redelivers every decision whose notifications were not all recorded, and nothing else.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class PartitionProgress:
    """Offsets taken in, in order, and which of them are finished."""

    def __init__(self) -> None:
        self.open: deque[int] = deque()  # taken in, in order; finished ones leave from the left
        self.pending: set[int] = set()  # taken in and not finished
        self.next: int | None = None  # one past the highest offset taken in

    def begin(self, offset: int) -> None:
        if self.next is not None and offset < self.next:
            return  # seen already (a redelivery after a seek): it is tracked
        self.open.append(offset)
        self.pending.add(offset)
        self.next = offset + 1

    def finish(self, offset: int) -> None:
        self.pending.discard(offset)
        while self.open and self.open[0] not in self.pending:
            self.open.popleft()

    @property
    def in_flight(self) -> int:
        return len(self.pending)

    def committable(self) -> int | None:
        """The offset to commit (the next record to read after a restart); None: nothing yet."""
        if self.open:
            return self.open[0]
        return self.next


class Progress(Generic[P]):
    """``PartitionProgress`` for every partition this consumer owns."""

    def __init__(self) -> None:
        self.partitions: dict[P, PartitionProgress] = {}
        self.committed: dict[P, int] = {}

    def of(self, partition: P) -> PartitionProgress:
        return self.partitions.setdefault(partition, PartitionProgress())

    def drop(self, partition: P) -> None:
        self.partitions.pop(partition, None)
        self.committed.pop(partition, None)

    @property
    def in_flight(self) -> int:
        return sum(p.in_flight for p in self.partitions.values())

    def to_commit(self, only: set[P] | None = None) -> dict[P, int]:
        """Offsets that moved since the last ``committed``; pass them back to ``mark``."""
        out: dict[P, int] = {}
        for partition, progress in self.partitions.items():
            if only is not None and partition not in only:
                continue
            offset = progress.committable()
            if offset is not None and offset != self.committed.get(partition):
                out[partition] = offset
        return out

    def mark(self, offsets: dict[P, int]) -> None:
        self.committed.update(offsets)
