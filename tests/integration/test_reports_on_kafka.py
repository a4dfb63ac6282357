"""A simulated month on the broker: the console's /api/assessment and /api/hotspots give the
figures `dispatch report` computes from Kafka and from the history file, and the audit
reproduces every decision the simulator recorded (they are the router kernel's own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kafka import settled
from tests.stacks import operator, running

pytestmark = pytest.mark.kafka
PERIOD = ["--from", "2026-03-01", "--to", "2026-03-21"]


def dispatch(prefix: str, bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISPATCH_TOPIC_PREFIX": prefix, "DISPATCH_KAFKA_BOOTSTRAP": bootstrap}
    return subprocess.run(
        [sys.executable, "-m", "dispatch", *args], env=env, capture_output=True, text=True,
        timeout=170,
    )  # fmt: skip


def report(out: Path, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    return found


def until_caught_up(
    url: str, received: int, headers: dict[str, str], deadline: float = 60.0
) -> dict[str, Any]:
    """The console's assessment (read with an operator's token) once it has folded every
    ticket of the period."""
    last: dict[str, Any] = {}

    def caught_up() -> dict[str, Any] | None:
        answer = httpx.get(url, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        last.update(answer.json())
        return dict(last) if last["total"]["received"] == received else None

    return settled(caught_up, lambda: f"the console folded {last.get('total')}", deadline)


def test_console_command_and_file_agree_on_a_simulated_month(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    with running(kafka_bootstrap, tmp_path / "state", ("console",)) as stack:
        prefix, bootstrap = stack.settings.topic_prefix, stack.bootstrap
        sim = tmp_path / "sim"
        made = dispatch(prefix, bootstrap, "simulate", "--days", "21", "--start", "2026-03-01",
                        "--per-year", "12000", "--out", str(sim))  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert "published" in made.stdout
        history = str(sim / "history.jsonl")
        for source, out in (("--history", tmp_path / "file"), ("", tmp_path / "kafka")):
            extra = [source, history] if source else []
            for kind in ("assess", "hotspots"):
                args = ["report", kind, *PERIOD, "--out", str(out), *extra]
                if kind == "assess":
                    args += ["--by", "community"]
                done = dispatch(prefix, bootstrap, *args)
                assert done.returncode == 0, done.stderr
        from_file = report(tmp_path / "file", "assessment")
        assert from_file["total"]["received"] > 500
        assert report(tmp_path / "kafka", "assessment") == from_file
        assert report(tmp_path / "kafka", "hotspots") == report(tmp_path / "file", "hotspots")
        query = "from=2026-03-01&to=2026-03-21"
        console = until_caught_up(
            f"{stack.console_url}/api/assessment?{query}&by=community",
            from_file["total"]["received"],
            operator(stack),
        )
        assert console == from_file
        hot = httpx.get(
            f"{stack.console_url}/api/hotspots?{query}", headers=operator(stack), timeout=10
        ).json()
        assert hot == report(tmp_path / "file", "hotspots")
        bad = httpx.get(
            f"{stack.console_url}/api/assessment?from=March&to=x",
            headers=operator(stack),
            timeout=10,
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        audited = dispatch(prefix, bootstrap, "audit", "replay", "--verify", "--out",
                           str(tmp_path / "audit"))  # fmt: skip
        assert audited.returncode == 0, audited.stdout + audited.stderr
