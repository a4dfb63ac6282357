"""Sends notifications, each as a task of its own: rate limit, delivery with retries, then the
record of the outcome on ``dispatch.notifications`` (the ledger) — and, after the last try,
the decision on the dead-letter topic."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer

from schemas.policy import Policy
from schemas.words import CHINA
from services.common.bus import Topics, publish
from services.common.privacy import mask_text
from services.notifier.channels import Channel, Message
from services.notifier.delivery import RetryPolicy, deliver
from services.notifier.ledger import Ledger
from services.notifier.logchannel import LOG, LogChannel
from services.notifier.outcomes import Raw, dead_letter, failed, sent
from services.notifier.ratelimit import RateLimiter
from services.notifier.recipients import (
    Notifiable,
    Role,
    Target,
    is_emergency,
    notification_id,
    plan,
)
from services.notifier.text import render

log = logging.getLogger(__name__)

# Requests in flight to one recipient at once: a slow receiver holds at most this many
# connections, never the whole pool.
PER_RECIPIENT = 8


def shown(target: Target) -> str:
    """The address for a log line: phone numbers masked, URLs without their query."""
    if target.channel == "webhook":
        parts = urlsplit(target.address)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    return mask_text(target.address)


def logged(decision_id: str, recipient: str, role: Role) -> Target:
    """The notification of ``recipient`` through the log channel."""
    return Target(notification_id(decision_id, LOG, recipient), role, recipient, LOG, LOG)


class Sender:
    def __init__(
        self,
        policy: Policy,
        center_url: str | None,
        channels: dict[str, Channel],
        producer: AIOKafkaProducer,
        names: Topics,
        ledger: Ledger,
        retry: RetryPolicy,
        limiter: RateLimiter,
    ) -> None:
        self.policy = policy
        self.center_url = center_url
        self.channels: dict[str, Channel] = {LOG: LogChannel(), **channels}
        self.producer = producer
        self.names = names
        self.ledger = ledger
        self.retry = retry
        self.limiter = limiter
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self.lanes: dict[tuple[str, str], asyncio.Semaphore] = {}

    def notify(self, decision: Notifiable, raw: Raw, started: float) -> list[asyncio.Task[None]]:
        """Start every notification ``decision`` calls for that is not finished already."""
        route = plan(decision, self.policy, self.center_url)
        reasons = self.policy.lifecycle.reject_reasons
        log.info("%s", mask_text(render(decision, route.who, reasons=reasons)))
        targets = list(route.targets)
        for lost in route.unreachable:
            log.info(
                "no channel for %s (%s) of %s: %s; the log channel records it",
                lost.assignee.id,
                lost.role,
                decision.subject,
                lost.why,
            )
            targets.append(logged(decision.id, lost.assignee.id, lost.role))
        tasks = []
        for target in targets:
            if target.channel not in self.channels:
                log.info(
                    "no %s gateway: %s of %s goes to the log channel",
                    target.channel,
                    target.recipient,
                    decision.subject,
                )
                target = logged(decision.id, target.recipient, target.role)
            if target.notification_id in self.ledger:
                log.info("%s was notified of %s already: not again", target.recipient, decision.id)
                continue
            text = render(decision, route.who, copy=target.role == "copy", reasons=reasons)
            tasks.append(self.send(target, decision, text, raw, started))
        return tasks

    def send(
        self, target: Target, decision: Notifiable, text: str, raw: Raw, started: float
    ) -> asyncio.Task[None]:
        """The task delivering ``target`` (the one already running for it, if any)."""
        running = self.inflight.get(target.notification_id)
        if running is not None:
            return running
        task = asyncio.create_task(
            self._notify(target, Message(target, decision, text), raw, started),
            name=f"notify-{target.notification_id}",
        )
        self.inflight[target.notification_id] = task
        task.add_done_callback(lambda _: self.inflight.pop(target.notification_id, None))
        return task

    async def _notify(self, target: Target, message: Message, raw: Raw, started: float) -> None:
        recipient = (target.channel, target.address)
        if target.role != "center" and target.channel != LOG:  # people's phones and groups
            # an emergency goes before the recipient's queue; the others wait their turn
            waited = await self.limiter.acquire(recipient, first=is_emergency(message.decision))
            if waited > 0:
                log.info("rate limit: %s waited %.1fs", shown(target), waited)
        lane = self.lanes.setdefault(recipient, asyncio.Semaphore(PER_RECIPIENT))
        async with lane:
            outcome = await deliver(
                self.channels[target.channel], message, self.retry, started=started
            )
        decision = message.decision
        now = datetime.now(CHINA)
        if outcome.delivered:
            await publish(self.producer, self.names, sent(target, decision, outcome, now))
            log.info(
                "sent %s to %s (%s %s) in %d tries, %.0f ms",
                decision.subject,
                target.recipient,
                target.channel,
                shown(target),
                outcome.attempts,
                outcome.latency_ms,
            )
        else:
            letter = dead_letter(target, decision, outcome, raw, now)
            await publish(self.producer, self.names, letter)
            await publish(self.producer, self.names, failed(target, decision, outcome, now))
            log.warning(
                "FAILED %s to %s (%s %s) after %d tries: %s",
                decision.subject,
                target.recipient,
                target.channel,
                shown(target),
                outcome.attempts,
                outcome.error,
            )
        self.ledger.record(target.notification_id)

    async def cancel_all(self) -> None:
        """Stop every delivery in flight (their decisions stay uncommitted: redelivered later)."""
        tasks = list(self.inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
