"""The record of what was notified: the ``dispatch.notification.sent``/``.failed`` events on
``dispatch.notifications``, i.e. in Kafka, not only in memory.

At start-up the notifier reads that topic from the beginning before it consumes a decision,
and keeps following it (other notifier instances write there too); whenever it takes over a
partition of ``dispatch.decisions`` it first catches up to the topic's end. A notification
whose id is in the ledger is never sent again, whichever instance sent it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from aiokafka import AIOKafkaConsumer

from services.common.bus import kafka_security
from services.notifier.recipients import notification_id

log = logging.getLogger(__name__)

OUTCOME_TYPES = frozenset({"dispatch.notification.sent", "dispatch.notification.failed"})


class LedgerError(RuntimeError):
    """The ledger cannot be read (its follower stopped)."""


def finished_notification(value: bytes | None) -> str | None:
    """The notification id a record of ``dispatch.notifications`` finishes, if it is one.

    Only the fields the key needs are read (no full validation): start-up reads every record."""
    if not value:
        return None
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("type") not in OUTCOME_TYPES:
        return None
    data = document.get("data")
    if not isinstance(data, dict):
        return None
    parts = (data.get("decision_id"), data.get("channel"), data.get("recipient"))
    if not all(isinstance(part, str) and part for part in parts):
        return None
    decision_id, channel, recipient = parts
    return notification_id(str(decision_id), str(channel), str(recipient))


class Ledger:
    """Notification ids that are finished: sent, or failed after the last try."""

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.ignored = 0  # records of the topic that are not outcomes

    def __contains__(self, notification: str) -> bool:
        return notification in self.done

    def __len__(self) -> int:
        return len(self.done)

    def record(self, notification: str) -> None:
        self.done.add(notification)

    def record_value(self, value: bytes | None) -> None:
        notification = finished_notification(value)
        if notification is None:
            self.ignored += 1
        else:
            self.done.add(notification)


class LedgerFollower:
    """Reads ``dispatch.notifications`` from the beginning into a ``Ledger`` and keeps following."""

    def __init__(self, bootstrap: str, topic: str, ledger: Ledger) -> None:
        self.topic = topic
        self.ledger = ledger
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            **kafka_security(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.applied: dict[object, int] = {}  # partition → offset up to which the ledger has it
        self.advanced = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._follow(), name="notifier-ledger")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()

    async def _follow(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for record in records:
                    self.ledger.record_value(record.value)
            for partition in self.consumer.assignment():
                self.applied[partition] = await self.consumer.position(partition)
            self.advanced.set()

    async def _advanced(self) -> None:
        if self.task is None or self.task.done():
            raise LedgerError(f"the follower of {self.topic} is not running")
        self.advanced.clear()
        waiter = asyncio.ensure_future(self.advanced.wait())
        await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self.task.done():
            error = self.task.exception() if not self.task.cancelled() else None
            raise LedgerError(f"the follower of {self.topic} stopped: {error!r}")

    async def sync(self) -> float:
        """Wait until the ledger holds every record the topic has now; the seconds it took."""
        started = time.monotonic()
        warned = False
        while not self.consumer.assignment():
            await self._advanced()
            if not warned and time.monotonic() - started > 10:
                log.warning("waiting for topic %s to exist (no partition of it yet)", self.topic)
                warned = True
        partitions = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(partitions)
        while any(self.applied.get(p, -1) < end for p, end in ends.items()):
            await self._advanced()
        return time.monotonic() - started
