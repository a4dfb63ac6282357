"""Admitting requests, whatever door they came through (JSON, native, batch, Open311, Kafka):
a duplicate ``(source, external_id)`` answers with the first ticket id (a conflict when its body
differs from the first one's: the ledger keeps each body's digest); a new one is written to
``dispatch.requests`` and to the idempotency ledger, both acknowledged by every in-sync replica,
before anyone is told it was accepted."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Histogram

from schemas.events import RequestReceived
from services.common.bus import Topics, publish
from services.intake.ledger import Ledger, LedgerEntry
from services.intake.models import RequestIn, received_event
from services.intake.readmodel import ReadModel
from services.intake.tail import TailUnavailableError

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
Channel = Literal["http", "kafka", "open311"]


class BrokerUnavailableError(RuntimeError):
    """Kafka did not acknowledge a write (or did not answer): nothing may be reported stored."""


@dataclass(frozen=True)
class Admitted:
    ticket_id: str
    event_id: str
    duplicate: bool
    conflict: bool = False  # a duplicate whose body differs from the first one's


def body_digest(request: RequestIn) -> str:
    """The digest of what was asked, independent of key order and of how times were written."""
    document = request.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Admission:
    def __init__(
        self,
        names: Topics,
        ledger: Ledger,
        readmodel: ReadModel,
        publish_seconds: Histogram,
    ) -> None:
        self.names = names
        self.ledger = ledger
        self.readmodel = readmodel
        self.publish_seconds = publish_seconds
        """time until Kafka acknowledged a write: the requests, then their ledger entries"""
        self.producer: AIOKafkaProducer | None = None
        # Tickets this process is writing right now: a concurrent duplicate waits for the first.
        self._inflight: dict[str, asyncio.Future[None]] = {}

    async def admit(
        self, requests: Sequence[RequestIn], source: str, channel: Channel, now: datetime
    ) -> list[Admitted]:
        """One result per request, in order; raises ``BrokerUnavailableError`` when any write
        was not acknowledged (a retry is safe: what was written is then a duplicate)."""
        events = [received_event(r, source, now, channel) for r in requests]
        try:
            # A duplicate's ledger entry is on its ticket's partition: only those are synced.
            await self.ledger.tail.sync(keys={e.data.ticket_id.encode() for e in events})
        except TailUnavailableError as exc:
            raise BrokerUnavailableError(str(exc)) from exc
        while pending := {self._inflight[e.subject] for e in events if e.subject in self._inflight}:
            await asyncio.gather(*pending)
        results: list[Admitted] = []
        fresh: dict[str, RequestReceived] = {}
        digests: dict[str, str] = {}
        for request, event in zip(requests, events, strict=True):
            ticket_id = event.data.ticket_id
            digest = body_digest(request)
            known = self.ledger.get(ticket_id)
            if known is not None or ticket_id in fresh:
                first = known.event_id if known is not None else fresh[ticket_id].id
                seen = known.digest if known is not None else digests[ticket_id]
                conflict = seen is not None and seen != digest
                results.append(Admitted(ticket_id, first, duplicate=True, conflict=conflict))
            else:
                fresh[ticket_id] = event
                digests[ticket_id] = digest
                results.append(Admitted(ticket_id, event.id, duplicate=False))
        if fresh:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for ticket_id in fresh:
                self._inflight[ticket_id] = done
            try:
                await self._write(list(fresh.values()), digests)
            finally:
                for ticket_id in fresh:
                    if self._inflight.get(ticket_id) is done:
                        del self._inflight[ticket_id]
                done.set_result(None)
        return results

    async def _write(self, events: list[RequestReceived], digests: dict[str, str]) -> None:
        producer = self.producer
        if producer is None:
            raise BrokerUnavailableError("the intake is starting")
        entries = [
            LedgerEntry(
                ticket_id=e.data.ticket_id,
                source=e.data.source,
                external_id=e.data.external_id,
                event_id=e.id,
                channel=e.data.channel,
                accepted_at=e.data.received_at,
                digest=digests[e.data.ticket_id],
            )
            for e in events
        ]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await asyncio.gather(*(publish(producer, self.names, e) for e in events))
                await self.ledger.record(producer, entries)
        except (KafkaError, TimeoutError) as exc:
            log.warning("broker did not take %d request(s): %s", len(events), type(exc).__name__)
            raise BrokerUnavailableError(
                "Kafka did not acknowledge the write; nothing was reported stored"
            ) from exc
        self.publish_seconds.observe(time.perf_counter() - started)
        for event in events:
            self.readmodel.apply(event)
