"""The webhook channel: the CloudEvent itself, HTTP binding, structured mode, HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from schemas.codec import encode
from schemas.envelope import CONTENT_TYPE, CloudEvent
from services.notifier.channels import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    DeliveryError,
    Message,
)


class WebhookError(DeliveryError):
    """A webhook receiver did not take the event."""


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>`` of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    content_type: str,
    secret: str | None,
    extra: dict[str, str] | None = None,
) -> None:
    """POST ``body``; signed when ``secret`` is set; raises ``WebhookError`` unless 2xx."""
    headers = {"content-type": content_type, **(extra or {})}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
    if not response.is_success:
        raise WebhookError(f"receiver answered {response.status_code}")


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    event: CloudEvent,
    secret: str | None,
    extra: dict[str, str] | None = None,
) -> None:
    await post_signed(client, url, encode(event), CONTENT_TYPE, secret, extra)


class WebhookChannel:
    """Posts the decision (the CloudEvent) to the target's URL."""

    def __init__(self, client: httpx.AsyncClient, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    async def send(self, message: Message) -> None:
        target = message.target
        await post_event(
            self.client,
            target.address,
            message.decision,
            self.secret,
            {IDEMPOTENCY_HEADER: target.notification_id},
        )
