"""Fixtures shared by every test: one real Kafka broker for the session.

Choice, in order: ``DISPATCH_KAFKA_BOOTSTRAP`` (an external cluster); Apache Kafka through
testcontainers when a Docker daemon answers; else the embedded Tansu broker. Tests isolate
themselves with a topic prefix of their own, never with a fake broker.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent
SMALL_POLICY = ROOT / "tests" / "policies" / "small-district.yaml"


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure means "no usable Docker here"
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("DISPATCH_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    if docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own: its topics, groups and tables see only its events."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their Settings explicitly; only the broker choice comes from outside."""
    for name in list(os.environ):
        if name.startswith("DISPATCH_") and name != "DISPATCH_KAFKA_BOOTSTRAP":
            monkeypatch.delenv(name)


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the router's accuracy on the labelled requests at the end of every run."""
    from tests.unit.test_labelled_accuracy import accuracy_report

    terminalreporter.write_sep("-", "classification accuracy")
    for line in accuracy_report():
        terminalreporter.write_line(line)
