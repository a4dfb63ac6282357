"""``dispatch up`` and ``demo`` as a user runs them: embedded broker, nothing left behind."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from pathlib import Path

import httpx

from tests.e2e.conftest import descendants, dispatch_env, wait_gone
from tests.kafka import read_until, with_type


def read_banner(process: subprocess.Popen[str], timeout_lines: int = 200) -> dict[str, str]:
    """The intake URL, console URL, bootstrap address and operator token `up` prints."""
    found: dict[str, str] = {}
    assert process.stdout is not None
    previous = ""
    for _ in range(timeout_lines):
        line = process.stdout.readline()
        if not line:
            break
        if previous.startswith("operator token"):
            found["token"] = line.strip()
        previous = line
        parts = line.split()
        if parts and parts[0] in ("intake", "console", "bootstrap"):
            found[parts[0]] = parts[1]
        if line.startswith("Ctrl-C"):
            return found
    raise AssertionError(f"no banner from dispatch up; got {found}, rc={process.poll()}")


def test_up_on_the_embedded_broker_assigns_a_request_then_stops_everything(
    run_dispatch,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    process = run_dispatch("up")
    banner = read_banner(process)
    tree = descendants(process.pid)
    assert len(tree) >= 5  # broker, intake, router, notifier, console
    response = httpx.post(
        f"{banner['intake']}/v1/requests",
        json={
            "external_id": f"e2e-{uuid.uuid4().hex[:6]}",
            "description": "城北新村南区5幢没有路灯",
        },
        headers={"Authorization": "Bearer demo-hotline-12345"},
        timeout=15,
    )
    assert response.status_code == 202
    ticket = response.json()["ticket_id"]
    asyncio.run(
        read_until(
            banner["bootstrap"],
            "dispatch.decisions",
            lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", ticket)),
        )
    )
    operator = {"Authorization": f"Bearer {banner['token']}"}  # the token `up` printed
    shown = httpx.get(f"{banner['intake']}/v1/tickets/{ticket}", headers=operator, timeout=15)
    assert shown.status_code == 200
    assert httpx.get(f"{banner['console']}/api/kpis", headers=operator).status_code == 200
    assert httpx.get(f"{banner['console']}/api/kpis").status_code == 401

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert wait_gone(tree) == set()


def test_killing_up_outright_still_takes_every_child_down(
    run_dispatch,  # type: ignore[no-untyped-def]
) -> None:
    process = run_dispatch("up")
    read_banner(process)
    tree = descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert wait_gone(tree) == set()


def test_up_prints_demo_keys_only_when_no_keys_are_configured(
    run_dispatch,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = dispatch_env(tmp_path, DISPATCH_SOURCE_KEYS="ehu=s3cret-key")
    process = run_dispatch("up", env=env)
    read_banner(process)
    tree = descendants(process.pid)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert "s3cret-key" not in output
    assert "demo-ehu" not in output
    assert wait_gone(tree) == set()


def test_demo_plays_the_scenario_and_exits_zero_leaving_nothing(
    run_dispatch,  # type: ignore[no-untyped-def]
) -> None:
    process = run_dispatch("demo")
    tree: set[int] = set()
    try:
        while process.poll() is None:
            tree |= descendants(process.pid)
            try:
                process.wait(0.2)
            except subprocess.TimeoutExpired:
                continue
        output = process.stdout.read() if process.stdout else ""
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-3000:]
    assert "场景完成" in output
    for played in ("已被 城北党员志愿者老陈 认领", "积 2 分", "移交", "已报到"):  # the seeds' flows
        assert played in output, output[-3000:]
    assert wait_gone(tree) == set()
