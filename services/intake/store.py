"""The intake's derived state on disk: a snapshot that a restart resumes from, and the bound on
its memory.

What the intake knows (the idempotency ledger, every ticket's state for GET, the 五闪 awards) is
derived from Kafka, and was rebuilt by reading every followed topic from its beginning at each
start, and held in memory for ever. Now it lives in SQLite (the standard library's, WAL mode)
under ``DISPATCH_STATE_DIR/intake/``, each tail's rows written in one transaction with the
positions they reflect (``positions``: the next offset of every followed partition, and a digest
of the record before it). At start a tail resumes from those positions, after checking that the
broker still holds the same log there (the record before each position has the digest noted);
any difference (another broker, topics recreated, a restore that moved offsets) and the
snapshot is dropped and rebuilt from the beginning. In memory: the rows not yet written, and a
bounded cache of recently read states.

One process at a time owns a state file (an advisory lock); a second intake on the same state
directory keeps its state in a temporary file instead, as before rebuilt from Kafka.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from aiokafka import TopicPartition

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next INTEGER NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY, status TEXT, category TEXT, reported REAL, closed INTEGER,
    state BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_reported ON tickets (reported);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status);
CREATE TABLE IF NOT EXISTS ledger (ticket_id TEXT PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS awards (id TEXT PRIMARY KEY, time REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS awards_time ON awards (time);
"""
TABLES = ("positions", "tickets", "ledger", "awards")
FORMAT = "2"
"""the layout of the file (2: ticket states zlib-compressed): a file of another layout is
started afresh"""

Position = tuple[int, str]
"""(next offset to read, digest of the record just before it)"""


def digest(value: bytes | None) -> str:
    """What a position remembers of the record before it (a tombstone is the empty value)."""
    return hashlib.blake2b(value or b"", digest_size=12).hexdigest()


class Store:
    """One SQLite file of the intake's derived state (see the module's docstring)."""

    def __init__(self, path: Path | None, topics: Iterable[str]) -> None:
        self._lock: IO[bytes] | None = None
        self._temporary: Path | None = None
        self.path = self._claim(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        wanted = "\n".join(sorted(topics))
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT or meta.get("topics") != wanted:
            self.clear()
            with self.transaction():
                self.db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("format", FORMAT), ("topics", wanted)],
                )

    def _claim(self, path: Path | None) -> Path:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(path.with_suffix(".lock"), "wb")  # noqa: SIM115  # held while open
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                log.warning("%s is another intake's: this one keeps its state apart", path)
            else:
                self._lock = lock
                return path
        handle, name = tempfile.mkstemp(prefix="dispatch-intake-", suffix=".sqlite")
        os.close(handle)
        self._temporary = Path(name)
        return self._temporary

    @property
    def lasting(self) -> bool:
        """Whether this state outlives the process (a snapshot a restart resumes from)."""
        return self._temporary is None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def clear(self, tables: Iterable[str] = TABLES) -> None:
        with self.transaction():
            for table in tables:
                self.db.execute(f"DELETE FROM {table}")  # names of this module

    def positions(self, topics: Iterable[str]) -> dict[TopicPartition, Position]:
        wanted = set(topics)
        rows = self.db.execute("SELECT topic, partition, next, digest FROM positions").fetchall()
        return {TopicPartition(t, p): (n, d) for t, p, n, d in rows if t in wanted}

    def save_positions(self, db: sqlite3.Connection, moved: dict[TopicPartition, Position]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?)",
            [(tp.topic, tp.partition, n, d) for tp, (n, d) in moved.items()],
        )

    def forget(self, topics: Iterable[str], tables: Iterable[str]) -> None:
        """Drop what was derived from ``topics`` (their snapshot no longer matches the log)."""
        with self.transaction() as db:
            for table in tables:
                db.execute(f"DELETE FROM {table}")  # names of this module
            db.executemany("DELETE FROM positions WHERE topic = ?", [(t,) for t in topics])

    def close(self) -> None:
        self.db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self._temporary is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._temporary}{suffix}").unlink(missing_ok=True)


class Derived:
    """What the ledger and the read model share: a tail's snapshot in the store. A subclass
    says which ``topics`` it follows, which ``tables`` hold what it derived from them, and how
    its changes are written (``_write``, inside the transaction) and then let go (``_settle``)."""

    tables: tuple[str, ...] = ()

    def __init__(self, store: Store, topics: list[str]) -> None:
        self.store = store
        self.topics = topics
        self._saved: dict[TopicPartition, Position] = {}

    def positions(self) -> dict[TopicPartition, Position]:
        self._saved = self.store.positions(self.topics)
        return dict(self._saved)

    def forget(self) -> None:
        self.store.forget(self.topics, self.tables)
        self._saved = {}
        self._drop()

    def checkpoint(self, moved: dict[TopicPartition, Position]) -> None:
        changed = {tp: p for tp, p in moved.items() if self._saved.get(tp) != p}
        if not changed and not self._changed():
            return
        with self.store.transaction() as db:
            self._write(db)
            self.store.save_positions(db, changed)
        self._saved.update(changed)
        self._settle()

    def flush(self) -> None:
        """Write what changed (a query over the file then sees it)."""
        if not self._changed():
            return
        with self.store.transaction() as db:
            self._write(db)
        self._settle()

    def _changed(self) -> bool:
        raise NotImplementedError

    def _write(self, db: sqlite3.Connection) -> None:
        raise NotImplementedError

    def _settle(self) -> None:
        raise NotImplementedError

    def _drop(self) -> None:
        """Forget what is held in memory."""
        raise NotImplementedError
