"""The router's Kafka I/O alone, beside the raw pass-through and the router, in one run.

Issue 12 asks the router's drain to reach 0.25 × the pass-through (``dispatch bench``). The
pass-through forwards one record per input; the router writes, per request, its changelog entry
(a ticket's state, a few times a request's size) and then, once that is acknowledged, its two
decisions, and commits. This script measures that record pattern with no logic at all (the
bench's pass-through with the router's phases: same ``Sender``, same batches, both phases
acknowledged in turn, same commit), so the gap between the router and the pass-through splits
into what Kafka I/O costs and what the Python around it does.

On the embedded broker (Tansu), 20,000 bench requests, 2026-12-08: pass-through 36,630–54,348
events/s; the I/O floor 0.29–0.46 of the first pass-through; the router 0.073–0.078.

Usage: ``python tools/router_io_floor.py [REQUESTS]`` (starts and stops its own broker).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiokafka.structs import ConsumerRecord

from dispatch.bench import measures
from dispatch.bench.workload import encoded, requests
from dispatch.broker import EmbeddedBroker
from schemas.policy import load_policy
from services.common.batches import Record
from services.common.settings import Settings

STATE_SIZE = 3  # a changelog entry is about three requests long (a ticket and its outbox)
DECISIONS = 2  # ticket.classified and ticket.assigned


def router_pattern(state_size: int) -> measures.Phases:
    """The router's writes for a batch, with no logic: each request's changelog record
    (``state_size`` times its length), acknowledged, then its decisions."""

    def phases(taken: list[ConsumerRecord], state: str, sink: str) -> list[list[Record]]:
        writes = [Record(state, r.key, r.value * state_size, r.headers) for r in taken]
        outputs = [Record(sink, r.key, r.value, r.headers) for r in taken for _ in range(DECISIONS)]
        return [writes, outputs]

    return phases


async def main(count: int, bootstrap: str, settings: Settings) -> None:
    records = encoded(requests(load_policy(settings.policy), count, tag="drain"))
    base = await measures.passthrough(bootstrap, records, settings.partitions)
    print(f"pass-through  {base:10,.0f} events/s", flush=True)
    for size in (1, STATE_SIZE):
        pattern = router_pattern(size)
        floor = await measures.passthrough(
            bootstrap, records, settings.partitions, pattern, per_input=DECISIONS
        )
        print(f"I/O floor x{size}  {floor:10,.0f} requests/s  {floor / base:.3f}", flush=True)
    routed = settings.model_copy(update={"kafka_bootstrap": bootstrap, "log_level": "WARNING"})
    drain, _ = await measures.router_drain(measures.isolated(routed), bootstrap, records)
    print(f"router drain  {drain:10,.0f} requests/s  {drain / base:.3f}", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    broker = EmbeddedBroker()
    address = broker.start()
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, address, Settings()))
    finally:
        broker.stop()
