"""A running stack (intake, router, notifier, console as real processes) on the session broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.broker import free_port
from dispatch.settings import Settings
from dispatch.stack import Stack


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state: Path = tmp_path_factory.mktemp("stack")
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        http_port=free_port(),
        console_port=free_port(),
        state_dir=state,
        partitions=3,
    )
    running = Stack(settings)
    try:
        running.start()
        yield running
    finally:
        running.stop()
