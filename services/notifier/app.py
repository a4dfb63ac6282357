"""The notifier's shell: the people who must act hear about it, once.

Consumes ``dispatch.decisions``; for every assignment and escalation (吹哨 included), reminder
(催办), review to do (the command center: 退单/延期 待审核) or done (the unit that asked), deadline
change and resident's supplement it notifies the one who must act and each copied unit through
the channel the grid directory names (emergencies before others: ``ratelimit.py``), and
the command-center webhook (``DISPATCH_NOTIFY_WEBHOOK``) when set. Deliveries run
concurrently, one task per notification (``sender.py``); an offset is committed only once every
notification of that decision and of all before it on the partition is finished, sent or failed
(``offsets.py``); and what was finished is read back from ``dispatch.notifications`` at
start-up (``ledger.py``), so neither a restart nor a redelivery sends a notification twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from datetime import datetime

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.events import kafka_origin
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.common.bus import Topics, make_consumer, make_producer, publish, rejected
from services.common.privacy import install_log_masking
from services.common.settings import Settings
from services.notifier.channels import Channel
from services.notifier.delivery import RetryPolicy
from services.notifier.gateway import TEXT_CHANNELS, TextGatewayChannel
from services.notifier.ledger import Ledger, LedgerFollower
from services.notifier.offsets import Offsets
from services.notifier.outcomes import Raw
from services.notifier.progress import PartitionProgress
from services.notifier.ratelimit import Rate, RateLimiter
from services.notifier.recipients import NOTIFIABLE
from services.notifier.sender import Sender
from services.notifier.webhook import WebhookChannel

log = logging.getLogger(__name__)


class NotifierError(RuntimeError):
    """The notifier cannot go on (e.g. an outcome could not be recorded in Kafka)."""


class Notifier:
    """Takes decisions in, starts their deliveries, and settles each decision's offset."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        names: Topics,
        sender: Sender,
        offsets: Offsets,
        commit_interval_s: float,
    ) -> None:
        self.consumer = consumer
        self.producer = producer
        self.names = names
        self.sender = sender
        self.offsets = offsets
        self.commit_interval_s = commit_interval_s
        self.failure: BaseException | None = None

    async def loop(self, stop: asyncio.Event) -> None:
        next_commit = time.monotonic() + self.commit_interval_s
        while not stop.is_set():
            if self.failure is not None:
                raise NotifierError("cannot record a notification") from self.failure
            batch = await self.consumer.getmany(timeout_ms=200)
            await self.offsets.ready(batch)
            for partition, records in batch.items():
                if not self.offsets.owns(partition):
                    continue  # revoked meanwhile: its new owner reads these again
                for record in records:
                    await self.take(partition, record)
            self.offsets.throttle()
            if time.monotonic() >= next_commit:
                await self.offsets.commit()
                next_commit = time.monotonic() + self.commit_interval_s

    async def take(self, partition: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        """Start the notifications one decision calls for."""
        started = time.monotonic()
        raw = Raw(record.value or b"", record.key, record.topic, record.partition, record.offset)
        progress = self.offsets.begin(partition, raw.offset)
        try:
            event = decode(raw.value)
        except EventDecodeError as err:
            await self.dead_letter(raw, err, record.timestamp)
            progress.finish(raw.offset)
            return
        tasks = []
        if isinstance(event, NOTIFIABLE):
            tasks = self.sender.notify(event, raw, started)
        if not tasks:  # classified, closed, or nothing left to send
            progress.finish(raw.offset)
            return
        settle = asyncio.create_task(self.settle(progress, raw.offset, tasks))
        self.offsets.settling_on(partition, settle)

    async def settle(
        self, progress: PartitionProgress, offset: int, tasks: list[asyncio.Task[None]]
    ) -> None:
        """The decision is finished once each of its notifications is sent or failed."""
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if not errors:
            progress.finish(offset)
            return
        broken = [e for e in errors if not isinstance(e, asyncio.CancelledError)]
        if broken and self.failure is None:
            self.failure = broken[0]  # stops the loop: the process exits and is restarted

    async def dead_letter(self, raw: Raw, err: EventDecodeError, timestamp: int) -> None:
        origin = kafka_origin("notifier", raw)
        when = datetime.fromtimestamp(timestamp / 1000, CHINA)
        letter = rejected(raw.value, raw.key, err.reason, err.errors, origin, when)
        log.warning("dead-lettered an undecodable decision: %s", err.reason)
        await publish(self.producer, self.names, letter)


def channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    secret = settings.webhook_secret
    found: dict[str, Channel] = {"webhook": WebhookChannel(client, secret, dict(os.environ))}
    if settings.text_gateway:
        text = TextGatewayChannel(client, settings.text_gateway, secret)
        found.update(dict.fromkeys(TEXT_CHANNELS, text))
    else:
        log.warning("DISPATCH_TEXT_GATEWAY is unset: SMS and WeCom texts go to the log channel")
    return found


async def serve(settings: Settings, bootstrap: str, policy: Policy, stop: asyncio.Event) -> None:
    """The composition root: build every client, rebuild the ledger, then consume until stop."""
    s = settings
    names = Topics(s.topic_prefix)
    ledger = Ledger()
    producer = make_producer(bootstrap)
    follower = LedgerFollower(bootstrap, names(topics.NOTIFICATIONS), ledger)
    consumer = make_consumer(bootstrap, group=f"{s.topic_prefix}dispatch-notifier")
    timeout = httpx.Timeout(s.notify_timeout_s)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        sender = Sender(
            policy,
            s.notify_webhook,
            channels(s, client),
            producer,
            names,
            ledger,
            RetryPolicy(s.notify_tries, s.notify_backoff_s, s.notify_backoff_max_s),
            RateLimiter(Rate(s.notify_rate_per_minute, s.notify_rate_burst)),
        )
        offsets = Offsets(consumer, follower, s.notify_max_in_flight, s.notify_timeout_s)
        notifier = Notifier(consumer, producer, names, sender, offsets, s.notify_commit_interval_s)
        try:
            await producer.start()
            await follower.start()
            took = await follower.sync()
            log.info("ledger rebuilt: %d notifications finished, read in %.2fs", len(ledger), took)
            await consumer.start()
            consumer.subscribe([names(topics.DECISIONS)], listener=offsets)
            await notifier.loop(stop)
        finally:
            await sender.cancel_all()  # unfinished decisions stay uncommitted: redelivered
            await offsets.drain()
            with contextlib.suppress(KafkaError):
                await offsets.commit()
            await consumer.stop()
            await follower.stop()
            await producer.stop()


def run(settings: Settings, bootstrap: str) -> None:
    install_log_masking()
    policy = load_policy(settings.policy, settings.sla_scale)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request: too chatty

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(settings, bootstrap, policy, stop)

    asyncio.run(main())
