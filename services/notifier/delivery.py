"""One notification, delivered with retries: exponential backoff with jitter.

Each delivery runs as its own task, so a receiver that is slow or down only ever delays its
own notifications; the waits between tries sleep this task alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.notifier.channels import Channel, DeliveryError, Message


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    tries: int = 5
    base_s: float = 1.0
    max_s: float = 60.0


def backoff(attempt: int, policy: RetryPolicy, unit: float) -> float:
    """Seconds to wait after failed try ``attempt`` (1-based): "equal jitter", half of the
    exponential step fixed and half random (``unit`` in [0, 1)), so waits grow and spread."""
    step = min(policy.max_s, policy.base_s * 2.0 ** (attempt - 1))
    return step / 2 + step / 2 * unit


@dataclass(frozen=True, slots=True)
class Outcome:
    attempts: int
    latency_ms: float  # from ``started`` to the last answer
    error: str | None  # None: delivered

    @property
    def delivered(self) -> bool:
        return self.error is None


async def deliver(
    channel: Channel,
    message: Message,
    policy: RetryPolicy,
    jitter: Callable[[], float] = random.random,
    started: float | None = None,
) -> Outcome:
    """Try up to ``policy.tries`` times; the outcome of the last try. Latency counts from
    ``started`` (``time.monotonic()``; default: now), e.g. when the decision came in."""
    started = time.monotonic() if started is None else started
    error = "not attempted"
    for attempt in range(1, policy.tries + 1):
        try:
            await channel.send(message)
        except DeliveryError as exc:
            error = str(exc) or type(exc).__name__
        else:
            return Outcome(attempt, _ms_since(started), None)
        if attempt < policy.tries:
            await asyncio.sleep(backoff(attempt, policy, jitter()))
    return Outcome(policy.tries, _ms_since(started), error)


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
