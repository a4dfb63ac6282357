"""``dispatch up``: every service in one process tree, on the embedded broker unless a cluster
is configured. Children are bound to this process's life and stopped in order on exit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import httpx
from pydantic import SecretStr

from dispatch.broker import EmbeddedBroker, die_with_parent, wait_for_port
from services.common.bus import ensure_topics, kafka_security
from services.common.settings import Settings

SERVICES = ("intake", "router", "notifier", "console")


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
        self.ports_free()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.kafka_bootstrap:
            self.bootstrap = self.settings.kafka_bootstrap
        else:
            self.broker = EmbeddedBroker(log_path=self.log_dir / "broker.log")
            self.bootstrap = self.broker.start()
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
        env = child_env(self.settings, self.bootstrap)
        for name in self.services:
            log = (self.log_dir / f"{name}.log").open("ab")
            self.logs[name] = log
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "dispatch", name],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        self.wait_ready(timeout)

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
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
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
        return lines


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
