"""The one small interface every channel implements, and the message it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.notifier.recipients import Notifiable, Target

SIGNATURE_HEADER = "X-Dispatch-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(RuntimeError):
    """The receiver did not take the notification (non-2xx, timeout, connection refused)."""


@dataclass(frozen=True, slots=True)
class Message:
    target: Target
    decision: Notifiable
    text: str  # the Chinese text, for the channels that carry text


class Channel(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver once; raise ``DeliveryError`` when the receiver did not take it."""
