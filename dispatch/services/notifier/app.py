"""The notifier's shell: every assignment and escalation reaches the command-center webhook
(``DISPATCH_NOTIFY_WEBHOOK``) as the CloudEvent itself, and the log as Chinese text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import datetime
from typing import Any

import httpx

from dispatch.bus import Topics, make_consumer, make_producer, publish, rejected
from dispatch.schemas import topics
from dispatch.schemas.codec import EventDecodeError, decode
from dispatch.schemas.envelope import derive_id
from dispatch.schemas.events import (
    NotificationData,
    NotificationFailed,
    NotificationFailedData,
    NotificationSent,
    Origin,
    TicketAssigned,
    TicketEscalated,
)
from dispatch.services.notifier.text import CHINA, render
from dispatch.services.notifier.webhook import WebhookError, post_event
from dispatch.settings import Settings

log = logging.getLogger(__name__)

NOTIFIER_SOURCE = "/dispatch/notifier"
TRIES = 4
BACKOFF_S = 0.5


class Notifier:
    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.names = Topics(settings.topic_prefix)

    async def deliver(
        self, client: httpx.AsyncClient, decision: TicketAssigned | TicketEscalated
    ) -> tuple[int, str | None]:
        """POST to the webhook with backoff; (attempts, last error or None)."""
        url = self.settings.notify_webhook
        assert url is not None
        error: str | None = None
        for attempt in range(1, TRIES + 1):
            try:
                await post_event(client, url, decision, self.settings.webhook_secret)
                return attempt, None
            except WebhookError as exc:
                error = str(exc)
                if attempt < TRIES:
                    await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
        return TRIES, error

    async def handle(
        self,
        producer: Any,
        client: httpx.AsyncClient,
        decision: TicketAssigned | TicketEscalated,
    ) -> None:
        log.info("%s", render(decision))
        if self.settings.notify_webhook is None:
            return
        started = time.monotonic()
        attempts, error = await self.deliver(client, decision)
        latency = (time.monotonic() - started) * 1000
        common = {
            "ticket_id": decision.data.ticket_id,
            "decision_id": decision.id,
            "decision_type": decision.type,
            "channel": "webhook",
            "recipient": "command-center-webhook",
            "attempts": attempts,
            "latency_ms": round(latency, 3),
        }
        outcome: NotificationSent | NotificationFailed
        envelope = {
            "source": NOTIFIER_SOURCE,
            "time": decision.time,
            "subject": decision.subject,
            "causationid": decision.id,
            "correlationid": decision.correlationid,
        }
        if error is None:
            outcome = NotificationSent(
                id=derive_id(decision.id, "notified:webhook"),
                **envelope,
                data=NotificationData(**common),
            )
        else:
            log.warning(
                "webhook failed for %s after %d tries: %s", decision.subject, attempts, error
            )
            outcome = NotificationFailed(
                id=derive_id(decision.id, "failed:webhook"),
                **envelope,
                data=NotificationFailedData(**common, error=error),
            )
        await publish(producer, self.names, outcome)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = make_consumer(
            self.bootstrap,
            self.names(topics.DECISIONS),
            group=f"{self.settings.topic_prefix}dispatch-notifier",
        )
        producer = make_producer(self.bootstrap)
        await producer.start()
        await consumer.start()
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=500, max_records=500)
                    for records in batch.values():
                        for record in records:
                            await self._one(producer, client, record)
                    if batch:
                        await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()

    async def _one(self, producer: Any, client: httpx.AsyncClient, record: Any) -> None:
        try:
            event = decode(record.value)
        except EventDecodeError as err:
            origin = Origin(
                transport="kafka",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                service="notifier",
            )
            when = datetime.fromtimestamp(record.timestamp / 1000, CHINA)
            letter = rejected(record.value, record.key, err.reason, err.errors, origin, when)
            log.warning("dead-lettered an undecodable decision: %s", err.reason)
            await publish(producer, self.names, letter)
            return
        if isinstance(event, TicketAssigned | TicketEscalated):
            await self.handle(producer, client, event)


def run(settings: Settings, bootstrap: str) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await Notifier(settings, bootstrap).run(stop)

    asyncio.run(main())
