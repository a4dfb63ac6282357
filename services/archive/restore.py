"""Restore an archive into an empty broker: every topic with its partitions, every record with
its key, value, headers and timestamp on the partition it was on, in its order; then every
consumer group's committed offsets. ``dispatch up`` runs it before any service starts.

On a new embedded broker the records land at the offsets they had (Kafka offsets start at 0
and the archive holds every record from there), so the archive resumes after them without
writing anything twice. Should an offset come out different (a topic whose archive does not
start at 0), the groups' offsets are translated record for record, and the archive says so.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from schemas import topics as catalog
from services.archive import files
from services.common.bus import make_producer

log = logging.getLogger(__name__)

WINDOW = 5_000
"""Records sent before waiting for their acknowledgements."""


@dataclass
class Restored:
    records: int = 0
    topics: int = 0
    groups: int = 0
    moved: int = 0
    """records that did not land at their archived offset"""
    placed: dict[TopicPartition, tuple[list[int], list[int]]] = field(default_factory=dict)
    """per partition: archived offsets and the offsets they landed at, in order"""

    def landed(self, tp: TopicPartition, committed: int) -> int:
        """Where a group committed at ``committed`` (archived offsets) resumes now."""
        archived, new = self.placed.get(tp, ([], []))
        i = bisect.bisect_left(archived, committed)
        return new[i] if i < len(new) else (new[-1] + 1 if new else 0)


def configs_for(name: str, prefix: str) -> dict[str, str]:
    for spec in catalog.CATALOG:
        if catalog.topic_name(spec.name, prefix) == name:
            return spec.topic_configs()
    return {"cleanup.policy": "compact"} if name.endswith("-changelog") else {}


async def create_topics(
    bootstrap: str, wanted: dict[str, int], prefix: str, replication: int
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(name, count, replication, topic_configs=configs_for(name, prefix))
            for name, count in sorted(wanted.items())
            if name not in existing
        ]
        if new:
            response = await admin.create_topics(new)
            for item in getattr(response, "topic_errors", []):
                if item[1] not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"cannot create topic {item[0]}: error {item[1]}")
    finally:
        await admin.close()


async def restore(bootstrap: str, root: Path, prefix: str = "", replication: int = 1) -> Restored:
    """Write the archive under ``root`` into the broker at ``bootstrap``."""
    done = Restored()
    names = files.topics(root)
    if not names:
        return done
    counts: dict[str, int] = files.read_json(root / files.TOPICS_FILE)
    await create_topics(bootstrap, {t: counts.get(t, 1) for t in names}, prefix, replication)
    producer = make_producer(bootstrap, linger_ms=20, max_request_size=32 << 20)
    await producer.start()
    try:
        for topic in names:
            await _restore_topic(producer, root, topic, done)
            done.topics += 1
    finally:
        await producer.stop()
    await commit_groups(bootstrap, files.read_json(root / files.GROUPS_FILE), done)
    return done


async def _restore_topic(producer: Any, root: Path, topic: str, done: Restored) -> None:
    window: list[tuple[files.Row, Awaitable[Any]]] = []

    async def settle() -> None:
        for row, future in window:
            meta = await future
            archived, new = done.placed.setdefault(TopicPartition(topic, row.partition), ([], []))
            archived.append(row.offset)
            new.append(meta.offset)
            done.moved += meta.offset != row.offset
        done.records += len(window)
        window.clear()

    last: dict[int, files.Row] = {}
    for row in files.read_topic(root, topic):
        held = last.get(row.partition)
        last[row.partition] = row
        if held is not None:
            window.append((held, await _send(producer, held)))
            if len(window) >= WINDOW:
                await settle()
    await settle()
    # Each partition's last record alone in its batch, once the rest is acknowledged: Tansu
    # answers ListOffsets with the last batch's base offset + 1, and Faust recovers a table
    # only up to there.
    for row in last.values():
        window.append((row, await _send(producer, row)))
    await settle()


async def _send(producer: Any, row: files.Row) -> Awaitable[Any]:
    future: Awaitable[Any] = await producer.send(
        row.topic,
        row.value,
        key=row.key,
        partition=row.partition,
        timestamp_ms=row.timestamp or None,
        headers=list(row.headers),
    )
    return future


async def commit_groups(bootstrap: str, groups: dict[str, Any], done: Restored) -> None:
    """Commit each group's archived offsets (translated to where the records landed)."""
    for group, by_topic in sorted(groups.items()):
        offsets = {
            tp: OffsetAndMetadata(done.landed(tp, int(offset)), "")
            for topic, parts in by_topic.items()
            for partition, offset in parts.items()
            if (tp := TopicPartition(topic, int(partition))) in done.placed
        }
        if not offsets:
            continue
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(list(offsets))
            await consumer.commit(offsets)
        finally:
            await consumer.stop()
        done.groups += 1


def run_restore(bootstrap: str, root: Path, prefix: str = "", replication: int = 1) -> Restored:
    done = asyncio.run(restore(bootstrap, root, prefix, replication))
    if done.moved:
        log.warning(
            "restore: %d records landed at another offset than archived; the groups' offsets "
            "were translated, and the archive will hold those records twice",
            done.moved,
        )
    return done
