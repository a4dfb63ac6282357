"""Idempotency on ``(source, external_id)``: the ledger of accepted requests, kept in Kafka.

Why a compacted topic (``dispatch.intake.ledger``, keyed by ticket id) and not the requests
topic itself: an intake must know every ticket id ever accepted before it may answer, and
reading ``dispatch.requests`` from the beginning costs the whole history (every full event,
and later repeat reports too). The ledger holds one small record per ticket, and compaction
keeps it at that size however long the system runs, so an intake's start-up reads a bounded
amount. Every intake instance follows the whole ledger, so a request accepted by one instance
is a duplicate for every other: before deciding that a request is new, an instance syncs with
the end offset of the ledger partition its ticket's entry goes to (``Tail.sync`` by key: the
producer's partitioner puts one key on one partition), so it sees every ledger write for that
ticket acknowledged before.

Order of writes: the request event first (acks=all), then its ledger record (acks=all), then
the 202. A crash between the two leaves an event without a ledger record; the upstream's retry
is then written again with the same, derived event id, and consumers dedupe on ``id``. Two
instances taking the same new request in the same millisecond may both answer 202 (same ticket
id, same event id) for the same reason: at-least-once, never a different ticket.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import AwareDatetime, ConfigDict, ValidationError

from schemas.envelope import Model
from services.intake.store import Derived, Store
from services.intake.tail import Record, Tail

log = logging.getLogger(__name__)


class LedgerEntry(Model):
    # Open to fields a newer intake adds (a body digest, say): an entry it wrote must still be
    # a duplicate here, never ignored as unreadable.
    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str
    source: str
    external_id: str
    event_id: str
    channel: str
    accepted_at: AwareDatetime
    # sha256 of the accepted body (admission.body_digest): the same external_id with another
    # body is a conflict (409). None in records written before it was kept.
    digest: str | None = None


class Ledger(Derived):
    """The entries, in the intake's store (``store.py``): a start resumes from its snapshot;
    memory holds only the entries not yet written."""

    tables = ("ledger",)

    def __init__(self, bootstrap: str, topic: str, store: Store) -> None:
        super().__init__(store, [topic])
        self.topic = topic
        self._pending: dict[str, LedgerEntry | None] = {}  # None: a tombstone
        self.tail = Tail(bootstrap, [topic], self._apply, "idempotency ledger", self)

    def __len__(self) -> int:
        self.flush()
        return int(self.store.db.execute("SELECT count(*) FROM ledger").fetchone()[0])

    def get(self, ticket_id: str) -> LedgerEntry | None:
        if ticket_id in self._pending:
            return self._pending[ticket_id]
        row = self.store.db.execute(
            "SELECT entry FROM ledger WHERE ticket_id = ?", (ticket_id,)
        ).fetchone()
        return LedgerEntry.model_validate_json(row[0]) if row is not None else None

    def _apply(self, record: Record) -> None:
        if record.key is None:
            return
        key = record.key.decode("utf-8", "replace")
        if record.value is None:  # a tombstone: the ticket's idempotency window is over
            self._pending[key] = None
            return
        try:
            entry = LedgerEntry.model_validate_json(record.value)
        except ValidationError:
            log.warning("ledger record at offset %d is not a ledger entry; ignored", record.offset)
            return
        self._pending[entry.ticket_id] = entry

    async def record(self, producer: AIOKafkaProducer, entries: Sequence[LedgerEntry]) -> None:
        """Write ``entries`` (acks=all), then know them here at once."""
        futures = [
            await producer.send(self.topic, e.model_dump_json().encode(), key=e.ticket_id.encode())
            for e in entries
        ]
        written = await asyncio.gather(*futures)
        for entry in entries:
            self._pending[entry.ticket_id] = entry
        for meta in written:
            self.tail.wrote(TopicPartition(meta.topic, meta.partition), meta.offset)

    # ------------------------------------------------------------------ the tail's snapshot

    def _changed(self) -> bool:
        return bool(self._pending)

    def _write(self, db: sqlite3.Connection) -> None:
        gone = [(k,) for k, e in self._pending.items() if e is None]
        kept = [(k, e.model_dump_json().encode()) for k, e in self._pending.items() if e]
        db.executemany("DELETE FROM ledger WHERE ticket_id = ?", gone)
        db.executemany("INSERT OR REPLACE INTO ledger VALUES (?, ?)", kept)

    def _settle(self) -> None:
        self._pending.clear()

    def _drop(self) -> None:
        self._pending.clear()
