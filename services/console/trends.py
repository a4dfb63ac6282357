"""Requests over time: per day (Beijing time) by source and by tier, the last ``DAYS`` days.

Pure and bounded: days older than ``DAYS`` before the newest are dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from schemas.words import CHINA

DAYS = 14


def day_of(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


@dataclass
class Trends:
    by_source: dict[date, Counter[str]] = field(default_factory=dict)
    tiers: dict[date, dict[str, str]] = field(default_factory=dict)  # day: ticket → tier

    def received(self, when: datetime, source: str) -> None:
        day = day_of(when)
        self.by_source.setdefault(day, Counter())[source] += 1
        self._prune()

    def classified(self, when: datetime, tier: str, ticket_id: str) -> None:
        """A reclassification replaces the ticket's tier; it still counts once."""
        self.tiers.setdefault(day_of(when), {})[ticket_id] = tier
        self._prune()

    def _prune(self) -> None:
        days = set(self.by_source) | set(self.tiers)
        oldest = max(days) - timedelta(days=DAYS - 1)
        for table in (self.by_source, self.tiers):
            for day in [d for d in table if d < oldest]:
                del table[day]

    def window(self, today: date, days: int) -> list[date]:
        return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]

    def sources(self, days: list[date]) -> Counter[str]:
        total: Counter[str] = Counter()
        for day in days:
            total.update(self.by_source.get(day, Counter()))
        return total

    def tier_counts(self, days: list[date]) -> Counter[str]:
        total: Counter[str] = Counter()
        for day in days:
            total.update(self.tiers.get(day, {}).values())
        return total

    def daily(self, days: list[date]) -> list[tuple[date, int]]:
        """Requests received on each day."""
        return [(day, sum(self.by_source.get(day, Counter()).values())) for day in days]
