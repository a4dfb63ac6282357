"""Text channels: SMS and WeCom/WeChat work groups (微网格微信末梢群) through one HTTP gateway.

The notifier POSTs one JSON document per message to ``DISPATCH_TEXT_GATEWAY``::

    {"id": "<notification id>", "channel": "sms" | "wecom", "to": "<phone or group id>",
     "text": "【派单】…", "ticket_id": "T…", "decision_id": "…"}

signed like the webhooks (``X-Dispatch-Signature``) and carrying ``Idempotency-Key: <id>``, so a
gateway can drop a repeat after a crash between its 2xx and the notifier's record of it.
"""

from __future__ import annotations

import httpx
import orjson

from services.notifier.channels import IDEMPOTENCY_HEADER, Message
from services.notifier.webhook import post_signed

TEXT_CHANNELS = ("sms", "wecom")


def gateway_body(message: Message) -> bytes:
    target = message.target
    return orjson.dumps(
        {
            "id": target.notification_id,
            "channel": target.channel,
            "to": target.address,
            "text": message.text,
            "ticket_id": message.decision.data.ticket_id,
            "decision_id": message.decision.id,
        }
    )


class TextGatewayChannel:
    def __init__(self, client: httpx.AsyncClient, url: str, secret: str | None) -> None:
        self.client = client
        self.url = url
        self.secret = secret

    async def send(self, message: Message) -> None:
        await post_signed(
            self.client,
            self.url,
            gateway_body(message),
            "application/json",
            self.secret,
            {IDEMPOTENCY_HEADER: message.target.notification_id},
            message.target.notification_id,
        )
