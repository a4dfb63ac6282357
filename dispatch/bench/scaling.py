"""``router_scaling``: how the router's drain rate grows with router processes in one group.

For n routers: start n ``dispatch router`` processes in one consumer group, wait until the
group is stable with all n, then write a burst of requests at once and time the first to the
last assignment (Kafka timestamps), as ``router_drain`` does for one. Each n runs under a
prefix of its own, on the same broker, with the same partitions.

Wired into ``dispatch bench`` under ``router_scaling``; alone:
``python -m dispatch.bench.scaling [COUNT]`` (embedded broker unless DISPATCH_KAFKA_BOOTSTRAP).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

from dispatch.bench.kafka import BenchError, Watcher, produce_all, rate
from dispatch.routers import RouterGroup, members
from schemas import topics
from services.common.bus import Topics, ensure_topics
from services.common.settings import Settings

ASSIGNED = b'"dispatch.ticket.assigned"'
JOIN_S = 180.0
ROUTERS = (1, 2)


async def drain_with(
    settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]], routers: int
) -> float:
    """Events per second drained by ``routers`` router processes sharing one group."""
    names = Topics(settings.topic_prefix)
    await ensure_topics(bootstrap, settings.topic_prefix, settings.partitions, 1)
    group = RouterGroup(settings, bootstrap)
    try:
        for _ in range(routers):
            await asyncio.to_thread(group.add)
        deadline = time.monotonic() + JOIN_S
        while await members(settings, bootstrap) != routers:
            group.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"{routers} routers did not form a stable group in {JOIN_S}s")
            await asyncio.sleep(0.5)
        watcher = Watcher(bootstrap, names(topics.DECISIONS), keep=lambda v: ASSIGNED in v)
        await watcher.start()
        try:
            await produce_all(bootstrap, names(topics.REQUESTS), records)
            seen = await watcher.wait_for(len(records), timeout=600, alive=group.check_alive)
        finally:
            await watcher.stop()
    finally:
        await asyncio.to_thread(group.stop)
    return rate(len(records), seen.kafka_ms)


async def router_scaling(
    settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """``{"routers_1": ev/s, "routers_2": ev/s, "speedup": …}`` with the conditions of the run."""
    result: dict[str, Any] = {}
    for n in ROUTERS:
        prefix = f"{settings.topic_prefix}scale{n}x{uuid.uuid4().hex[:6]}."
        own = settings.model_copy(
            update={"topic_prefix": prefix, "state_dir": settings.state_dir / f"scale-{n}"}
        )
        result[f"routers_{n}"] = await drain_with(own, bootstrap, records, n)
    first, last = result[f"routers_{ROUTERS[0]}"], result[f"routers_{ROUTERS[-1]}"]
    result["speedup"] = round(last / first, 2) if first else None
    result |= {
        "events": len(records),
        "partitions": settings.partitions,
        "cpus": os.cpu_count(),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str]) -> int:
    from dispatch.bench.workload import encoded, requests
    from dispatch.broker import EmbeddedBroker
    from schemas.policy import load_policy

    count = int(argv[0]) if argv else 10_000
    settings = Settings(log_level="WARNING")
    policy = load_policy(settings.policy)
    records = encoded(requests(policy, count, tag=f"scaling-{uuid.uuid4().hex[:6]}"))
    broker = None
    bootstrap = settings.kafka_bootstrap
    if bootstrap is None:
        broker = EmbeddedBroker()
        bootstrap = broker.start()
    try:
        result = asyncio.run(router_scaling(settings, bootstrap, records))
    finally:
        if broker is not None:
            broker.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
