"""``dispatch up``: every service in one process tree, on the embedded broker unless a cluster
is configured. Children are bound to this process's life and stopped in order on exit.

Supervision (``supervise``, called by ``up``'s wait loop): a child that exits is started again
after a backoff that doubles with each quick exit (``BACKOFF_S`` up to ``BACKOFF_MAX_S``; a
child that ran ``STABLE_S`` starts again at once); the broker is never stopped for it. The
restart counts are written to ``DISPATCH_STATE_DIR/services.json`` (services/common/status.py),
which the intake's ``/metrics`` and the console's ``/api/services`` show.

With the archive among the services and the embedded broker, ``start`` first restores the
archive into the new broker (services/archive/restore.py), then starts the services; ``stop``
stops the services, then the archive (which reads to the end and flushes), then the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO

import httpx
from pydantic import SecretStr

from dispatch.broker import EmbeddedBroker, die_with_parent, wait_for_port
from services.common import status
from services.common.bus import ensure_topics, kafka_security
from services.common.identity import mint, new_secret
from services.common.settings import Settings

SERVICES = ("intake", "router", "notifier", "console")
UP_SERVICES = (*SERVICES, "archive")
"""What ``dispatch up`` runs: the services and the archive of the log."""
LAST = ("archive",)
"""Stopped after the others, so that it reads what they wrote last."""
BACKOFF_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0
SPARES = ("router",)
"""Kept warm by ``up`` (imports done, waiting on stdin): a restart skips the seconds a Faust
worker's imports take on a busy machine."""

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A service did not start."""


def child_env(settings: Settings, bootstrap: str) -> dict[str, str]:
    """The environment that gives every child the same settings as this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    values = settings.model_dump(exclude_none=True)
    values["kafka_bootstrap"] = bootstrap
    for name, value in values.items():
        secret = isinstance(value, SecretStr)
        env[f"DISPATCH_{name.upper()}"] = value.get_secret_value() if secret else str(value)
    if settings.uses_demo_keys:  # children are `dispatch intake`, which needs keys set
        keys = settings.keys_by_source()
        env["DISPATCH_SOURCE_KEYS"] = ",".join(f"{s}={k}" for s, k in keys.items())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass
class Stack:
    settings: Settings
    services: tuple[str, ...] = SERVICES
    broker: EmbeddedBroker | None = None
    bootstrap: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    quick_exits: dict[str, int] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)
    """services waiting for their restart: when it is due (monotonic)"""
    last_exit: dict[str, int] = field(default_factory=dict)
    restored: int = 0
    supervised: bool = False
    """``up``: keep a warm spare of the services in ``SPARES``"""
    spares: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.settings.state_dir / "logs"

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.console_port}"

    def ports_free(self) -> None:
        wanted = {"intake": self.settings.http_port, "console": self.settings.console_port}
        for name, port in wanted.items():
            if name not in self.services:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as exc:
                    raise StackError(
                        f"port {port} for the {name} is taken ({exc.strerror}); "
                        f"set DISPATCH_{'HTTP' if name == 'intake' else 'CONSOLE'}"
                        "_PORT or stop what holds it"
                    ) from exc

    def start(self, timeout: float = 60.0) -> None:
        if self.settings.token_secret is None:  # one per run: the tokens `up` prints
            self.settings = self.settings.model_copy(update={"token_secret": new_secret()})
        self.ports_free()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.kafka_bootstrap:
            self.bootstrap = self.settings.kafka_bootstrap
        else:
            self.broker = EmbeddedBroker(log_path=self.log_dir / "broker.log")
            self.bootstrap = self.broker.start()
            if "archive" in self.services:
                self.restore()
        asyncio.run(
            ensure_topics(
                self.bootstrap,
                self.settings.topic_prefix,
                self.settings.partitions,
                self.settings.replication_factor,
                min_insync_replicas=self.settings.min_insync_replicas,
                security=kafka_security(self.settings),
            )
        )
        for name in self.services:
            self.spawn(name)
        self.write_status()
        self.wait_ready(timeout)

    def restore(self) -> None:
        """Put the archive of an earlier run back into the new broker, before any service."""
        from services.archive.app import archive_root
        from services.archive.restore import run_restore

        done = run_restore(
            self.bootstrap,
            archive_root(self.settings),
            self.settings.topic_prefix,
            self.settings.replication_factor,
        )
        self.restored = done.records
        if done.records:
            log.info(
                "restored %d records of %d topics and %d consumer groups from %s",
                done.records,
                done.topics,
                done.groups,
                archive_root(self.settings),
            )

    def spawn(self, name: str) -> None:
        spare = self.spares.pop(name, None)
        if spare is not None and spare.poll() is None and spare.stdin is not None:
            with contextlib.suppress(OSError):
                spare.stdin.write(b"start\n")
                spare.stdin.close()
                self.processes[name] = spare
                self.started_at[name] = time.monotonic()
                self.due.pop(name, None)
                self.spares[name] = self.launch(name, spare=True)
                return
        self.processes[name] = self.launch(name)
        self.started_at[name] = time.monotonic()
        self.due.pop(name, None)
        if name in SPARES and self.supervised:
            self.spares[name] = self.launch(name, spare=True)

    def launch(self, name: str, spare: bool = False) -> subprocess.Popen[bytes]:
        """``dispatch NAME``; a spare has imported everything and starts on a line on stdin."""
        if name not in self.logs:
            self.logs[name] = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "dispatch", name, *(["--spare"] if spare else [])],
            env=child_env(self.settings, self.bootstrap),
            stdin=subprocess.PIPE if spare else subprocess.DEVNULL,
            stdout=self.logs[name],
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

    def supervise(self) -> None:
        """Restart what exited (after its backoff); raise only when the broker itself died."""
        if self.broker is not None and not self.broker.alive():
            raise StackError(f"the embedded broker exited; see {self.log_dir / 'broker.log'}")
        now = time.monotonic()
        changed = False
        for name, process in self.processes.items():
            if process.poll() is None or name in self.due:
                continue
            ran = now - self.started_at.get(name, now)
            quick = 0 if ran >= STABLE_S else self.quick_exits.get(name, 0) + 1
            self.quick_exits[name] = quick
            delay = restart_delay(quick)
            self.due[name] = now + delay
            self.last_exit[name] = process.returncode
            log.warning(
                "%s exited with %s after %.1fs; restart #%d in %.1fs (log: %s)",
                name,
                exit_text(process.returncode),
                ran,
                self.restarts.get(name, 0) + 1,
                delay,
                self.log_dir / f"{name}.log",
            )
            changed = True
        for name, when in list(self.due.items()):
            if when <= now:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.spawn(name)
                log.warning("%s restarted (pid %d)", name, self.processes[name].pid)
                changed = True
        if changed:
            self.write_status()

    def write_status(self) -> None:
        status.write(
            self.settings.state_dir,
            {
                name: status.ServiceStatus(
                    pid=process.pid,
                    running=process.poll() is None,
                    restarts=self.restarts.get(name, 0),
                    last_exit=self.last_exit.get(name),
                )
                for name, process in self.processes.items()
            },
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if "console" in self.processes:
            wait_for_port("127.0.0.1", self.settings.console_port, timeout)
        if "intake" not in self.processes:
            return
        while True:
            self.check_alive()
            try:
                if httpx.get(f"{self.intake_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"intake not healthy after {timeout}s; see {self.log_dir}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}"
                )

    def stop(self, timeout: float = 15.0) -> None:
        first = [p for n, p in self.processes.items() if n not in LAST]
        for spare in self.spares.values():
            if spare.stdin is not None:
                with contextlib.suppress(OSError):
                    spare.stdin.close()  # EOF: a spare exits by itself
            first.append(spare)
        self.spares = {}
        last = [p for n, p in self.processes.items() if n in LAST]
        for group in (first, last):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + timeout
            for process in group:
                try:
                    process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        self.due.clear()
        for log in self.logs.values():
            with contextlib.suppress(OSError):
                log.close()
        self.logs.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def banner(self) -> list[str]:
        lines = [
            f"intake    {self.intake_url}   (OpenAPI: {self.intake_url}/docs)",
            f"console   {self.console_url}",
            f"bootstrap {self.bootstrap}"
            + ("   (embedded Tansu broker)" if self.broker is not None else ""),
            f"logs      {self.log_dir}",
        ]
        if self.settings.uses_demo_keys:
            lines.append("demo API keys (set DISPATCH_SOURCE_KEYS for real ones):")
            lines += [f"  {src:<14} {key}" for src, key in self.settings.keys_by_source().items()]
        lines.append("operator token (8h; with DISPATCH_TOKEN_SECRET set, `dispatch token`):")
        lines.append(f"  {self.operator_token()}")
        return lines

    def operator_token(self, ttl_hours: float = 8) -> str:
        secret = self.settings.token_secret
        assert secret is not None  # set by start()
        ttl = timedelta(hours=ttl_hours)
        return mint(secret, "operator", "demo-operator", None, ttl, datetime.now(UTC))


def restart_delay(quick_exits: int) -> float:
    """Seconds before a restart, after ``quick_exits`` exits in a row each within ``STABLE_S``
    of its start (0: the child had run long enough, start it again at once)."""
    if quick_exits <= 0:
        return 0.0
    return float(min(BACKOFF_MAX_S, BACKOFF_S * 2 ** (quick_exits - 1)))


def exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"{signal.Signals(-code).name}"
    return f"code {code}"


def wait_for_signal(check: Callable[[], None] | None = None) -> None:
    """Block until SIGINT or SIGTERM; ``check`` runs every half second and may raise."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(0.5):
        if check is not None:
            check()
