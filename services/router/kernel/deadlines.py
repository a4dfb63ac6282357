"""Deadlines: when a ticket must be claimed (签收) and resolved (办结), and what is overdue.

Pure: every start time comes from the event that caused the assignment, never from a clock.
Working time follows the policy's calendar (hours of a working day, holidays, 调休 workdays);
emergencies run on the wall clock. A ``DISPATCH_SLA_SCALE`` other than 1 turns every deadline
into scaled wall-clock time (an hour into 3.6 s at 0.001): a working calendar means nothing at
that speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.events import Tier
from schemas.policy import Calendar, Deadline, Policy

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


def _working_starts(local: datetime, calendar: Calendar) -> datetime:
    """The first working moment at or after ``local``."""
    day = local.date()
    for _ in range(MAX_DAYS_SEARCHED):
        if calendar.is_workday(day):
            for hours in calendar.hours:
                start = datetime.combine(day, hours.start, local.tzinfo)
                end = datetime.combine(day, hours.end, local.tzinfo)
                if local < end:
                    return max(local, start)
        day += DAY
        local = datetime.combine(day, calendar.hours[0].start, local.tzinfo)
    raise ValueError("the calendar has no working day within a year")


def add_working_days(local: datetime, days: int, calendar: Calendar) -> datetime:
    """The same clock time ``days`` working days later, from the first working moment."""
    moment = _working_starts(local, calendar)
    day = moment.date()
    left = days
    for _ in range(MAX_DAYS_SEARCHED * max(1, days)):
        if left == 0:
            break
        day += DAY
        if calendar.is_workday(day):
            left -= 1
    return datetime.combine(day, moment.timetz())


def add_working_time(local: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """``duration`` of working hours after ``local``, across breaks, nights and holidays."""
    left = duration
    moment = _working_starts(local, calendar)
    for _ in range(MAX_DAYS_SEARCHED * len(calendar.hours) * 4):
        end = next(
            datetime.combine(moment.date(), h.end, moment.tzinfo)
            for h in calendar.hours
            if datetime.combine(moment.date(), h.start, moment.tzinfo)
            <= moment
            < datetime.combine(moment.date(), h.end, moment.tzinfo)
        )
        if moment + left <= end:
            return moment + left
        left -= end - moment
        moment = _working_starts(end, calendar)
    raise ValueError(f"cannot fit {duration} of working time in the calendar")


def after(
    start: datetime, duration: timedelta, clock: Literal["working", "wall"], policy: Policy
) -> datetime:
    """The deadline ``duration`` after ``start`` on ``clock``."""
    if clock == "wall" or policy.sla_scale != 1.0:
        return start + policy.scaled(duration)
    local = start.astimezone(zone(policy))
    whole_days, rest = divmod(duration, DAY)
    if whole_days:
        local = add_working_days(local, int(whole_days), policy.calendar)
    if rest:
        local = add_working_time(local, rest, policy.calendar)
    return local


def due_for(start: datetime, limits: Deadline, policy: Policy) -> Due:
    return Due(
        claim_by=after(start, limits.claim, limits.clock, policy),
        resolve_by=after(start, limits.resolve, limits.clock, policy),
    )


def due(start: datetime, tier: Tier, emergency: bool, policy: Policy) -> Due:
    """Deadlines counted from ``start`` for a ticket of ``tier``."""
    return due_for(start, policy.deadlines.for_ticket(tier, emergency), policy)
