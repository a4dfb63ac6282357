"""The router's Kafka I/O alone, beside the raw pass-through and the router, in one run.

Issue 12 asks the router's drain to reach 0.25 × the pass-through (``dispatch bench``). The
pass-through forwards one record per input; the router writes, per request, its changelog entry
(a ticket's state, a few times a request's size) and then, once that is acknowledged, its two
decisions, and commits. This script measures that record pattern with no logic at all (same
``Sender``, same batches, same two acknowledged phases, same commit), so the gap between the
router and the pass-through splits into what Kafka I/O costs and what the Python around it does.

On the embedded broker (Tansu), 20,000 bench requests, 2026-12-08: pass-through 36,630–54,348
events/s; the I/O floor 0.29–0.46 of the first pass-through; the router 0.073–0.078.

Usage: ``python tools/router_io_floor.py [REQUESTS]`` (starts and stops its own broker).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

from dispatch.bench import measures
from dispatch.bench.kafka import Watcher, create_topics, produce_all, rate
from dispatch.bench.workload import encoded, requests
from dispatch.broker import EmbeddedBroker
from schemas.policy import load_policy
from services.common.batches import Record, Sender
from services.common.bus import make_consumer, make_producer
from services.common.settings import Settings

STATE_SIZE = 3  # a changelog entry is about three requests long (a ticket and its outbox)
DECISIONS = 2  # ticket.classified and ticket.assigned


async def io_floor(
    bootstrap: str, records: list[tuple[bytes, bytes]], partitions: int, state_size: int
) -> float:
    """Requests per second through the router's writes with no logic between them."""
    run = uuid.uuid4().hex[:8]
    source, state, sink = f"floor.{run}.in", f"floor.{run}.state", f"floor.{run}.out"
    await create_topics(bootstrap, [source, state, sink], partitions)
    await produce_all(bootstrap, source, records)
    watcher = Watcher(bootstrap, sink, keep=lambda value: True)
    await watcher.start()
    consumer = make_consumer(bootstrap, source, group=f"floor-{run}")
    producer = make_producer(bootstrap)
    sender = Sender(producer)
    await consumer.start()
    await producer.start()
    try:
        done = 0
        while done < len(records):
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            taken = [r for part in batch.values() for r in part]
            writes = [Record(state, r.key, r.value * state_size, r.headers) for r in taken]
            outputs = [
                Record(sink, r.key, r.value, r.headers) for r in taken for _ in range(DECISIONS)
            ]
            await asyncio.gather(*await sender.send(writes))  # state first, acknowledged
            await asyncio.gather(*await sender.send(outputs))  # then what it caused
            done += len(taken)
            if taken:
                await consumer.commit()
        seen = await watcher.wait_for(len(records) * DECISIONS, timeout=300)
    finally:
        await consumer.stop()
        await producer.stop()
        await watcher.stop()
    return rate(len(records), seen.kafka_ms)


async def main(count: int, bootstrap: str, settings: Settings) -> None:
    records = encoded(requests(load_policy(settings.policy), count, tag="drain"))
    base = await measures.passthrough(bootstrap, records, settings.partitions)
    print(f"pass-through  {base:10,.0f} events/s", flush=True)
    for size in (1, STATE_SIZE):
        floor = await io_floor(bootstrap, records, settings.partitions, size)
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
