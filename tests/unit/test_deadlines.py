"""Deadlines in working time: hours, breaks, nights, weekends, holidays and 调休 workdays."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from schemas.policy import Policy, load_policy
from schemas.words import CHINA, watch
from services.router.kernel.deadlines import after, due
from tests.conftest import SMALL_POLICY


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (at(3, 10, 9), 2, at(3, 10, 11)),  # Tuesday morning, within hours
        (at(3, 10, 11), 2, at(3, 10, 15, 30)),  # across the 12:00–14:30 break
        (at(3, 10, 16, 30), 2, at(3, 11, 9, 30)),  # across the night
        (at(3, 13, 17), 2, at(3, 16, 10)),  # Friday evening → Monday
        (at(3, 14, 10), 2, at(3, 16, 10, 30)),  # received on Saturday → Monday 08:30
        (at(3, 10, 20), 2, at(3, 11, 10, 30)),  # received at night
    ],
)
def test_working_hours_skip_breaks_nights_and_weekends(
    policy: Policy, start: datetime, hours: int, expected: datetime
) -> None:
    assert after(start, timedelta(hours=hours), "working", policy) == expected


def test_spring_festival_holidays_are_not_working_days(policy: Policy) -> None:
    # Friday 13 Feb 16:00 + 3 working days: Sat 14 (调休 workday), Tue 24, Wed 25
    assert after(at(2, 13, 16), timedelta(days=3), "working", policy) == at(2, 25, 16)


def test_a_tiaoxiu_saturday_is_a_working_day(policy: Policy) -> None:
    # Friday 27 Feb 17:00 + 2 working hours: 30 minutes that day, 90 on Saturday 28 (调休)
    assert after(at(2, 27, 17), timedelta(hours=2), "working", policy) == at(2, 28, 10)


def test_a_request_during_the_holiday_starts_counting_after_it(policy: Policy) -> None:
    assert after(at(2, 17, 10), timedelta(hours=1), "working", policy) == at(2, 24, 9, 30)


def test_emergencies_run_on_the_wall_clock_even_on_holidays(policy: Policy) -> None:
    deadlines = due(at(2, 17, 3), "local", True, policy)
    assert deadlines.claim_by == at(2, 17, 3, 10)
    assert deadlines.resolve_by == at(2, 17, 5)


def test_a_scaled_policy_counts_wall_clock_seconds(policy: Policy) -> None:
    fast = load_policy(SMALL_POLICY, sla_scale=0.001)
    assert after(at(2, 17, 3), timedelta(hours=1), "working", fast) == at(2, 17, 3) + timedelta(
        seconds=3.6
    )


def test_days_beyond_the_calendar_follow_the_week(policy: Policy) -> None:
    assert policy.calendar.known_until == date(2026, 12, 31)
    # Friday 2027-01-08 + 1 working day → Monday
    start = datetime(2027, 1, 8, 9, tzinfo=CHINA)
    assert after(start, timedelta(days=1), "working", policy) == datetime(
        2027, 1, 11, 9, tzinfo=CHINA
    )


def test_watch_says_what_an_operator_should_see() -> None:
    deadline = at(3, 10, 12)
    warn = timedelta(minutes=30)
    assert watch(deadline, at(3, 10, 11), warn) == "on_track"
    assert watch(deadline, at(3, 10, 11, 45), warn) == "due_soon"
    assert watch(deadline, at(3, 10, 12), warn) == "overdue"
    assert watch(None, at(3, 10, 12), warn) == "none"
