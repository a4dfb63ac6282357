"""Deadlines: when a ticket must be claimed (签收) and resolved (办结), and what is overdue.

Pure: every start time comes from the event that caused the assignment, never from a clock.
Working time follows the policy's calendar (hours of a working day, holidays, 调休 workdays);
emergencies run on the wall clock. A ``DISPATCH_SLA_SCALE`` other than 1 turns every deadline
into scaled wall-clock time (an hour into 3.6 s at 0.001): a working calendar means nothing at
that speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.events import Tier
from schemas.policy import Deadline, Policy

DAY = timedelta(days=1)
MAX_DAYS_SEARCHED = 400  # no calendar has a year of holidays; bounds every loop below


@dataclass(frozen=True, slots=True)
class Due:
    claim_by: datetime
    resolve_by: datetime


def zone(policy: Policy) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(policy.timezone)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=8), policy.timezone)


DAYS_KEPT = 4096  # days whose working hours are remembered, per policy (about ten years)


class WorkingDays:
    """The policy's working hours day by day, each day's windows built once: a deadline is
    counted across the same few days by every request of a week."""

    def __init__(self, policy: Policy) -> None:
        self.calendar = policy.calendar
        self.timezone = policy.timezone
        self.zone = zone(policy)
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working hours as (start, end) in the policy's zone; none on a day off."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= DAYS_KEPT:
                self._days.clear()
            found = ()
            if self.calendar.is_workday(day):
                found = tuple(
                    (
                        datetime.combine(day, h.start, self.zone),
                        datetime.combine(day, h.end, self.zone),
                    )
                    for h in self.calendar.hours
                )
            self._days[day] = found
        return found

    def starts(self, local: datetime) -> datetime:
        """The first working moment at or after ``local``."""
        day = local.date()
        for _ in range(MAX_DAYS_SEARCHED):
            for start, end in self.windows(day):
                if local < end:
                    return max(local, start)
            day += DAY
            local = datetime.combine(day, self.calendar.hours[0].start, local.tzinfo)
        raise ValueError("the calendar has no working day within a year")

    def add_days(self, local: datetime, days: int) -> datetime:
        """The same clock time ``days`` working days later, from the first working moment."""
        moment = self.starts(local)
        day = moment.date()
        left = days
        for _ in range(MAX_DAYS_SEARCHED * max(1, days)):
            if left == 0:
                break
            day += DAY
            if self.calendar.is_workday(day):
                left -= 1
        return datetime.combine(day, moment.timetz())

    def add_time(self, local: datetime, duration: timedelta) -> datetime:
        """``duration`` of working hours after ``local``, across breaks, nights and holidays."""
        left = duration
        moment = self.starts(local)
        for _ in range(MAX_DAYS_SEARCHED * len(self.calendar.hours) * 4):
            end = next(e for s, e in self.windows(moment.date()) if s <= moment < e)
            if moment + left <= end:
                return moment + left
            left -= end - moment
            moment = self.starts(end)
        raise ValueError(f"cannot fit {duration} of working time in the calendar")


CALENDARS_KEPT = 64
_by_calendar: dict[int, WorkingDays] = {}


def working_days(policy: Policy) -> WorkingDays:
    """The working days of the policy's very calendar object (kept alive by the entry, so its
    id is not reused): a policy copied with another calendar gets its own."""
    calendar = policy.calendar
    found = _by_calendar.get(id(calendar))
    if found is None or found.calendar is not calendar or found.timezone != policy.timezone:
        if len(_by_calendar) >= CALENDARS_KEPT:
            _by_calendar.clear()
        found = _by_calendar[id(calendar)] = WorkingDays(policy)
    return found


def after(
    start: datetime, duration: timedelta, clock: Literal["working", "wall"], policy: Policy
) -> datetime:
    """The deadline ``duration`` after ``start`` on ``clock``."""
    if clock == "wall" or policy.sla_scale != 1.0:
        return start + policy.scaled(duration)
    days = working_days(policy)
    local = start.astimezone(days.zone)
    whole_days, rest = divmod(duration, DAY)
    if whole_days:
        local = days.add_days(local, int(whole_days))
    if rest:
        local = days.add_time(local, rest)
    return local


def due_for(start: datetime, limits: Deadline, policy: Policy) -> Due:
    return Due(
        claim_by=after(start, limits.claim, limits.clock, policy),
        resolve_by=after(start, limits.resolve, limits.clock, policy),
    )


def due(start: datetime, tier: Tier, emergency: bool, policy: Policy) -> Due:
    """Deadlines counted from ``start`` for a ticket of ``tier``."""
    return due_for(start, policy.deadlines.for_ticket(tier, emergency), policy)
