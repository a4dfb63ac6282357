"""The measurements. Each one starts what it measures as real processes on the same broker."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import httpx
import orjson
from aiokafka.structs import ConsumerRecord

from dispatch.bench import faust_floor as faust_floor_module
from dispatch.bench.kafka import (
    BenchError,
    Watcher,
    create_topics,
    percentiles,
    produce_all,
    rate,
)
from dispatch.bench.workload import bodies, encoded, requests
from dispatch.broker import die_with_parent, free_port
from dispatch.stack import Stack, child_env
from schemas import topics
from schemas.codec import decode
from schemas.events import TicketAssigned
from schemas.policy import Policy
from schemas.words import CHINA
from services.common.batches import Record, Sender
from services.common.bus import Topics, ensure_topics, make_consumer, make_producer
from services.common.settings import Settings
from services.router.kernel.handle import handle
from services.router.kernel.places import apply_changes
from services.router.kernel.state import Ticket

ASSIGNED = b'"dispatch.ticket.assigned"'
ESCALATED = b'"dispatch.ticket.escalated"'
FIRST_CLAIM_OVERDUE = (b'"reason":"claim_overdue"', b'"attempt":2')


def rss_mb(stack: Stack) -> dict[str, float]:
    """Resident memory of each running service of ``stack`` (Linux /proc), MiB."""
    found: dict[str, float] = {}
    for name, process in stack.processes.items():
        try:
            status = open(f"/proc/{process.pid}/status", encoding="ascii").read()  # noqa: SIM115
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[name] = round(int(line.split()[1]) / 1024, 1)
    return found


def isolated(settings: Settings, **changes: Any) -> Settings:
    """The same settings under a topic prefix of this measurement's own, on free ports."""
    prefix = f"{settings.topic_prefix}bench{uuid.uuid4().hex[:8]}."
    ports = {"http_port": free_port(), "console_port": free_port()}
    return settings.model_copy(update={"topic_prefix": prefix, **ports, **changes})


Phases = Callable[[list[ConsumerRecord], str, str], list[list[Record]]]
"""A batch of consumed records → the batches to send for it, each acknowledged before the next
(given the batch and the two topics to write to: ``state`` and ``sink``)."""


def _forward(taken: list[ConsumerRecord], state: str, sink: str) -> list[list[Record]]:
    return [[Record(sink, r.key, r.value, r.headers) for r in taken]]


async def passthrough(
    bootstrap: str,
    records: list[tuple[bytes, bytes]],
    partitions: int,
    phases: Phases = _forward,
    per_input: int = 1,
) -> float:
    """The ceiling: raw aiokafka consume → produce of the same records on the same broker,
    sent as the router sends (``services.common.batches``), then committed. ``phases`` says
    what is written for each batch (by default each record forwarded once); the rate is of
    inputs, once ``per_input`` records a record have reached the sink."""
    run = uuid.uuid4().hex[:8]
    source, state, sink = f"bench.{run}.in", f"bench.{run}.state", f"bench.{run}.out"
    names = [source, sink] if phases is _forward else [source, state, sink]
    await create_topics(bootstrap, names, partitions)
    await produce_all(bootstrap, source, records)
    watcher = Watcher(bootstrap, sink, keep=lambda value: True)
    await watcher.start()
    consumer = make_consumer(bootstrap, source, group=f"bench-{run}")
    producer = make_producer(bootstrap)
    sender = Sender(producer)  # the router's way of sending: a record batch per partition
    await consumer.start()
    await producer.start()
    try:
        forwarded = 0
        while forwarded < len(records):
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            taken = [r for part in batch.values() for r in part]
            for phase in phases(taken, state, sink) if taken else ():
                await asyncio.gather(*await sender.send(phase))
            forwarded += len(taken)
            if taken:
                await consumer.commit()
        seen = await watcher.wait_for(len(records) * per_input, timeout=120)
    finally:
        await consumer.stop()
        await producer.stop()
        await watcher.stop()
    return rate(len(records), seen.kafka_ms)


async def faust_floor(
    settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]]
) -> float:
    """The router's Faust app without the core (``dispatch.bench.faust_floor``): the same
    backlog, the same table writes and sends per event; first → last output."""
    names = Topics(settings.topic_prefix)
    source, sink = names("floor.in"), names("floor.out")
    await create_topics(bootstrap, [source, sink], settings.partitions)
    await produce_all(bootstrap, source, records)
    watcher = Watcher(bootstrap, sink, keep=lambda value: True)
    await watcher.start()
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "faust_floor.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dispatch.bench.faust_floor",
            source,
            sink,
            env=child_env(settings, bootstrap),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

        def alive() -> None:
            if process.returncode is not None:
                raise BenchError(f"faust floor exited with {process.returncode}; see {log.name}")

        try:
            expected = len(records) * faust_floor_module.SENDS_PER_EVENT
            seen = await watcher.wait_for(expected, timeout=600, alive=alive)
        finally:
            await watcher.stop()
            if process.returncode is None:
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
    return rate(len(records), seen.kafka_ms)


async def router_drain(
    settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]]
) -> tuple[float, dict[str, float]]:
    """A backlog queued while the router is down; then the router starts: first → last
    assignment. Also the router's resident memory once it has drained."""
    names = Topics(settings.topic_prefix)
    await ensure_topics(bootstrap, settings.topic_prefix, settings.partitions, 1)
    await produce_all(bootstrap, names(topics.REQUESTS), records)
    watcher = Watcher(bootstrap, names(topics.DECISIONS), keep=lambda v: ASSIGNED in v)
    await watcher.start()
    stack = Stack(settings, services=("router",))
    try:
        await asyncio.to_thread(stack.start)
        seen = await watcher.wait_for(len(records), timeout=600, alive=stack.check_alive)
        memory = rss_mb(stack)
    finally:
        await watcher.stop()
        await asyncio.to_thread(stack.stop)
    return rate(len(records), seen.kafka_ms), memory


async def replay(bootstrap: str, settings: Settings, policy: Policy, count: int) -> float:
    """Auditor's speed: read the recorded requests back and re-decide them with the kernel
    (``handle``, as the router does), decoding included."""
    names = Topics(settings.topic_prefix)
    consumer = make_consumer(
        bootstrap,
        names(topics.REQUESTS),
        group=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=20,  # Tansu holds every fetch for the whole wait
    )
    await consumer.start()
    tickets: dict[str, Ticket] = {}
    places: dict[str, str] = {}
    done = 0
    started = time.perf_counter()
    try:
        while done < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for part in batch.values():
                for record in part:
                    event = decode(record.value)
                    outcome = handle(tickets.get(event.subject), event, policy, places)
                    if outcome.ticket is not None:
                        tickets[outcome.ticket.ticket_id] = outcome.ticket
                    apply_changes(places, outcome.places)
                    done += 1
    finally:
        await consumer.stop()
    return round(done / (time.perf_counter() - started), 1)


async def verify(bootstrap: str, settings: Settings) -> dict[str, float | int]:
    """``dispatch audit replay --verify`` over a measurement's history: the log read once and
    its policies parsed (``read_s``), then the verification (the kernel re-deciding every
    input in a loop) timed alone."""
    from services.audit.policies import policy_book
    from services.audit.read import read_log
    from services.audit.verify import verify as verify_log

    started = time.perf_counter()
    log = await read_log(bootstrap, settings.topic_prefix)
    book = policy_book(log)  # reading too: the policies on the log, parsed once
    read_s = time.perf_counter() - started
    events = sum(len(records) for records in log.records.values())
    started = time.perf_counter()
    result = verify_log(log, book)  # as the command runs it: one process a core
    verify_s = time.perf_counter() - started
    started = time.perf_counter()
    alone = verify_log(log, book, workers=1)  # the baseline: every ticket in this process
    alone_s = time.perf_counter() - started
    return {
        "events": events,
        "events_per_s": round(events / verify_s, 1),
        "processes": result.processes,
        "one_process_events_per_s": round(events / alone_s, 1),
        "read_s": round(read_s, 2),
        "divergences": len(result.divergences),
        "one_process_divergences": len(alone.divergences),
    }


async def intake(
    settings: Settings, policy: Policy, count: int, concurrency: int = 32
) -> dict[str, float | None]:
    """Requests per second through POST /v1/requests, and through :batch when it exists."""
    stack = Stack(settings, services=("intake",))
    key = settings.keys_by_source()["hotline-12345"]
    headers = {"Authorization": f"Bearer {key}"}
    await asyncio.to_thread(stack.start)
    try:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=stack.intake_url, timeout=30, limits=limits) as http:
            single = bodies(policy, count, f"single-{uuid.uuid4().hex[:6]}")
            queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
            for body in single:
                queue.put_nowait(body)

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    response = await http.post("/v1/requests", json=body, headers=headers)
                    if response.status_code not in (200, 202):
                        raise BenchError(f"intake answered {response.status_code}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            single_rate = count / (time.perf_counter() - started)
            batch_rate = await _batch(http, headers, bodies(policy, count, "batch"))
    finally:
        await asyncio.to_thread(stack.stop)
    return {"single": round(single_rate, 1), "batch": round(batch_rate, 1) if batch_rate else None}


async def _batch(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    items: list[dict[str, object]],
    size: int = 100,
) -> float | None:
    started = time.perf_counter()
    for at in range(0, len(items), size):
        response = await http.post(
            "/v1/requests:batch", json={"requests": items[at : at + size]}, headers=headers
        )
        if response.status_code == 404 and at == 0:
            return None  # no batch route in this build
        if response.status_code >= 300 and response.status_code != 207:
            raise BenchError(f"batch answered {response.status_code}: {response.text[:200]}")
    return len(items) / (time.perf_counter() - started)


async def e2e_latency(
    settings: Settings, policy: Policy, per_second: float, seconds: float
) -> dict[str, Any]:
    """At a steady rate: HTTP accept → assignment consumed; POST sent → assignment consumed;
    one POST, sent → answered; and the services' resident memory after it.

    The POSTs alternate between two clients, each keeping its connections alive: aiohttp (the
    figure) and httpx (its baseline, the same server in the same seconds). A client's own work
    is part of what it measures, and httpx's is about 2 ms a request here."""
    names = Topics(settings.topic_prefix)
    stack = Stack(settings, services=("intake", "router"))
    await asyncio.to_thread(stack.start)
    watcher = Watcher(stack.bootstrap, names(topics.DECISIONS), keep=lambda v: ASSIGNED in v)
    await watcher.start()
    key = settings.keys_by_source()["hotline-12345"]
    headers = {"Authorization": f"Bearer {key}"}
    accepted: dict[bytes, float] = {}
    sent_at: dict[bytes, float] = {}
    posts: dict[str, list[float]] = {"aiohttp": [], "httpx": []}
    memory: dict[str, float] = {}
    try:
        async with (
            aiohttp.ClientSession(base_url=stack.intake_url, headers=headers) as lean,
            httpx.AsyncClient(base_url=stack.intake_url, headers=headers, timeout=30) as http,
        ):

            async def post(client: str, body: dict[str, object]) -> dict[str, Any]:
                if client == "httpx":
                    response = await http.post("/v1/requests", json=body)
                    answer: dict[str, Any] = response.json()
                    return answer
                async with lean.post(
                    "/v1/requests",
                    data=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as answered:
                    return await answered.json()  # type: ignore[no-any-return]

            warm = bodies(policy, 2, f"warm-{uuid.uuid4().hex[:6]}")
            for client, body in zip(posts, warm, strict=True):
                await post(client, body)
            await watcher.wait_for(1, timeout=120, alive=stack.check_alive)  # router joined
            count = int(per_second * seconds)
            load = bodies(policy, count + 2, f"e2e-{uuid.uuid4().hex[:6]}")[2:]

            async def send(client: str, body: dict[str, object]) -> None:
                sent, clock = time.time(), time.perf_counter()
                answer = await post(client, body)
                posts[client].append((time.perf_counter() - clock) * 1000)
                ticket = answer["ticket_id"].encode()
                accepted[ticket] = time.time()
                sent_at[ticket] = sent

            started = time.perf_counter()
            sends = []
            clients = list(posts)
            for i, body in enumerate(load):
                await asyncio.sleep(max(0.0, started + i / per_second - time.perf_counter()))
                sends.append(asyncio.create_task(send(clients[i % 2], body)))
            await asyncio.gather(*sends)
            seen = await watcher.wait_for(count + 2, timeout=120, alive=stack.check_alive)
            memory = rss_mb(stack)
    finally:
        await watcher.stop()
        await asyncio.to_thread(stack.stop)
    latencies = [(seen.arrived[k] - t) * 1000 for k, t in accepted.items() if k in seen.arrived]
    from_sent = [(seen.arrived[k] - t) * 1000 for k, t in sent_at.items() if k in seen.arrived]
    return {
        "accepted": percentiles(latencies),
        "sent": percentiles(from_sent),
        "post": percentiles(posts["aiohttp"]) | {"client": "aiohttp"},
        "post_httpx": percentiles(posts["httpx"]) | {"client": "httpx"},
        "rss_mb": memory,
    }


async def escalation_lateness(
    settings: Settings, policy: Policy, bootstrap: str, count: int, claim_in: float, spread: float
) -> dict[str, Any]:
    """``count`` open tickets whose claim deadlines fall over ``spread`` seconds: how late is
    each escalation, from its deadline to the moment an observer consumes it?"""
    scale = claim_in / 7200  # the local tier's claim limit is 2 hours
    settings = settings.model_copy(update={"sla_scale": scale})
    scaled = policy.model_copy(update={"sla_scale": scale})
    names = Topics(settings.topic_prefix)
    await ensure_topics(bootstrap, settings.topic_prefix, settings.partitions, 1)
    start = datetime.now(CHINA) + timedelta(seconds=5)
    events = requests(policy, count, start, timedelta(seconds=spread), tag="late")
    claim_by: dict[str, datetime] = {}
    places: dict[str, str] = {}
    for event in events:  # the deadlines the router will set, from the same pure core
        outcome = handle(None, event, scaled, places)
        apply_changes(places, outcome.places)
        for decision in outcome.decisions:
            # every ticket whose assignee has someone above (all but the command center's)
            if (
                isinstance(decision, TicketAssigned)
                and decision.data.assignee.kind != "command_center"
            ):
                claim_by[event.subject] = decision.data.claim_by
    await produce_all(bootstrap, names(topics.REQUESTS), encoded(events))
    # only each ticket's first escalation for its claim (attempt 2): waiting counts exactly those
    watcher = Watcher(
        bootstrap,
        names(topics.DECISIONS),
        keep=lambda v: (
            ESCALATED in v and FIRST_CLAIM_OVERDUE[0] in v and FIRST_CLAIM_OVERDUE[1] in v
        ),
        keep_values=True,
    )
    await watcher.start()
    stack = Stack(settings, services=("router",))
    try:
        await asyncio.to_thread(stack.start)
        seen = await watcher.wait_for(
            len(claim_by), timeout=3 * claim_in + spread + 300, alive=stack.check_alive
        )
    finally:
        await watcher.stop()
        await asyncio.to_thread(stack.stop)
    consumed, logical = [], []
    for value in seen.values:
        event = orjson.loads(value)
        # the first escalation of each ticket (attempt 2), measured against the first claim_by;
        # a later one runs against the deadline that escalation set
        if (
            event["subject"] not in claim_by
            or event["data"]["reason"] != "claim_overdue"
            or event["data"]["attempt"] != 2
        ):
            continue
        deadline = claim_by[event["subject"]]
        arrived = seen.arrived.get(event["subject"].encode())
        if arrived is not None:
            consumed.append((arrived - deadline.timestamp()) * 1000)
        logical.append((datetime.fromisoformat(event["time"]) - deadline).total_seconds() * 1000)
    return {
        "tickets": count,
        "escalations": len(consumed),
        "consumed": percentiles(consumed),
        "logical": percentiles(logical),
    }
