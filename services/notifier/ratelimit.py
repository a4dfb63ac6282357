"""A rate limit per recipient: the generic cell rate algorithm (a token bucket in one number).

A recipient may receive ``burst`` notifications at once, then one every ``60 / per_minute``
seconds; a notification over the limit waits for its turn (it is never dropped), and the wait
holds only that recipient's notification.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_minute: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        return self.interval * (self.burst - 1)


def reserve(tat: float | None, now: float, rate: Rate) -> tuple[float, float]:
    """Take the next turn: (seconds to wait before sending, the new theoretical arrival time).

    ``tat`` is the recipient's theoretical arrival time (None: never sent to)."""
    start = now if tat is None else max(tat, now)
    wait = max(0.0, start - rate.tolerance - now)
    return wait, start + rate.interval


class RateLimiter:
    """Turns per recipient key; ``acquire`` sleeps the caller until its turn."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tats: dict[Hashable, float] = {}

    def turn(self, key: Hashable) -> float:
        """Reserve a turn for ``key``; the seconds until it comes."""
        now = self.clock()
        if len(self.tats) > 10_000:  # forget recipients whose bucket is full again
            self.tats = {k: t for k, t in self.tats.items() if t > now}
        wait, self.tats[key] = reserve(self.tats.get(key), now, self.rate)
        return wait

    async def acquire(self, key: Hashable) -> float:
        wait = self.turn(key)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait
