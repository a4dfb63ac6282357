"""``dispatch up`` keeps running when a child dies, and keeps its data across a stop and start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.common.identity import mint
from tests.e2e.conftest import descendants, dispatch_env, wait_gone
from tests.e2e.test_dispatch_up import read_banner
from tests.kafka import read_until, settled, with_type

KEY = {"Authorization": "Bearer demo-hotline-12345"}
SECRET = "up-keeps-its-data-token-secret-of-32-bytes"  # the same across both runs of `up`
REQUESTS = tuple(
    {"description": text, "location": {"community": community}}
    for text, community in (
        ("9幢20号店的咖啡店污水管大水管堵塞,污水外溢", "府前社区"),
        ("3号楼楼道灯坏了半个月,老人上下楼看不清", "城北社区"),
        ("主街路边摆摊占道经营,脏乱差,难管理", "罗布社区"),
    )
)
KEPT = ("status", "level", "assignee", "claim_by", "resolve_by", "tier", "category")


def post(intake: str, body: dict[str, Any]) -> str:
    body = {"external_id": f"keep-{uuid.uuid4().hex[:8]}", **body}
    response = httpx.post(f"{intake}/v1/requests", json=body, headers=KEY, timeout=15)
    assert response.status_code == 202, response.text
    ticket: str = response.json()["ticket_id"]
    return ticket


def handler_of(intake: str, ticket: str) -> dict[str, str]:
    """A signed token of the handler the ticket is assigned to now (claim, resolve)."""
    unit = view(intake, ticket)["assignee"]["id"]
    token = mint(SECRET, "handler", "网格员", unit, timedelta(hours=1), datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def update(intake: str, ticket: str, body: dict[str, Any]) -> None:
    who = KEY if body["action"] == "feedback" else handler_of(intake, ticket)
    response = httpx.post(
        f"{intake}/v1/tickets/{ticket}/updates", json=body, headers=who, timeout=15
    )
    assert response.status_code == 202, response.text


def view(intake: str, ticket: str) -> dict[str, Any]:
    response = httpx.get(f"{intake}/v1/tickets/{ticket}", headers=KEY, timeout=15)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def wait_status(intake: str, ticket: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        seen.update(view(intake, ticket))
        return dict(seen) if seen["status"] == status else None

    return settled(reached, lambda: f"{ticket} is {seen.get('status')}, not {status}", timeout)


def supervised(state: Path) -> dict[str, Any]:
    """What `up` says it runs (DISPATCH_STATE_DIR/services.json): pid, restarts, last exit."""
    found: dict[str, Any] = json.loads((state / "services.json").read_text())["services"]
    return found


def stop(process: subprocess.Popen[str]) -> None:
    tree = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert wait_gone(tree) == set()


def test_a_killed_router_is_restarted_and_a_restart_of_up_keeps_every_ticket(
    run_dispatch,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = dispatch_env(tmp_path, DISPATCH_TOKEN_SECRET=SECRET)
    process = run_dispatch("up", env=env)
    intake = read_banner(process)["intake"]
    first, second = post(intake, REQUESTS[0]), post(intake, REQUESTS[1])
    wait_status(intake, first, "assigned")
    wait_status(intake, second, "assigned")
    update(intake, first, {"action": "claim", "actor": "网格员"})
    wait_status(intake, first, "claimed")

    state = tmp_path / "state"
    router = supervised(state)["router"]["pid"]
    os.kill(router, signal.SIGKILL)
    third = post(intake, REQUESTS[2])
    wait_status(intake, third, "assigned", timeout=30)
    assert process.poll() is None
    restarted = supervised(state)["router"]
    assert (restarted["restarts"], restarted["last_exit"]) == (1, -signal.SIGKILL)
    assert restarted["pid"] != router and restarted["pid"] in descendants(process.pid)
    before = {t: view(intake, t) for t in (first, second, third)}
    stop(process)

    again = run_dispatch("up", env=env)
    banner = read_banner(again)
    intake = banner["intake"]
    for ticket, was in before.items():
        now = view(intake, ticket)
        assert {k: now[k] for k in KEPT} == {k: was[k] for k in KEPT}
        assert [e["type"] for e in now["timeline"]] == [e["type"] for e in was["timeline"]]
    update(intake, first, {"action": "resolve", "actor": "网格员", "note": "已疏通"})
    wait_status(intake, first, "resolved")
    update(intake, first, {"action": "feedback", "actor": "回访员", "satisfaction": 5})
    asyncio.run(
        read_until(
            banner["bootstrap"],
            "dispatch.decisions",
            lambda rs: bool(with_type(rs, "dispatch.ticket.closed", first)),
        )
    )
    stop(again)

    audit = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatch",
            "audit",
            "replay",
            "--verify",
            "--archive",
            str(state / "archive"),
            "--out",
            str(tmp_path / "audit"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "3 tickets" in audit.stdout
