"""The channel of last resort: a unit with no channel in the directory, or a text channel with
no gateway configured, gets its notification written to this service's log (masked), and the
notification is recorded as sent with channel ``log``: recorded, never silently nothing."""

from __future__ import annotations

import logging

from services.common.privacy import mask_text
from services.notifier.channels import Message

log = logging.getLogger(__name__)

LOG = "log"


class LogChannel:
    async def send(self, message: Message) -> None:
        log.info("to %s (log channel): %s", message.target.recipient, mask_text(message.text))
