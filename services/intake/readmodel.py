"""The read model's shell: follows requests, updates, decisions and links into ``views`` states.

Kept in the intake's store (``store.py``, SQLite under ``DISPATCH_STATE_DIR/intake/``): a start
resumes from the snapshot and reads only the tail (the intake is not healthy before it has
caught up), so GET answers survive restarts and show what any instance accepted and what the
router decided. In memory: the states changed since the last checkpoint, and the latest
``CACHED`` states read; every other one is read from the file when asked for.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.envelope import CloudEvent
from schemas.events import InputRejected, PointsAwarded, PointsAwardedData
from services.common.bus import Topics
from services.intake.store import Derived, Store
from services.intake.tail import Record, Tail
from services.intake.views import TicketState, TicketView, apply, refused_update, view
from services.reports.volunteers import Award

log = logging.getLogger(__name__)

FOLLOWED = (
    topics.REQUESTS,
    topics.UPDATES,
    topics.DECISIONS,
    topics.LINKS,
    topics.DEADLETTER,  # the router's refusals of updates (views.refused_update)
    topics.POINTS,  # 五闪积分: the volunteers' ranking
)
CACHED = 2000
"""states kept in memory besides those not yet written"""


class ReadModel(Derived):
    tables = ("tickets", "awards")

    def __init__(self, bootstrap: str, names: Topics, store: Store) -> None:
        self._dirty: dict[str, TicketState] = {}
        self._cache: OrderedDict[str, TicketState] = OrderedDict()
        self._new_awards: dict[str, Award] = {}
        super().__init__(store, [names(t) for t in FOLLOWED])
        self.tail = Tail(bootstrap, self.topics, self._apply_record, "ticket read model", self)

    def __len__(self) -> int:
        self.flush()
        found = self.store.db.execute("SELECT count(*) FROM tickets").fetchone()
        return int(found[0])

    # ------------------------------------------------------------------ the tail's snapshot

    def _changed(self) -> bool:
        return bool(self._dirty or self._new_awards)

    def _drop(self) -> None:
        self._dirty.clear()
        self._cache.clear()
        self._new_awards.clear()

    def _write(self, db: sqlite3.Connection) -> None:
        rows = []
        for ticket_id, state in self._dirty.items():
            shown = view(state)
            reported = (shown.reported_at or shown.received_at).timestamp() if shown else None
            rows.append(
                (
                    ticket_id,
                    shown.status if shown else None,
                    shown.category if shown else None,
                    reported,
                    int(shown is not None and shown.status == "closed"),
                    zlib.compress(state.model_dump_json().encode(), 1),
                )
            )
        db.executemany("INSERT OR REPLACE INTO tickets VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT OR IGNORE INTO awards VALUES (?, ?, ?)",
            [
                (a.id, a.time.timestamp(), a.data.model_dump_json().encode())
                for a in self._new_awards.values()
            ],
        )

    def _settle(self) -> None:
        for ticket_id, state in self._dirty.items():
            self._remember(ticket_id, state)
        self._dirty.clear()
        self._new_awards.clear()

    def _remember(self, ticket_id: str, state: TicketState) -> None:
        self._cache[ticket_id] = state
        self._cache.move_to_end(ticket_id)
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)

    # ------------------------------------------------------------------ applying events

    def _apply_record(self, record: Record) -> None:
        if record.value is None:
            return
        try:
            event = decode(record.value)
        except EventDecodeError:
            # Not ours to dead-letter: the router does that for the topics it consumes.
            log.debug("skipped an undecodable record at %s/%d", record.topic, record.offset)
            return
        self.apply(event)

    def apply(self, event: CloudEvent) -> None:
        if isinstance(event, PointsAwarded):
            self._new_awards.setdefault(event.id, Award(event.id, event.time, event.data))
        if isinstance(event, InputRejected) and refused_update(event) is None:
            return  # a dead letter that refuses no update: nothing of a ticket's
        ticket_id = event.subject
        state = self._get(ticket_id) or TicketState(ticket_id=ticket_id)
        after = apply(state, event)
        if after is not state:
            self._dirty[ticket_id] = after
            self._cache.pop(ticket_id, None)

    def _get(self, ticket_id: str) -> TicketState | None:
        found = self._dirty.get(ticket_id) or self._cache.get(ticket_id)
        if found is not None:
            return found
        row = self.store.db.execute(
            "SELECT state FROM tickets WHERE ticket_id = ?", (ticket_id,)
        ).fetchone()
        if row is None:
            return None
        state = TicketState.model_validate_json(zlib.decompress(row[0]))
        self._remember(ticket_id, state)
        return state

    # ------------------------------------------------------------------ reading

    def state(self, ticket_id: str) -> TicketState | None:
        state = self._get(ticket_id)
        return state if state is not None and state.request is not None else None

    def reporter_name(self, ticket_id: str) -> str | None:
        state = self._get(ticket_id)
        request = state.request if state is not None else None
        return request.reporter.name if request is not None and request.reporter else None

    def view(self, ticket_id: str) -> TicketView | None:
        state = self._get(ticket_id)
        return view(state) if state is not None else None

    def _views(self, rows: Iterable[tuple[bytes]]) -> Iterator[TicketView]:
        for (blob,) in rows:
            shown = view(TicketState.model_validate_json(zlib.decompress(blob)))
            if shown is not None:
                yield shown

    def with_status(self, status: str) -> list[TicketView]:
        """Every ticket whose status is ``status`` now (the 解忧超市 shelf: ``shelved``)."""
        self.flush()
        rows = self.store.db.execute("SELECT state FROM tickets WHERE status = ?", (status,))
        return list(self._views(rows))

    def of_ids(self, ticket_ids: Iterable[str]) -> list[TicketView]:
        found = (self.view(t) for t in dict.fromkeys(ticket_ids))
        return [v for v in found if v is not None]

    def reported_between(
        self,
        start: datetime,
        end: datetime,
        closed: bool | None = None,
        categories: Iterable[str] = (),
        limit: int = 1000,
    ) -> list[TicketView]:
        """Tickets reported in ``[start, end]``, newest first; ``closed`` or open only when
        given; of ``categories`` when any."""
        self.flush()
        sql = "SELECT state FROM tickets WHERE reported BETWEEN ? AND ?"
        args: list[object] = [start.timestamp(), end.timestamp()]
        if closed is not None:
            sql += " AND closed = ?"
            args.append(int(closed))
        codes = list(categories)
        if codes:
            sql += f" AND category IN ({', '.join('?' for _ in codes)})"
            args.extend(codes)
        sql += " ORDER BY reported DESC LIMIT ?"
        args.append(limit)
        return list(self._views(self.store.db.execute(sql, args)))

    def awards(self, start: datetime | None, end: datetime | None) -> list[Award]:
        """The 五闪 awards made in ``[start, end)`` (either open)."""
        self.flush()
        low = start.timestamp() if start is not None else float("-inf")
        high = end.timestamp() if end is not None else float("inf")
        rows = self.store.db.execute(
            "SELECT id, time, data FROM awards WHERE time >= ? AND time < ?", (low, high)
        )
        return [
            Award(
                award_id,
                datetime.fromtimestamp(at, UTC),
                PointsAwardedData.model_validate_json(data),
            )
            for award_id, at, data in rows
        ]
