"""Every assignment reaches the command-center webhook as the signed CloudEvent itself."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from dispatch.broker import free_port
from dispatch.stack import Stack
from services.common.settings import Settings
from tests.kafka import eventually, read_until, with_type
from tests.receiver import Receiver, receiver

SECRET = "command-center-secret"


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture(scope="module")
def notifying_stack(
    kafka_bootstrap: str, hook: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    state: Path = tmp_path_factory.mktemp("notify")
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        http_port=free_port(),
        console_port=free_port(),
        state_dir=state,
        partitions=2,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        notify_webhook=hook.url,
        webhook_secret=SECRET,
    )
    stack = Stack(settings, services=("intake", "router", "notifier"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


async def test_assignment_is_posted_signed_and_recorded_as_sent(
    notifying_stack: Stack,
    hook: Receiver,
) -> None:
    stack = notifying_stack
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            f"{stack.intake_url}/v1/requests",
            json={
                "external_id": f"hook-{uuid.uuid4().hex[:6]}",
                "description": "城北新村南区7幢楼梯灯不亮",
            },
            headers={"Authorization": "Bearer demo-grid-patrol"},  # a source submits
        )
    ticket = response.json()["ticket_id"]

    def delivered() -> list[dict[str, object]]:
        return [
            orjson.loads(r.body) for r in hook.requests if orjson.loads(r.body)["subject"] == ticket
        ]

    async def arrived() -> bool:
        return any(e["type"] == "dispatch.ticket.assigned" for e in delivered())

    await eventually(arrived, "the assignment reaches the webhook", timeout=60)
    request = next(
        r
        for r in hook.requests
        if orjson.loads(r.body)["subject"] == ticket
        and orjson.loads(r.body)["type"] == "dispatch.ticket.assigned"
    )
    assert request.headers["content-type"] == "application/cloudevents+json"
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Dispatch-Signature"], expected)
    # Standard Webhooks, checked by its own library (no one here wrote it): id, fresh
    # timestamp and signature of "id.timestamp.body" with the secret's bytes as the key.
    verified = Webhook(SECRET.encode()).verify(request.body, request.headers)
    assert verified["id"] == orjson.loads(request.body)["id"]
    assert request.headers["webhook-id"] == request.headers["Idempotency-Key"]
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another-secret").verify(request.body, request.headers)

    names = stack.settings.topic_prefix
    records = await read_until(
        stack.bootstrap,
        f"{names}dispatch.notifications",
        lambda rs: bool(with_type(rs, "dispatch.notification.sent", ticket)),
    )
    sent = orjson.loads(with_type(records, "dispatch.notification.sent", ticket)[0].value)
    assert sent["data"]["decision_id"] == orjson.loads(request.body)["id"]
    assert sent["data"]["attempts"] == 1
    assert sent["causationid"] == sent["data"]["decision_id"]
