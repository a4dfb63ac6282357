"""``dispatch audit replay --verify`` against a running stack on the real broker: the files it
writes agree with what happened, and a forged decision makes it exit 1 and name it."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from dispatch.stack import Stack
from schemas import topics
from schemas.codec import HEADERS, decode, encode
from schemas.events import Assignee, TicketAssigned
from schemas.words import CHINA
from services.audit.read import read_log
from services.audit.sla import COLUMNS
from services.common.bus import ensure_topics
from services.intake.models import RequestIn, received_event
from tests.kafka import produce, read_until, with_type
from tests.stacks import FAST_SCALE, assignee_of, fast, handler

GRID = {"Authorization": "Bearer demo-grid-patrol"}
SCALE = FAST_SCALE


@pytest.fixture(scope="module")
def fast_stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fast(kafka_bootstrap, tmp_path_factory.mktemp("audit")) as started:
        yield started


async def post(client: httpx.AsyncClient, description: str) -> str:
    body = {"external_id": f"audit-{uuid.uuid4().hex[:8]}", "description": description}
    response = await client.post("/v1/requests", json=body, headers=GRID)
    assert response.status_code == 202, response.text
    ticket: str = response.json()["ticket_id"]
    return ticket


async def act(
    client: httpx.AsyncClient, stack: Stack, ticket: str, action: str, **extra: Any
) -> None:
    """Feedback by the submitting source; claims and resolutions by the assigned unit."""
    body = {"action": action, "actor": "赖清香 13905981234", **extra}
    who = GRID if action == "feedback" else handler(stack, await assignee_of(client, stack, ticket))
    response = await client.post(f"/v1/tickets/{ticket}/updates", json=body, headers=who)
    assert response.status_code == 202, response.text


async def records(stack: Stack, topic: str, kind: str, ticket: str) -> list[dict[str, Any]]:
    found = await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}{topic}",
        lambda rs: bool(with_type(rs, kind, ticket)),
    )
    return [orjson.loads(r.value) for r in with_type(found, kind, ticket)]


def audit(stack: Stack, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env["DISPATCH_TOPIC_PREFIX"] = stack.settings.topic_prefix
    command = [sys.executable, "-m", "dispatch", "audit", "replay", "--bootstrap"]
    return subprocess.run(
        [*command, stack.bootstrap, "--out", str(out), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
async def history(fast_stack: Stack) -> dict[str, str]:
    """A closed ticket, an escalated one, a refused update, a phone number in a request."""
    async with httpx.AsyncClient(base_url=fast_stack.intake_url, timeout=15) as client:
        # The router's first assignment waits for its group to form: a claim needs one (only
        # the assigned unit may claim), so the timed ticket comes after a first assignment.
        warm = await post(client, "翠竹小区3幢门口路灯坏了")
        await assignee_of(client, fast_stack, warm)
        tickets = {"closed": await post(client, "城北新村南区7幢楼梯灯不亮")}
        await act(
            client, fast_stack, tickets["closed"], "claim"
        )  # at once: the claim limit is 3.6 s
        await act(client, fast_stack, tickets["closed"], "resolve")
        await act(client, fast_stack, tickets["closed"], "feedback", satisfaction=5)
        tickets["escalated"] = await post(client, "洋坊新村2号楼楼道灯坏了")
        tickets["refused"] = await post(client, "府前9幢门口路灯坏了一排")
        tickets["phoned"] = await post(client, "罗布社区路灯不亮,联系电话13905981234")
        await act(client, fast_stack, tickets["refused"], "resolve")  # before any claim
    await records(fast_stack, "dispatch.decisions", "dispatch.ticket.closed", tickets["closed"])
    await records(
        fast_stack, "dispatch.decisions", "dispatch.ticket.escalated", tickets["escalated"]
    )
    await records(fast_stack, "dispatch.deadletter", "dispatch.input.rejected", tickets["refused"])
    return tickets


async def test_the_replay_verifies_a_live_history_and_writes_consistent_files(
    fast_stack: Stack, history: dict[str, str], tmp_path: Path
) -> None:
    done = await asyncio.to_thread(audit, fast_stack, tmp_path, "--verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "按期办结率" in done.stdout
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert report["divergences"] == [], report["divergences"]
    verified = report["verify"]
    assert verified["recorded_decisions"] >= 9
    assert verified["reproduced"] == verified["recorded_decisions"]
    assert verified["refusals_confirmed"] == 1
    text = (tmp_path / "tickets.jsonl").read_text(encoding="utf-8")
    assert "13905981234" not in text
    lines = {t["ticket_id"]: t for t in map(orjson.loads, text.splitlines())}
    assert set(history.values()) <= set(lines)
    closed = lines[history["closed"]]
    assert (closed["status"], closed["on_time"], closed["satisfaction"]) == ("closed", True, 5)
    assert closed["claimed_on_time"] is True
    escalated = lines[history["escalated"]]
    assert escalated["escalations"] >= 1 and escalated["claimed_on_time"] is False
    assert lines[history["refused"]]["refused_inputs"] == 1
    assert report["totals"]["received"] == len(lines)
    assert report["totals"]["closed"] == 1
    with (tmp_path / "sla.csv").open(encoding="utf-8-sig", newline="") as table:
        rows = list(csv.DictReader(table))
    assert tuple(rows[0]) == COLUMNS
    everything = next(r for r in rows if r["dimension"] == "all")
    assert int(everything["tickets"]) == len(lines) and everything["on_time_rate"] == "1.0"
    assert {r["dimension"] for r in rows} == {"all", "tier", "level", "community", "department"}


async def test_a_forged_decision_fails_verification_and_is_named(
    fast_stack: Stack, history: dict[str, str], tmp_path: Path
) -> None:
    [assigned] = await records(
        fast_stack, "dispatch.decisions", "dispatch.ticket.assigned", history["closed"]
    )
    real = decode(orjson.dumps(assigned))
    assert isinstance(real, TicketAssigned)
    other = Assignee(id="MG-FORGED", kind="microgrid_leader", name="冒名网格长")
    changed = real.model_copy(update={"data": real.data.model_copy(update={"assignee": other})})
    injected = real.model_copy(
        update={"id": f"forged-{uuid.uuid4()}", "time": real.time + timedelta(seconds=1)}
    )
    topic = f"{fast_stack.settings.topic_prefix}dispatch.decisions"
    for forged in (changed, injected):
        await produce(
            fast_stack.bootstrap,
            topic,
            encode(forged),
            key=forged.subject.encode(),
            headers=HEADERS,
        )
    done = await asyncio.to_thread(audit, fast_stack, tmp_path, "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    named = {(d["kind"], d["decision_id"]) for d in report["divergences"]}
    assert named == {("different", real.id), ("extra", injected.id)}
    assert injected.id in done.stdout
    without = await asyncio.to_thread(audit, fast_stack, tmp_path / "plain")
    assert without.returncode == 0  # no --verify: the files, no verdict
    assert orjson.loads((tmp_path / "plain" / "report.json").read_bytes())["divergences"] is None


def test_without_a_broker_to_read_it_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "dispatch", "audit", "replay", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DISPATCH_KAFKA_BOOTSTRAP" in done.stderr and "in memory" in done.stderr
    assert not (tmp_path / "report.json").exists()


async def test_the_reader_sees_every_record_of_a_partitions_last_batch(
    kafka_bootstrap: str, prefix: str
) -> None:
    """Tansu 0.6 gives the last batch's base offset + 1 as a partition's end offset."""
    await ensure_topics(kafka_bootstrap, prefix, 1, 1)
    now = datetime.now(CHINA)
    events = [
        received_event(
            RequestIn(external_id=f"B-{n}", description="府前9幢垃圾没人清运"), "ehu", now
        )
        for n in range(5)
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=50)
    await producer.start()
    try:
        sent = [
            await producer.send(f"{prefix}dispatch.requests", encode(e), partition=0)
            for e in events
        ]
        await asyncio.gather(*sent)  # one batch of five records
    finally:
        await producer.stop()
    log = await read_log(kafka_bootstrap, prefix)
    assert [r.event.id for r in log.of(topics.REQUESTS)] == [e.id for e in events]
    assert all(r.timestamp is not None for r in log.of(topics.REQUESTS))
