"""Several ``dispatch router`` processes sharing the work as one consumer group.

What a cluster deployment runs (compose's two routers, the Kubernetes Deployment scaled on
lag), as child processes of this one: for the multi-router tests and ``router_scaling``.
Each router has a state directory of its own; all of them share the topics and the group.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from aiokafka.admin import AIOKafkaAdminClient

from dispatch.broker import die_with_parent
from dispatch.stack import child_env
from services.common.bus import kafka_security
from services.common.settings import Settings


class RouterGroupError(RuntimeError):
    """A router exited, or the group did not form in time."""


def group_id(settings: Settings) -> str:
    """The routers' consumer group (the Faust app id): what KEDA watches for lag."""
    return f"{settings.topic_prefix}dispatch-router"


@dataclass
class RouterGroup:
    settings: Settings
    bootstrap: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    def add(self) -> int:
        """Start one more router; returns its index."""
        index = len(self.processes)
        state = self.settings.state_dir / f"router-{index}"
        (state / "router").mkdir(parents=True, exist_ok=True)
        log_dir = self.settings.state_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = (log_dir / f"router-{index}.log").open("ab")
        self.logs.append(log)
        own = self.settings.model_copy(update={"state_dir": state})
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "dispatch", "router"],
                env=child_env(own, self.bootstrap),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        )
        return index

    def kill(self, index: int) -> None:
        """SIGKILL: no goodbye to the group, no flush, no commit."""
        process = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def alive(self) -> list[int]:
        return [i for i, p in enumerate(self.processes) if p.poll() is None]

    def check_alive(self, killed: frozenset[int] = frozenset()) -> None:
        for i, process in enumerate(self.processes):
            if i not in killed and process.poll() is not None:
                raise RouterGroupError(
                    f"router {i} exited with {process.returncode}; see {self.logs[i].name}"
                )

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            with contextlib.suppress(OSError):
                log.close()

    def __enter__(self) -> RouterGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def members(settings: Settings, bootstrap: str) -> int:
    """How many routers the group has, once it is stable (0 while it forms or rebalances).

    Only the count: Tansu answers DescribeGroups without the members' assignments."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **kafka_security(settings)
    )
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group_id(settings)])
    finally:
        await admin.close()
    wanted = group_id(settings)
    return sum(
        len(group[5])
        for response in described
        for group in getattr(response, "groups", [])
        if group[1] == wanted and group[2] == "Stable"
    )
