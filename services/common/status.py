"""The process tree's status file: what ``dispatch up`` supervises, and how often it restarted
each service (``DISPATCH_STATE_DIR/services.json``). Written by the supervisor, read by the
intake's ``/metrics`` and the console, which run in the same tree on the same state dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ValidationError

FILE = "services.json"


class ServiceStatus(BaseModel):
    pid: int
    running: bool
    restarts: int = 0
    last_exit: int | None = None


class TreeStatus(BaseModel):
    services: dict[str, ServiceStatus] = {}


def write(state_dir: Path, services: dict[str, ServiceStatus]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{FILE}.tmp"
    tmp.write_text(TreeStatus(services=services).model_dump_json(indent=2))
    os.replace(tmp, state_dir / FILE)


def read(state_dir: Path) -> TreeStatus:
    """The last status written; empty when no supervisor runs (a service started alone)."""
    try:
        return TreeStatus.model_validate_json((state_dir / FILE).read_bytes())
    except (OSError, ValidationError):
        return TreeStatus()


class RestartCollector(Collector):
    """``dispatch_service_restarts_total{service}`` and ``dispatch_service_up{service}``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        tree = read(self.state_dir)
        restarts = CounterMetricFamily(
            "dispatch_service_restarts",
            "times dispatch up restarted the service since it started",
            labels=["service"],
        )
        up = GaugeMetricFamily(
            "dispatch_service_up", "1 while the service's process runs", labels=["service"]
        )
        for name, service in sorted(tree.services.items()):
            restarts.add_metric([name], service.restarts)
            up.add_metric([name], 1 if service.running else 0)
        yield restarts
        yield up
