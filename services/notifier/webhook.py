"""The webhook channel: the CloudEvent itself, HTTP binding, structured mode, HMAC-signed.

Signed two ways when a secret is set: ``X-Dispatch-Signature: sha256=<hex of the body>`` (v1 of
this project) and Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature:
v1,<base64 HMAC-SHA256 of "id.timestamp.body">``), which covers a timestamp, so a receiver can
reject replays of old requests. The Standard Webhooks key is the secret's UTF-8 bytes, or, for a
secret written ``whsec_<base64>``, those bytes decoded (the convention of its libraries).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping

import httpx

from schemas.codec import encode
from schemas.envelope import CONTENT_TYPE, CloudEvent
from services.notifier.channels import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    DeliveryError,
    Message,
)
from services.notifier.recipients import Target

log = logging.getLogger(__name__)
WHSEC_PREFIX = "whsec_"


class WebhookError(DeliveryError):
    """A webhook receiver did not take the event."""


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>`` of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    if secret.startswith(WHSEC_PREFIX):
        return base64.b64decode(secret.removeprefix(WHSEC_PREFIX) + "==")
    return secret.encode()


def standard_headers(body: bytes, secret: str, message_id: str, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``timestamp`` (Unix seconds)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    content_type: str,
    secret: str | None,
    extra: dict[str, str] | None = None,
    message_id: str | None = None,
) -> None:
    """POST ``body``; signed when ``secret`` is set (``message_id``: the same on every retry of
    one notification); raises ``WebhookError`` unless 2xx."""
    headers = {"content-type": content_type, **(extra or {})}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
        msg_id = message_id or hashlib.sha256(body).hexdigest()[:32]
        headers.update(standard_headers(body, secret, msg_id, int(time.time())))
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
    message_id: str | None = None,
) -> None:
    await post_signed(client, url, encode(event), CONTENT_TYPE, secret, extra, message_id)


def secret_for(target: Target, default: str | None, env: Mapping[str, str]) -> str | None:
    """The channel's own secret when the policy names one and it is set, else the default."""
    if target.secret_env is None:
        return default
    own = env.get(target.secret_env)
    if not own:
        log.warning(
            "%s is unset: %s is signed with the default secret", target.secret_env, target.recipient
        )
        return default
    return own


class WebhookChannel:
    """Posts the decision (the CloudEvent) to the target's URL."""

    def __init__(
        self, client: httpx.AsyncClient, secret: str | None, env: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.secret = secret
        self.env = env or {}

    async def send(self, message: Message) -> None:
        target = message.target
        await post_event(
            self.client,
            target.address,
            message.decision,
            secret_for(target, self.secret, self.env),
            {IDEMPOTENCY_HEADER: target.notification_id},
            target.notification_id,
        )
