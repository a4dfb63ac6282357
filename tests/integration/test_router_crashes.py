"""The router SIGKILLed again and again during a burst loses no decision: every request is
decided, no decision id is ever recorded with two contents, and no parked update is left
behind (each claim sent before its request is applied: the ticket resolves and closes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from dispatch.bench.workload import requests
from dispatch.stack import child_env
from schemas import topics
from schemas.codec import HEADERS, encode
from schemas.envelope import derive_id
from schemas.events import (
    RequestReceived,
    TicketClaimed,
    TicketFeedback,
    TicketResolved,
    data_type,
)
from schemas.policy import load_policy
from services.common.bus import Topics, ensure_topics, make_producer
from services.common.settings import Settings
from tests.kafka import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]

COUNT = 5_000
KILLS = 10
EARLY_EVERY = 50  # every 50th ticket gets its claim before its request


def update(kind: type[Any], request: RequestReceived, action: str, **data: Any) -> Any:
    ticket_id = request.subject
    model = data_type(kind)
    return kind(
        id=derive_id(f"{ticket_id}:crash", action),
        source="/dispatch/intake/test",
        time=request.time + timedelta(minutes=1),
        subject=ticket_id,
        causationid=request.id,
        correlationid=request.correlationid,
        data=model(ticket_id=ticket_id, actor="handler", **data),
    )


class Log:
    """Every record of the decisions and dead-letter topics, from the beginning, as it comes."""

    def __init__(self, bootstrap: str, names: Topics) -> None:
        self.consumer = AIOKafkaConsumer(
            names(topics.DECISIONS),
            names(topics.DEADLETTER),
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
        )
        self.deadletter = names(topics.DEADLETTER)
        self.by_id: dict[str, list[dict[str, Any]]] = {}
        self.assigned: set[str] = set()
        self.closed: set[str] = set()
        self.letters: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100, max_records=10_000)
            for tp, records in batch.items():
                for record in records:
                    event = orjson.loads(record.value)
                    if tp.topic == self.deadletter:
                        self.letters.append(event)
                        continue
                    self.by_id.setdefault(event["id"], []).append(event)
                    if event["type"] == "dispatch.ticket.assigned":
                        self.assigned.add(event["subject"])
                    if event["type"] == "dispatch.ticket.closed":
                        self.closed.add(event["subject"])

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()


@contextlib.contextmanager
def router(settings: Settings, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "router"],
            env=child_env(settings, settings.kafka_bootstrap or ""),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def until(check: Any, what: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    async def done() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the router exited with {process.returncode}: {what}")
        return bool(check())

    await eventually(done, what, timeout)


async def send(bootstrap: str, names: Topics, events: list[Any], pace: float = 0.0) -> None:
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        for at in range(0, len(events), 100):
            futures = [
                await producer.send(names.of(e), encode(e), key=e.subject.encode(), headers=HEADERS)
                for e in events[at : at + 100]
            ]
            await asyncio.gather(*futures)
            await asyncio.sleep(pace)
    finally:
        await producer.stop()


async def test_a_router_killed_ten_times_in_a_burst_loses_no_decision(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=3,
        state_dir=tmp_path,
        log_level="WARNING",
    )
    names = Topics(settings.topic_prefix)
    await ensure_topics(kafka_bootstrap, settings.topic_prefix, settings.partitions, 1)
    burst = requests(load_policy(None), COUNT, tag=f"crash-{uuid.uuid4().hex[:6]}")
    early = burst[::EARLY_EVERY]
    log = Log(kafka_bootstrap, names)
    await log.start()
    await send(kafka_bootstrap, names, [update(TicketClaimed, r, "claim") for r in early])
    producing = asyncio.create_task(send(kafka_bootstrap, names, burst, pace=0.05))
    shuffle = random.Random(12)
    try:
        for kill in range(KILLS):
            with router(settings, tmp_path / "router.log") as process:
                before = len(log.assigned)
                await until(
                    lambda b=before: len(log.assigned) > b or len(log.assigned) == COUNT,  # type: ignore[misc]
                    f"kill {kill}: the router decides again",
                    process,
                    timeout=90,
                )
                await asyncio.sleep(shuffle.uniform(0.0, 0.4))
                os.kill(process.pid, signal.SIGKILL)
        await producing
        with router(settings, tmp_path / "router.log") as process:
            await until(
                lambda: len(log.assigned) == COUNT,
                f"every request assigned ({len(log.assigned)} so far)",
                process,
                timeout=120,
            )
            later = [update(TicketResolved, r, "resolve") for r in early]
            later += [update(TicketFeedback, r, "feedback", satisfaction=5) for r in early]
            await send(kafka_bootstrap, names, later)
            await until(
                lambda: len(log.closed) == len(early),
                "every early-claimed ticket closed",
                process,
                timeout=60,
            )
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        producing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producing
        await log.stop()

    assert log.assigned == {r.subject for r in burst}
    differing = [i for i, copies in log.by_id.items() if any(c != copies[0] for c in copies)]
    assert differing == []
    assert log.letters == []  # no claim was lost: no resolve was refused
    assert log.closed == {r.subject for r in early}
