"""The consumer of ``dispatch.intake.raw``: upstream systems that publish straight to Kafka.

Each record carries its source in the ``dispatch-source`` header; the same adapters as the
native HTTP route turn it into a request. What cannot be parsed or validated goes to
``dispatch.deadletter`` as ``dispatch.input.rejected`` (original bytes, the reason, the
topic/partition/offset) and the consumer moves on. A record too big to travel whole inside its
dead letter (base64 makes it 4/3 bigger, and the broker has a limit) is dead-lettered with its
first ``LETTER_ORIGINAL_MAX`` bytes, its size and its SHA-256, and the place where it lies in
full: it never blocks its partition. Offsets are committed only after a record
was handled: written to ``dispatch.requests`` (or found a duplicate) or dead-lettered. When the
broker cannot take a write the record is retried, never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from schemas import topics
from schemas.events import kafka_origin
from schemas.words import CHINA
from services.common.bus import make_consumer, publish, rejected
from services.intake.adapters import ADAPTERS, AdapterError, Catalog
from services.intake.admission import BrokerUnavailableError
from services.intake.models import RequestIn, now
from services.intake.runtime import Intake
from services.intake.tail import Record

log = logging.getLogger(__name__)
T = TypeVar("T")

SOURCE_HEADER = "dispatch-source"
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)
STOP_TIMEOUT_S = 2.0
CONFLICT = "external_id already accepted with a different body (the first one stands)"
LETTER_ORIGINAL_MAX = 256 * 1024
"""Bytes of the original a dead letter carries at most (the rest: size, digest, where)."""


@dataclass(frozen=True)
class Refusal:
    """Why a raw record cannot become a request, for a person to act on."""

    reason: str
    errors: list[str] = field(default_factory=list)
    source: str | None = None


def header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("utf-8", "replace").strip()
    return None


def interpret(
    value: bytes | None, headers: Sequence[tuple[str, bytes]], catalog: Catalog
) -> tuple[str, RequestIn] | Refusal:
    """The source and request in a raw record, or the reason it has none. Pure."""
    known = ", ".join(ADAPTERS)
    source = header(headers, SOURCE_HEADER)
    if not source:
        return Refusal(
            f"缺少记录头 {SOURCE_HEADER}:请在 Kafka 记录头里写明来源({known})"
            f" (missing header {SOURCE_HEADER})"
        )
    adapter = ADAPTERS.get(source)
    if adapter is None:
        return Refusal(
            f"未知来源 {source!r}(记录头 {SOURCE_HEADER});可用的来源: {known}"
            f" (unknown source {source!r})",
            source=source[:100],
        )
    if not value:
        return Refusal("记录内容为空,应为该来源的 JSON 报文 (empty value)", source=source)
    try:
        return source, adapter.adapt_bytes(value, catalog)
    except AdapterError as exc:
        return Refusal(exc.reason, [p.line() for p in exc.problems], source)


def truncated(value: bytes | None, limit: int, where: str) -> tuple[bytes | None, list[str]]:
    """``value`` cut to ``limit`` bytes, with a note that says so (size, SHA-256, where). Pure."""
    if value is None or len(value) <= limit:
        return value, []
    digest = hashlib.sha256(value).hexdigest()
    return value[:limit], [
        f"原始记录 {len(value)} 字节过大,死信只保留前 {limit} 字节;完整记录见 {where}"
        f" (original truncated: {limit} of {len(value)} bytes kept; sha256 {digest};"
        f" the whole record is at {where})"
    ]


class RawConsumer:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.topic = intake.names(topics.INTAKE_RAW)
        self.group = f"{intake.settings.topic_prefix}dispatch-intake-raw"
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start consuming in the background: joining the consumer group can take seconds
        (a rebalance), and the HTTP routes need not wait for it."""
        consumer = make_consumer(
            self.intake.bootstrap, self.topic, group=self.group, fetch_max_wait_ms=100
        )
        self._consumer = consumer
        self._task = asyncio.create_task(self._join_and_run(consumer), name="intake-raw")
        self._task.add_done_callback(self._ended)
        self.intake.raw_running = True

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A consumer that died is not silent: the log says why and /healthz turns 503."""
        self.intake.raw_running = False
        if not task.cancelled() and task.exception() is not None:
            log.error("raw intake stopped", exc_info=task.exception())

    async def _join_and_run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                await consumer.start()
                break
            except KafkaError as exc:
                log.warning("raw intake: cannot join %s yet: %s", self.group, exc)
                await asyncio.sleep(1.0)
        await self._run(consumer)

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=500, max_records=200)
            except KafkaError as exc:
                log.warning("raw intake: fetch failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for tp, records in batch.items():
                await self._handle(records)
                await self._commit(consumer, tp, records[-1].offset + 1)

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
        except KafkaError as exc:  # a rebalance took the partition: its new owner dedupes
            log.warning("raw intake: commit of %s@%d failed: %s", tp, offset, exc)

    async def _handle(self, records: list[Record]) -> None:
        """Dead-letter what cannot be read, admit the rest (one call per source)."""
        by_source: dict[str, list[tuple[Record, RequestIn]]] = {}
        for record in records:
            verdict = interpret(record.value, list(record.headers or ()), self.intake.catalog)
            if isinstance(verdict, Refusal):
                await self._until_stored(partial(self._dead_letter, record, verdict))
            else:
                by_source.setdefault(verdict[0], []).append((record, verdict[1]))
        for source, pairs in by_source.items():
            admit = self.intake.admission.admit
            requests = [r for _, r in pairs]
            results = await self._until_stored(partial(admit, requests, source, "kafka", now()))
            for (record, _), result in zip(pairs, results, strict=True):
                if result.conflict:  # a known external_id with another body: not dropped
                    refusal = Refusal(CONFLICT, [], source)
                    await self._until_stored(partial(self._dead_letter, record, refusal))
                    self.intake.accepted.labels(source, "conflict", "kafka").inc()
                    continue
                outcome = "duplicate" if result.duplicate else "accepted"
                self.intake.accepted.labels(source, outcome, "kafka").inc()

    async def _until_stored(self, write: Callable[[], Awaitable[T]]) -> T:
        """``write()`` until the broker took it: a record is never skipped for an outage."""
        attempt = 0
        while True:
            try:
                return await write()
            except BrokerUnavailableError as exc:
                pause = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                attempt += 1
                log.warning("raw intake: not stored (%s); retrying in %ss", exc, pause)
                await asyncio.sleep(pause)

    async def _dead_letter(self, record: Record, refusal: Refusal) -> None:
        producer = self.intake.producer
        if producer is None:
            raise BrokerUnavailableError("the intake is starting")
        origin = kafka_origin("intake", record, source=refusal.source)
        when = datetime.fromtimestamp(record.timestamp / 1000, CHINA)
        where = f"{record.topic}/{record.partition}/{record.offset}"
        for limit in (LETTER_ORIGINAL_MAX, 0):  # 0: the digest alone, when even that is too big
            value, notes = truncated(record.value, limit, where)
            letter = rejected(
                value, record.key, refusal.reason, [*notes, *refusal.errors], origin, when
            )
            try:
                await asyncio.wait_for(publish(producer, self.intake.names, letter), 10.0)
                break
            except MessageSizeTooLargeError:
                if limit == 0:
                    raise BrokerUnavailableError("even a digest of the record is too big") from None
            except (KafkaError, TimeoutError) as exc:
                raise BrokerUnavailableError(
                    "the dead-letter topic did not take the record"
                ) from exc
        label = refusal.source if refusal.source in ADAPTERS else "unknown"
        self.intake.accepted.labels(label, "rejected", "kafka").inc()
        log.info(
            "raw intake: %s/%d@%d dead-lettered: %s",
            record.topic,
            record.partition,
            record.offset,
            refusal.reason,
        )

    async def stop(self) -> None:
        self.intake.raw_running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            try:
                # A consumer still joining its group waits for the join to end before it can
                # leave; offsets are committed per batch, so stopping without leaving loses
                # nothing (the group rebalances after its session timeout).
                await asyncio.wait_for(self._consumer.stop(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("raw intake: left %s without waiting for its rebalance", self.group)
