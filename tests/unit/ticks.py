"""The router's clock as the kernel's tests feed it: one tick of partition 0 at a time."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import derive_id
from schemas.events import ClockData, ClockTicked


def tick(when: datetime) -> ClockTicked:
    return ClockTicked(
        id=derive_id("clock:0", when.isoformat()),
        source="/dispatch/router",
        time=when,
        subject="clock-0",
        causationid="clock:0",
        correlationid="clock:0",
        data=ClockData(partition=0),
    )
