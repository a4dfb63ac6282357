"""A rate limit per recipient: the generic cell rate algorithm (a token bucket in one number).

A recipient may receive ``burst`` notifications at once, then one every ``60 / per_minute``
seconds; a notification over the limit waits for its turn (it is never dropped), and the wait
holds only that recipient's notification.

Emergencies first: a life-safety notification (``first``) never waits behind the turns already
reserved (a queue of bulk escalations could hold an emergency text past its 10-minute limit);
it is sent at once, unless another emergency to the same recipient went less than one
interval ago, and the turns reserved after it move back by one interval, so the recipient's
rate over time stays the limit.
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

        self.urgent: dict[Hashable, float] = {}
        """per key: the theoretical arrival time of emergencies alone"""

    def turn(self, key: Hashable, first: bool = False) -> float:
        """Reserve a turn for ``key``; the seconds until it comes. ``first``: an emergency,
        ahead of the turns reserved already (it only waits for an earlier emergency)."""
        now = self.clock()
        if len(self.tats) > 10_000:  # forget recipients whose bucket is full again
            self.tats = {k: t for k, t in self.tats.items() if t > now}
            self.urgent = {k: t for k, t in self.urgent.items() if t > now}
        if not first:
            wait, self.tats[key] = reserve(self.tats.get(key), now, self.rate)
            return wait
        wait, self.urgent[key] = reserve(self.urgent.get(key), now, self.rate)
        tat = self.tats.get(key)
        self.tats[key] = max(tat if tat is not None else now, now) + self.rate.interval
        return wait

    async def acquire(self, key: Hashable, first: bool = False) -> float:
        wait = self.turn(key, first)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait
