"""Services as real processes on the session broker, each set under a topic prefix of its own."""

from __future__ import annotations

import asyncio
import contextlib
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
from tests.kafka import first


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


async def assigned_view(
    stack: Stack, ticket_id: str, timeout: float = 30.0, client: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    """The ticket as an operator sees it once the router assigned it (its ``assignee``)."""
    url, headers = f"{stack.intake_url}/v1/tickets/{ticket_id}", operator(stack)
    last: list[httpx.Response] = []
    async with contextlib.AsyncExitStack() as opened:
        if client is None:
            client = await opened.enter_async_context(httpx.AsyncClient(timeout=10))

        async def shown() -> dict[str, Any] | None:
            response = await client.get(url, headers=headers)
            last[:] = [response]
            found = response.json() if response.status_code == 200 else {}
            return cast(dict[str, Any], found) if found.get("assignee") else None

        def what() -> str:
            return f"{ticket_id} not assigned: {last[0].text if last else ''}"

        return await first(shown, what, timeout)


def assigned(stack: Stack, ticket_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """``assigned_view`` for synchronous tests (async ones await ``assigned_view``)."""
    return asyncio.run(assigned_view(stack, ticket_id, timeout))


async def assignee_of(client: httpx.AsyncClient, stack: Stack, ticket_id: str) -> str:
    """The unit holding ``ticket_id`` now, once the router assigned it (async callers)."""
    unit: str = (await assigned_view(stack, ticket_id, client=client))["assignee"]["id"]
    return unit
