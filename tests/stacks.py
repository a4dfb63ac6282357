"""Services as real processes on the session broker, each set under a topic prefix of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dispatch.broker import free_port
from dispatch.stack import SERVICES, Stack
from services.common.settings import Settings


@contextmanager
def running(
    kafka_bootstrap: str,
    state_dir: Path,
    services: tuple[str, ...] = SERVICES,
    **settings: Any,
) -> Iterator[Stack]:
    """``services`` started on free ports (3 partitions unless ``settings`` say otherwise),
    stopped on exit."""
    config = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        http_port=free_port(),
        console_port=free_port(),
        state_dir=state_dir,
        **({"partitions": 3} | settings),
    )
    stack = Stack(config, services=services)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


FAST_SCALE = 0.0005  # a local ticket's 2-hour claim limit becomes 3.6 s


@contextmanager
def fast(kafka_bootstrap: str, state_dir: Path) -> Iterator[Stack]:
    """Intake and router with every deadline scaled by ``FAST_SCALE`` and a 0.2 s tick, so
    escalations come within seconds."""
    services = ("intake", "router")
    with running(
        kafka_bootstrap, state_dir, services, partitions=2, sla_scale=FAST_SCALE, tick_interval=0.2
    ) as stack:
        yield stack
