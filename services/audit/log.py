"""The recorded history an audit works on: every event read back, with where it was read.

Pure data: the reader (read.py) fills it from Kafka, the tests build it from the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from schemas import topics
from schemas.envelope import CloudEvent
from schemas.events import ClockTicked, InputRejected

INPUT_TOPICS = (topics.REQUESTS, topics.UPDATES, topics.LINKS)
"""What the router consumes besides the clock, in the order a ticket's inputs are merged."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record was read: a catalog topic name (no deployment prefix), partition, offset."""

    topic: str
    partition: int
    offset: int

    def label(self, prefix: str = "") -> str:
        return f"{prefix}{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True, slots=True)
class Logged:
    event: CloudEvent
    at: Position
    timestamp: datetime | None = None
    """the record's Kafka timestamp: for a decision, the router's clock when it decided"""


Letters = dict[tuple[str, int, int], list[Logged]]
"""Dead letters by the (physical topic, partition, offset) of the input they refuse."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record that is not an event of the contract (the router dead-letters such inputs)."""

    at: Position
    reason: str
    timestamp: datetime | None = None


@dataclass(frozen=True)
class AuditLog:
    """Every topic's records in (partition, offset) order; ``clock`` holds the last ticks."""

    prefix: str = ""
    records: dict[str, tuple[Logged, ...]] = field(default_factory=dict)
    unreadable: tuple[Unreadable, ...] = ()
    partitions: dict[str, int] = field(default_factory=dict)

    def of(self, topic: str) -> tuple[Logged, ...]:
        return self.records.get(topic, ())

    def physical(self, topic: str) -> str:
        return topics.topic_name(topic, self.prefix)

    def cut(self, until: datetime | None) -> AuditLog:
        """Only what happened up to ``until`` (event time; an unreadable record by its
        broker timestamp). A decision carries its cause's time, so none outlives its cause.
        Policy versions stay whenever published: they are the rules, not the history."""
        if until is None:
            return self
        kept = {
            topic: records
            if topic == topics.POLICIES
            else tuple(r for r in records if r.event.time <= until)
            for topic, records in self.records.items()
        }
        late = tuple(u for u in self.unreadable if u.timestamp is None or u.timestamp <= until)
        return replace(self, records=kept, unreadable=late)

    def ticks(self) -> list[ClockTicked]:
        return [r.event for r in self.of(topics.CLOCK) if isinstance(r.event, ClockTicked)]

    def router_letters(self) -> Letters:
        """The router's dead letters by the (physical topic, partition, offset) they name."""
        found: Letters = {}
        for logged in self.of(topics.DEADLETTER):
            letter = logged.event
            if not isinstance(letter, InputRejected) or letter.data.origin.service != "router":
                continue
            origin = letter.data.origin
            if origin.topic is None or origin.partition is None or origin.offset is None:
                continue
            found.setdefault((origin.topic, origin.partition, origin.offset), []).append(logged)
        return found

    def latest(self) -> datetime | None:
        """The time of the newest input, decision or tick read: the audit's "as of" (a policy's
        publication or a notification is no event of a ticket's history)."""
        history = (*INPUT_TOPICS, topics.DECISIONS, topics.CLOCK)
        times = [r.event.time for topic in history for r in self.of(topic)]
        return max(times, default=None)


def build(
    prefix: str,
    logged: Iterable[Logged],
    unreadable: Iterable[Unreadable] = (),
    partitions: dict[str, int] | None = None,
) -> AuditLog:
    """An ``AuditLog`` from records in any order (sorted by partition and offset per topic)."""
    by_topic: dict[str, list[Logged]] = {}
    for record in logged:
        by_topic.setdefault(record.at.topic, []).append(record)
    ordered = {
        topic: tuple(sorted(records, key=lambda r: (r.at.partition, r.at.offset)))
        for topic, records in by_topic.items()
    }
    return AuditLog(prefix, ordered, tuple(unreadable), dict(partitions or {}))
