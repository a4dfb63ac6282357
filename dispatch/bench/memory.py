"""Resident memory of every service of ``dispatch up`` as the history grows (issue 14).

A simulated year of the sample district (``dispatch.simulate``: requests, claims, resolves,
feedback, returns, extensions, in time order) is fed to the whole stack straight onto
``dispatch.requests`` and ``dispatch.updates``, a slice of days at a time. After each slice the
stack is left to settle (nothing new decided, notified or dead-lettered and no service using the
CPU), then a clock tick at the slice's last moment goes to every partition, so deadlines and the
closed tickets' retention run on the story's time, not the wall clock's. When the tickets so far
pass each point (10,000, 25,000, 50,000, 75,000 and 100,000 in the full run), the resident
memory of each service is read from ``/proc``, with the size of the intake's snapshot file on
disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from dispatch.bench.kafka import BenchError, Watcher, produce_all
from dispatch.bench.measures import isolated, rss_mb
from dispatch.simulate import Simulation
from dispatch.stack import UP_SERVICES, Stack
from schemas import topics
from schemas.codec import HEADERS, encode, key_of
from schemas.envelope import CloudEvent
from schemas.policy import Policy
from schemas.words import CHINA
from services.common.bus import Topics, ensure_topics, make_producer
from services.common.settings import Settings
from services.intake.runtime import state_file
from services.router.kernel.ticks import tick

log = logging.getLogger(__name__)
SLICES = 20
"""The year is fed in this many slices (18 days each): a tick and a settle after each."""
INPUTS = (topics.REQUESTS, topics.UPDATES)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def history(policy: Policy, tickets: int, seed: int = 14) -> list[tuple[datetime, str, CloudEvent]]:
    """The inputs of a simulated year with about ``tickets`` requests: (time, topic, event)."""
    first = date.today() - timedelta(days=366)
    names = Topics("")
    kept = []
    for event in Simulation(policy, seed).run(first, 365, tickets):
        topic = names.of(event)
        if topic in INPUTS:
            kept.append((event.time, topic, event))
    return kept


def cpu_seconds(stack: Stack) -> float:
    """User + system CPU time of every service process so far (Linux /proc)."""
    total = 0
    for process in stack.processes.values():
        try:
            fields = open(f"/proc/{process.pid}/stat", encoding="ascii").read()  # noqa: SIM115
        except OSError:
            continue
        after = fields[fields.rindex(")") + 2 :].split()
        total += int(after[11]) + int(after[12])  # utime, stime
    return total / CLK_TCK


async def idle_rate(stack: Stack, seconds: float = 6.0) -> float:
    """The services' CPU use when nothing is fed (cores): their polling, flushes and timers."""
    before = cpu_seconds(stack)
    await asyncio.sleep(seconds)
    return (cpu_seconds(stack) - before) / seconds


async def settle(
    stack: Stack, watchers: list[Watcher], idle: float, timeout: float = 900.0
) -> float:
    """Wait until two seconds pass with nothing new on the watched topics and the services
    near their idle CPU use (``idle`` plus a tenth of one core); the seconds it took."""
    started = time.monotonic()
    window = 2.0
    before = (sum(len(w.seen.kafka_ms) for w in watchers), cpu_seconds(stack))
    while True:
        await asyncio.sleep(window)
        stack.check_alive()
        now = (sum(len(w.seen.kafka_ms) for w in watchers), cpu_seconds(stack))
        if now[0] == before[0] and now[1] - before[1] < (idle + 0.1) * window:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise BenchError(f"the stack did not settle in {timeout:.0f}s")
        before = now


async def memory_growth(
    settings: Settings, policy: Policy, bootstrap: str, points: tuple[int, ...]
) -> dict[str, Any]:
    """Each service's resident memory (MiB) when the tickets fed pass each of ``points``."""
    state = Path(tempfile.mkdtemp(prefix="dispatch-bench-memory-"))
    settings = isolated(
        settings,
        state_dir=state,
        tick_interval=10**6,  # the ticks are the story's (below), never the wall clock's
        notify_rate_per_minute=10**9,  # a year in minutes: a phone's rate limit means nothing
        notify_rate_burst=10**9,
    )
    names = Topics(settings.topic_prefix)
    made = time.perf_counter()
    inputs = history(policy, points[-1])
    made_s = time.perf_counter() - made
    await ensure_topics(bootstrap, settings.topic_prefix, settings.partitions, 1)
    stack = Stack(settings, services=UP_SERVICES)
    watchers = [
        Watcher(
            bootstrap,
            names(topic),
            keep=lambda value: True,
            keep_values=topic == topics.DEADLETTER,  # their reasons go in the result
        )
        for topic in (topics.DECISIONS, topics.NOTIFICATIONS, topics.DEADLETTER)
    ]
    begin = inputs[0][0].date() if inputs else date.today()
    days = 365 / SLICES
    found: list[dict[str, Any]] = []
    fed = requests_fed = 0
    try:
        await asyncio.to_thread(stack.start)
        for watcher in watchers:
            await watcher.start()
        await asyncio.sleep(5)  # the services' start-up work done
        idle = await idle_rate(stack)
        wanted = list(points)
        for n in range(SLICES):
            end = datetime.combine(begin, datetime.min.time(), CHINA) + timedelta(
                days=days * (n + 1)
            )
            chunk = []
            while fed < len(inputs) and inputs[fed][0] < end:
                chunk.append(inputs[fed])
                fed += 1
            for topic in INPUTS:
                records = [(key_of(e) or b"", encode(e)) for _, t, e in chunk if t == topic]
                await produce_all(bootstrap, names(topic), records)
            requests_fed += sum(1 for _, t, _ in chunk if t == topics.REQUESTS)
            waited = await settle(stack, watchers, idle)
            ticks = [
                (event.subject.encode(), encode(event))
                for event in (tick(p, end) for p in range(settings.partitions))
            ]
            await _ticks(bootstrap, names(topics.CLOCK), ticks)
            waited += await settle(stack, watchers, idle)
            log.info("slice %d: %d requests so far, settled in %.1fs", n, requests_fed, waited)
            while wanted and requests_fed >= wanted[0]:
                wanted.pop(0)
                found.append(_point(stack, settings, requests_fed, watchers))
        while wanted:  # the year held fewer requests than the last point: measure at its end
            wanted.pop(0)
            found.append(_point(stack, settings, requests_fed, watchers))
    finally:
        for watcher in watchers:
            await watcher.stop()
        await asyncio.to_thread(stack.stop)
        shutil.rmtree(state, ignore_errors=True)
    return {
        "points": found,
        "inputs": len(inputs),
        "simulated_s": round(made_s, 1),
        "idle_cores": round(idle, 3),
        "growth": _growth(found),
    }


async def _ticks(bootstrap: str, topic: str, ticks: list[tuple[bytes, bytes]]) -> None:
    """One tick to each partition (the tick's subject names the partition)."""
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        for partition, (key, value) in enumerate(ticks):
            await producer.send_and_wait(
                topic, value, key=key, partition=partition, headers=HEADERS
            )
    finally:
        await producer.stop()


def _point(
    stack: Stack, settings: Settings, tickets: int, watchers: list[Watcher]
) -> dict[str, Any]:
    snapshot = state_file(settings)
    size = sum(p.stat().st_size for p in snapshot.parent.glob(snapshot.name + "*") if p.is_file())
    decisions, notifications, letters = (len(w.seen.kafka_ms) for w in watchers)
    return {
        "tickets": tickets,
        "rss_mb": rss_mb(stack),
        "intake_snapshot_mb": round(size / 2**20, 1),
        "decisions": decisions,
        "notifications": notifications,
        "dead_letters": letters,
        "dead_letter_reasons": _reasons(watchers[2].seen.values),
    }


TICKET_ID = re.compile(r"\bT[0-9A-Z]{13}\b")


def _reasons(values: list[bytes]) -> dict[str, int]:
    """How many dead letters gave each reason (its first 100 characters, ticket ids written
    as ``<ticket>`` so that one kind of refusal counts as one), most first."""
    counted = Counter(
        TICKET_ID.sub("<ticket>", str(orjson.loads(value).get("data", {}).get("reason", "?")))[:100]
        for value in values
    )
    return dict(counted.most_common(10))


def _growth(found: list[dict[str, Any]]) -> dict[str, float]:
    """Each service's memory at the last point over its memory at the first."""
    if len(found) < 2:
        return {}
    first, last = found[0]["rss_mb"], found[-1]["rss_mb"]
    return {name: round(last[name] / first[name], 2) for name in last if first.get(name)}
