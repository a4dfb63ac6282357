"""Retries with backoff and jitter, and the rate limit per recipient (no network)."""

from __future__ import annotations

import pytest

from services.notifier.channels import DeliveryError, Message
from services.notifier.delivery import RetryPolicy, backoff, deliver
from services.notifier.ratelimit import Rate, RateLimiter, reserve
from services.notifier.recipients import Target
from services.notifier.sender import shown
from tests.unit.test_notifier_recipients import CITY_MGMT, assigned


class FlakyChannel:
    """A hand-written channel that refuses the first ``failures`` sends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def send(self, message: Message) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError(f"receiver answered 503 (call {self.calls})")


def message() -> Message:
    target = Target("n-1", "center", "command-center-webhook", "webhook", "http://x/hook")
    return Message(target, assigned(CITY_MGMT), "【派单】…")


def test_backoff_doubles_each_try_within_jitter_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(tries=10, base_s=1.0, max_s=8.0)
    assert [backoff(n, policy, 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [backoff(n, policy, 0.999) for n in (1, 4, 9)] == pytest.approx([1.0, 8.0, 8.0], 0.01)


async def test_receiver_failing_then_recovering_is_delivered_once_with_its_attempts() -> None:
    channel = FlakyChannel(failures=3)
    outcome = await deliver(channel, message(), RetryPolicy(tries=5, base_s=0.0))
    assert outcome.delivered
    assert (outcome.attempts, channel.calls) == (4, 4)


async def test_receiver_down_for_good_fails_after_the_last_try_with_its_error() -> None:
    channel = FlakyChannel(failures=100)
    outcome = await deliver(channel, message(), RetryPolicy(tries=3, base_s=0.0))
    assert not outcome.delivered
    assert (outcome.attempts, channel.calls) == (3, 3)
    assert outcome.error == "receiver answered 503 (call 3)"


def test_rate_allows_a_burst_then_spaces_sends() -> None:
    rate = Rate(per_minute=6, burst=3)  # one every 10 s after 3 at once
    tat = None
    waits = []
    for _ in range(5):
        wait, tat = reserve(tat, 100.0, rate)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 10.0, 20.0]


def test_rate_recovers_after_a_quiet_period() -> None:
    rate = Rate(per_minute=6, burst=2)
    _, tat = reserve(None, 0.0, rate)
    _, tat = reserve(tat, 0.0, rate)
    wait, _ = reserve(tat, 60.0, rate)
    assert wait == 0.0


def test_rate_limit_is_per_recipient() -> None:
    now = [0.0]
    limiter = RateLimiter(Rate(per_minute=1, burst=1), clock=lambda: now[0])
    assert limiter.turn(("sms", "13905981234")) == 0.0
    assert limiter.turn(("sms", "13905981234")) == 60.0
    assert limiter.turn(("sms", "13805985678")) == 0.0
    now[0] = 120.0
    assert limiter.turn(("sms", "13905981234")) == 0.0


def test_an_emergency_goes_before_the_turns_reserved_and_the_others_move_back() -> None:
    now = [0.0]
    limiter = RateLimiter(Rate(per_minute=1, burst=1), clock=lambda: now[0])
    phone = ("sms", "13905981234")
    bulk = [limiter.turn(phone) for _ in range(5)]
    assert bulk == [0.0, 60.0, 120.0, 180.0, 240.0]  # five escalations queued, FIFO
    assert limiter.turn(phone, first=True) == 0.0  # the emergency does not wait behind them
    assert limiter.turn(phone) == 360.0  # the next ordinary one is one interval further back
    assert limiter.turn(phone, first=True) == 60.0  # emergencies keep the rate among themselves
    now[0] = 600.0
    assert limiter.turn(phone, first=True) == 0.0


def test_log_lines_show_masked_phones_and_urls_without_their_query() -> None:
    phone = Target("n-2", "assignee", "MG-CB-01-01", "sms", "13905981234")
    hook = Target("n-3", "assignee", "DEP-CG", "webhook", "https://ops.example/hook?token=s3cret")
    assert shown(phone) == "139****1234"
    assert shown(hook) == "https://ops.example/hook"
