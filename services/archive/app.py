"""``dispatch archive``: follow every topic of the deployment and write it to Parquet (files.py).

Every topic whose name starts with the deployment's ``<prefix>dispatch`` is archived: the
catalog's and the ones Faust makes for the router (its tables' changelogs). New topics are
picked up within seconds. Records are flushed at least every ``FLUSH_S`` seconds, each file
fsynced; the committed offsets of the deployment's consumer groups are written beside them, so
a restore puts every consumer back where it was. The position to resume from is read from the
files themselves: nothing else to keep in step. On SIGTERM the archive reads to the end of
every partition, flushes and exits, so a graceful stop loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.archive import files
from services.common.bus import make_consumer
from services.common.settings import Settings

log = logging.getLogger(__name__)

FLUSH_S = 1.0
DISCOVER_S = 3.0
MERGE_OVER = 64
"""A day folder with more files than this is merged into one."""
DRAIN_S = 15.0


def archive_root(settings: Settings) -> Path:
    return settings.state_dir / "archive"


class Archiver:
    def __init__(self, bootstrap: str, root: Path, prefix: str = "") -> None:
        self.bootstrap = bootstrap
        self.root = root
        self.prefix = f"{prefix}dispatch"
        self.positions: dict[TopicPartition, int] = {}
        self.partitions: dict[str, int] = files.read_json(root / files.TOPICS_FILE)
        self.buffer: dict[str, list[files.Row]] = {}
        self.groups: dict[str, Any] = files.read_json(root / files.GROUPS_FILE)
        self.archived = 0

    async def discover(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        """Assign every topic of the deployment; a new partition starts where the files end.
        (The admin's metadata: an assigned consumer's covers only the topics it has.)"""
        names = sorted(t for t in await admin.list_topics() if t.startswith(self.prefix))
        described = {
            d["topic"]: [p["partition"] for p in d["partitions"]]
            for d in (await admin.describe_topics(names) if names else [])
            if d["error_code"] == 0
        }
        wanted: dict[TopicPartition, int] = {}
        changed = False
        for topic in names:
            parts = sorted(described.get(topic, ()))
            if not parts:
                continue
            if self.partitions.get(topic) != len(parts):
                self.partitions[topic] = len(parts)
                changed = True
            resume = None
            for p in parts:
                tp = TopicPartition(topic, p)
                if tp not in self.positions:
                    if resume is None:
                        resume = files.next_offsets(self.root, topic)
                    self.positions[tp] = resume.get(p, 0)
                wanted[tp] = self.positions[tp]
        if changed:
            files.write_json(self.root / files.TOPICS_FILE, self.partitions)
        if set(wanted) != set(consumer.assignment()):
            consumer.assign(list(wanted))
            for tp, offset in wanted.items():
                consumer.seek(tp, offset)
            log.info("archiving %d topics, %d partitions", len(names), len(wanted))

    def take(self, batch: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in batch.items():
            rows = self.buffer.setdefault(tp.topic, [])
            for r in records:
                if r.offset < self.positions.get(tp, 0):
                    continue  # already archived (a re-fetch after an assignment)
                rows.append(
                    files.Row(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.timestamp,
                        r.key,
                        r.value,
                        tuple((k, bytes(v)) for k, v in r.headers or ()),
                    )
                )
                self.positions[tp] = r.offset + 1

    def flush(self) -> int:
        stamp = int(time.time() * 1000)
        count = 0
        for rows in self.buffer.values():
            if not rows:
                continue
            for path in files.write_rows(self.root, rows, stamp):
                files.merge_small(path.parent, MERGE_OVER)
            count += len(rows)
        self.buffer.clear()
        self.archived += count
        return count

    async def snapshot_groups(self, admin: AIOKafkaAdminClient) -> None:
        """The committed offsets of the deployment's groups, over every archived partition."""
        found: dict[str, dict[str, dict[str, int]]] = {}
        parts = list(self.positions)
        for group, _kind in await admin.list_consumer_groups():
            if not group.startswith(self.prefix) or not parts:
                continue
            offsets = await admin.list_consumer_group_offsets(group, partitions=parts)
            committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            for tp, offset in sorted(committed.items()):
                found.setdefault(group, {}).setdefault(tp.topic, {})[str(tp.partition)] = offset
        merged = {**self.groups, **found}
        if merged != self.groups:
            self.groups = merged
            files.write_json(self.root / files.GROUPS_FILE, merged)

    async def drain(self, consumer: AIOKafkaConsumer) -> None:
        """Read to the end of every partition as it is now (after the services stopped)."""
        deadline = time.monotonic() + DRAIN_S
        parts = list(consumer.assignment())
        ends = await consumer.end_offsets(parts) if parts else {}
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300, max_records=10_000)
            self.take(batch)
            behind = [
                tp
                for tp in parts
                if self.positions.get(tp, 0) < max(ends.get(tp, 0), consumer.highwater(tp) or 0)
            ]
            if not batch and not behind:
                return
        log.warning("archive: stopped before the end of %d partitions", len(parts))

    async def run(self, stop: asyncio.Event) -> None:
        # a partition's fetch holds a record up to the broker's limit (4 MiB); a whole fetch
        # at most 16 MiB (aiokafka's default is 50): what a lagging archive holds at once
        consumer = make_consumer(
            self.bootstrap,
            group=None,
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=4 << 20,
            fetch_max_bytes=16 << 20,
        )
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)
        await consumer.start()
        await admin.start()
        try:
            await self.follow(consumer, admin, stop)
            await self.drain(consumer)
            self.flush()
            await self.snapshot_groups(admin)
            log.info("archive: stopped; %d records archived in this run", self.archived)
        finally:
            await consumer.stop()
            await admin.close()

    async def follow(
        self,
        consumer: AIOKafkaConsumer,
        admin: AIOKafkaAdminClient,
        stop: asyncio.Event,
    ) -> None:
        flushed = discovered = 0.0
        while not stop.is_set():
            now = time.monotonic()
            try:
                if now - discovered >= DISCOVER_S:
                    await self.discover(consumer, admin)
                    discovered = now
                if consumer.assignment():
                    self.take(await consumer.getmany(timeout_ms=200, max_records=10_000))
                else:
                    await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                pass
            except KafkaError as exc:
                log.warning("archive: broker error, retrying: %s", exc)
                await asyncio.sleep(0.5)
            if time.monotonic() - flushed >= FLUSH_S:
                self.flush()
                try:
                    await self.snapshot_groups(admin)
                except KafkaError as exc:
                    log.warning("archive: cannot read the consumer groups' offsets: %s", exc)
                flushed = time.monotonic()


def run(settings: Settings, bootstrap: str, root: Path | None = None) -> None:
    """Archive until SIGINT/SIGTERM, then drain, flush and exit."""
    where = root or archive_root(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("archive of %s into %s", bootstrap, where)
        await Archiver(bootstrap, where, settings.topic_prefix).run(stop)

    asyncio.run(main())
