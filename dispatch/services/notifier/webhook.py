"""The webhook channel: the CloudEvent itself, HTTP binding, structured mode, HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from dispatch.schemas.codec import encode
from dispatch.schemas.envelope import CONTENT_TYPE, CloudEvent

SIGNATURE_HEADER = "X-Dispatch-Signature"


class WebhookError(RuntimeError):
    """The receiver did not take the notification (non-2xx, timeout, connection refused)."""


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>`` of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_event(
    client: httpx.AsyncClient, url: str, event: CloudEvent, secret: str | None
) -> None:
    body = encode(event)
    headers = {"content-type": CONTENT_TYPE}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        raise WebhookError(f"receiver answered {response.status_code}")
