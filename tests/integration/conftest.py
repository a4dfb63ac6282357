"""A running stack (intake, router, notifier, console as real processes) on the session broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatch.stack import Stack
from tests.stacks import running


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(kafka_bootstrap, tmp_path_factory.mktemp("stack")) as started:
        yield started
