"""A report's period: whole days in China time, the period before it, and its chart buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schemas.words import CHINA


class PeriodError(ValueError):
    """``--from``/``--to`` are not dates, or the period ends before it starts."""


@dataclass(frozen=True, slots=True)
class Period:
    """``first`` to ``last``, both included, in China time."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None) -> Period:
        if not first or not last:
            raise PeriodError("a report needs both from and to (YYYY-MM-DD)")
        try:
            found = cls(date.fromisoformat(first), date.fromisoformat(last))
        except ValueError as err:
            raise PeriodError(f"from/to must be dates (YYYY-MM-DD): {first!r}, {last!r}") from err
        if found.last < found.first:
            raise PeriodError(f"to ({last}) is before from ({first})")
        return found

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), CHINA)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), CHINA)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    @property
    def grain(self) -> str:
        """The chart bucket: a day up to a month, a week up to a quarter, else a month."""
        return "day" if self.days <= 31 else "week" if self.days <= 92 else "month"

    def bucket(self, moment: datetime) -> str:
        day = moment.astimezone(CHINA).date()
        if self.grain == "day":
            return day.isoformat()
        if self.grain == "week":
            return max(day - timedelta(days=day.weekday()), self.first).isoformat()
        return day.strftime("%Y-%m")

    def buckets(self) -> list[str]:
        """Every bucket of the period, in order (empty ones included)."""
        out: list[str] = []
        day = self.first
        while day <= self.last:
            label = self.bucket(datetime.combine(day, time(12), CHINA))
            if not out or out[-1] != label:
                out.append(label)
            day += timedelta(days=1)
        return out

    def as_json(self) -> dict[str, str | int]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days}
