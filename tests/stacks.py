"""Services as real processes on the session broker, each set under a topic prefix of its own."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx

from dispatch.broker import free_port
from dispatch.stack import SERVICES, Stack
from services.common.identity import Role, mint
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


def token(stack: Stack, role: str, unit: str | None = None, sub: str | None = None) -> str:
    """A signed token of ``stack``'s deployment (its ``DISPATCH_TOKEN_SECRET``)."""
    secret = stack.settings.token_secret
    assert secret is not None, "the stack makes its token secret when it starts"
    role_ = cast(Role, role)
    return mint(secret, role_, sub or role, unit, timedelta(hours=1), datetime.now(UTC))


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def operator(stack: Stack) -> dict[str, str]:
    return bearer(token(stack, "operator", sub="值班长"))


def handler(stack: Stack, unit: str, sub: str = "处置人") -> dict[str, str]:
    return bearer(token(stack, "handler", unit, sub))


def assigned(stack: Stack, ticket_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The ticket as an operator sees it once the router assigned it (its ``assignee``)."""
    deadline = time.monotonic() + timeout
    headers = operator(stack)
    while True:
        response = httpx.get(f"{stack.intake_url}/v1/tickets/{ticket_id}", headers=headers)
        if response.status_code == 200 and response.json().get("assignee"):
            shown: dict[str, Any] = response.json()
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{ticket_id} not assigned within {timeout}s: {response.text}")
        time.sleep(0.05)


async def assignee_of(client: httpx.AsyncClient, stack: Stack, ticket_id: str) -> str:
    """The unit holding ``ticket_id`` now, once the router assigned it (async callers)."""
    deadline = time.monotonic() + 30.0
    url = f"{stack.intake_url}/v1/tickets/{ticket_id}"
    while True:
        response = await client.get(url, headers=operator(stack))
        if response.status_code == 200 and response.json().get("assignee"):
            unit: str = response.json()["assignee"]["id"]
            return unit
        if time.monotonic() > deadline:
            raise AssertionError(f"{ticket_id} not assigned within 30s: {response.text}")
        await asyncio.sleep(0.05)
