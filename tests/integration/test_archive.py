"""The archive of the log: every record to Parquet, restored into a new broker as it was."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dispatch.broker import EmbeddedBroker
from services.archive import files
from services.archive.app import Archiver
from services.archive.restore import restore
from tests.kafka import eventually

Seen = dict[int, list[tuple[int, bytes | None, bytes | None, int, tuple[tuple[str, bytes], ...]]]]


async def write_some(bootstrap: str, topic: str, count: int, create: bool = True) -> None:
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 3, 1)])
        finally:
            await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(
                topic,
                f"value-{i}".encode() if i % 7 else None,
                key=f"ticket-{i % 5}".encode(),
                headers=[("content-type", b"application/cloudevents+json"), ("n", b"%d" % i)],
                timestamp_ms=1_767_225_600_000 + i * 1000,
            )
            for i in range(count)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, count: int) -> Seen:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    await consumer.start()
    seen: Seen = {}
    try:
        async with asyncio.timeout(30):
            while sum(map(len, seen.values())) < count:
                for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                    seen.setdefault(tp.partition, []).extend(
                        (r.offset, r.key, r.value, r.timestamp, tuple(r.headers)) for r in records
                    )
    finally:
        await consumer.stop()
    return seen


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        return {tp.partition: o for tp, o in (await consumer.end_offsets(parts)).items()}
    finally:
        await consumer.stop()


async def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return await consumer.committed(tp)
    finally:
        await consumer.stop()


async def archive_until(bootstrap: str, root: Path, prefix: str, count: int) -> None:
    """Run the archive until it has ``count`` records on disk, then stop it as SIGTERM does."""
    stop = asyncio.Event()
    archiver = Archiver(bootstrap, root, prefix)
    task = asyncio.create_task(archiver.run(stop))

    async def archived() -> bool:
        return archiver.archived >= count

    await eventually(archived, f"{count} records archived", timeout=60)
    stop.set()
    await task


@pytest.mark.kafka
async def test_a_restored_archive_has_every_record_in_its_place_and_every_group_offset(
    kafka_bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}dispatch.requests"
    root = tmp_path / "archive"
    await write_some(kafka_bootstrap, topic, 60)
    await commit(kafka_bootstrap, f"{prefix}dispatch-notifier", {TopicPartition(topic, 1): 4})
    before = await read_all(kafka_bootstrap, topic, 60)

    await archive_until(kafka_bootstrap, root, prefix, 60)
    assert list((root / topic).glob("date=2026-01-01/part-*.parquet"))

    with EmbeddedBroker() as fresh:
        done = await restore(fresh.bootstrap, root, prefix)
        assert (done.records, done.moved) == (60, 0)
        assert await read_all(fresh.bootstrap, topic, 60) == before
        # the end a consumer is told (Faust recovers its tables up to it) is the real end
        assert await end_offsets(fresh.bootstrap, topic) == {p: len(before[p]) for p in before}
        group = f"{prefix}dispatch-notifier"
        assert await committed(fresh.bootstrap, group, TopicPartition(topic, 1)) == 4


@pytest.mark.kafka
async def test_the_archive_resumes_after_what_its_files_hold(
    kafka_bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}dispatch.updates"
    root = tmp_path / "archive"
    await write_some(kafka_bootstrap, topic, 20)
    await archive_until(kafka_bootstrap, root, prefix, 20)
    await write_some(kafka_bootstrap, topic, 10, create=False)
    await archive_until(kafka_bootstrap, root, prefix, 10)  # a second run: only the new ones
    offsets = [(r.partition, r.offset) for r in files.read_topic(root, topic)]
    table = duckdb.sql(f"SELECT count(*) FROM read_parquet('{root}/{topic}/*/*.parquet')")
    assert table.fetchall() == [(30,)]
    assert len(offsets) == len(set(offsets)) == 30


@pytest.mark.kafka
async def test_the_readme_queries_the_archive_with_duckdb(
    kafka_bootstrap: str, prefix: str, tmp_path: Path
) -> None:
    topic = f"{prefix}dispatch.decisions"
    root = tmp_path / "archive"
    await write_some(kafka_bootstrap, topic, 14)
    await archive_until(kafka_bootstrap, root, prefix, 14)
    rows = duckdb.sql(
        f"""
        SELECT date, count(*) AS records, count(value) AS with_value
        FROM read_parquet('{root}/*/date=*/*.parquet', hive_partitioning = true)
        WHERE topic = '{topic}'
        GROUP BY date ORDER BY date
        """
    ).fetchall()
    assert [(str(d), n, v) for d, n, v in rows] == [("2026-01-01", 14, 12)]


def test_small_files_of_a_day_are_merged_and_every_record_read_once(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    topic = "dispatch.clock"
    for n in range(70):
        row = files.Row(topic, n % 2, n // 2, 1_767_225_600_000 + n, b"k", b"v%d" % n)
        files.write_rows(root, [row], stamp=1_000 + n)
    folder = root / topic / "date=2026-01-01"
    assert len(list(folder.glob("*.parquet"))) == 70
    assert files.merge_small(folder, keep_under=64) is not None
    assert len(list(folder.glob("*.parquet"))) == 1
    rows = list(files.read_topic(root, topic))
    assert [(r.partition, r.offset) for r in rows] == [(p, o) for p in (0, 1) for o in range(35)]
    assert files.next_offsets(root, topic) == {0: 35, 1: 35}


def test_a_merge_gathers_small_files_only_and_a_bounded_amount_at_a_time(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    topic = "dispatch.clock"
    for n in range(12):
        row = files.Row(topic, 0, n, 1_767_225_600_000 + n, b"k", b"v" * (n + 1))
        files.write_rows(root, [row], stamp=1_000 + n)
    folder = root / topic / "date=2026-01-01"
    sizes = [f.stat().st_size for f in folder.glob("*.parquet")]
    size = min(sizes)
    first = files.merge_small(folder, keep_under=4, small=max(sizes) + 1, budget=3 * size)
    assert first is not None
    assert len(list(folder.glob("*.parquet"))) == 10  # three gathered into one
    big = first.stat().st_size
    while files.merge_small(folder, keep_under=4, small=big, budget=3 * size) is not None:
        pass
    names = sorted(folder.glob("*.parquet"))
    assert len([f for f in names if f.stat().st_size < big]) <= 4
    assert first in names  # a merged file is not merged again
    rows = list(files.read_topic(root, topic))
    assert [r.offset for r in rows] == list(range(12))
