"""A clock tick as an event: what the router's ticker feeds the kernel, and the audit rebuilds."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import derive_id
from schemas.events import ClockData, ClockTicked
from services.router.kernel.emit import ROUTER_SOURCE


def tick(partition: int, now: datetime) -> ClockTicked:
    cause = f"clock:{partition}"
    return ClockTicked(
        id=derive_id(cause, now.isoformat()),
        source=ROUTER_SOURCE,
        time=now,
        subject=f"clock-{partition}",
        causationid=cause,
        correlationid=cause,
        data=ClockData(partition=partition),
    )
