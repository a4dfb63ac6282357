"""An intake restarted on its state directory resumes from its snapshot (SQLite under
DISPATCH_STATE_DIR/intake/) and reads only the tail; a snapshot that does not match the log is
dropped and rebuilt from the beginning. Either way it answers as before."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.stack import Stack
from services.intake.runtime import state_file
from tests.integration.test_intake_idempotency import intake_settings

HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}
TEXTS = ("北门小区3幢楼道灯坏了一个多星期", "城南路12号门口污水外溢", "府前社区广场夜里噪音扰民")


@pytest.fixture
def intakes() -> Iterator[list[Stack]]:
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.stop()


def start(intakes: list[Stack], bootstrap: str, prefix: str, state: Path) -> Stack:
    stack = Stack(intake_settings(bootstrap, prefix, state), services=("intake",))
    intakes.append(stack)
    stack.start()
    return stack


def post(stack: Stack, external_id: str, text: str) -> httpx.Response:
    body = {"external_id": external_id, "description": text}
    return httpx.post(f"{stack.intake_url}/v1/requests", json=body, headers=HOTLINE, timeout=30)


def health(stack: Stack) -> dict[str, Any]:
    response = httpx.get(f"{stack.intake_url}/healthz", timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def views(stack: Stack, tickets: list[str]) -> dict[str, Any]:
    found = {}
    for ticket in tickets:
        response = httpx.get(f"{stack.intake_url}/v1/tickets/{ticket}", headers=HOTLINE)
        assert response.status_code == 200, response.text
        found[ticket] = response.json()
    return found


def test_a_restarted_intake_resumes_from_its_snapshot_and_a_wrong_one_is_rebuilt(
    kafka_bootstrap: str, intakes: list[Stack], tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    first = start(intakes, kafka_bootstrap, prefix, tmp_path)
    assert health(first)["snapshot"] == {"kept": True, "resumed": 0}
    tickets = []
    for n, text in enumerate(TEXTS):
        created = post(first, f"snap-{n}", text)
        assert created.status_code == 202, created.text
        tickets.append(created.json()["ticket_id"])
    before = views(first, tickets)
    first.stop()
    path = state_file(first.settings)
    assert path.exists()

    resumed = start(intakes, kafka_bootstrap, prefix, tmp_path)
    shown = health(resumed)
    # three requests and three ledger entries at least were spared a second read
    assert shown["snapshot"]["kept"] and shown["snapshot"]["resumed"] >= 6
    assert (shown["tickets"], shown["ledger"]) == (3, 3)
    assert views(resumed, tickets) == before
    again = post(resumed, "snap-0", TEXTS[0])
    assert (again.status_code, again.json()["ticket_id"]) == (200, tickets[0])
    fourth = post(resumed, "snap-3", "城北新村南区5幢没有路灯")
    assert fourth.status_code == 202
    tickets.append(fourth.json()["ticket_id"])
    before = views(resumed, tickets)
    resumed.stop()

    # The log the snapshot was taken of is not this one (say, a broker restored with other
    # offsets): the record before a position is not the one it noted.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE positions SET digest = 'not-this-log'")
    rebuilt = start(intakes, kafka_bootstrap, prefix, tmp_path)
    shown = health(rebuilt)
    assert shown["snapshot"] == {"kept": True, "resumed": 0}
    assert (shown["tickets"], shown["ledger"]) == (4, 4)
    assert views(rebuilt, tickets) == before
    again = post(rebuilt, "snap-1", TEXTS[1])
    assert (again.status_code, again.json()["ticket_id"]) == (200, tickets[1])
