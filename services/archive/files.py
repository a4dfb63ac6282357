"""The archive's layout on disk: Parquet files of Kafka records, one folder per topic and day.

    <root>/<topic>/date=YYYY-MM-DD/part-<first-timestamp-ms>-<n>.parquet
    <root>/_topics.json    partitions of every archived topic (restore recreates them so)
    <root>/_groups.json    committed offsets of every consumer group (restore commits them)

One row per record: ``topic``, ``partition``, ``offset``, ``timestamp`` (the broker's, UTC),
``key``, ``value``, ``headers`` (list of key/value). The day is the record timestamp's date in
Beijing time. A file is written whole to a hidden temporary name, fsynced, then renamed, so a
reader (DuckDB's ``*.parquet`` glob included) never sees half a file. Merging small files may
leave a record twice after a crash between the rename and the removal: readers dedupe on
(partition, offset) (``read_topic`` does).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.words import CHINA

SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("key", pa.binary()),
        ("value", pa.binary()),
        ("headers", pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())]))),
    ]
)
TOPICS_FILE = "_topics.json"
ROWS_AT_A_TIME = 4096  # archived records turned into Python rows at once (read_topic)
GROUPS_FILE = "_groups.json"


@dataclass(frozen=True, slots=True)
class Row:
    """One archived Kafka record."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    """milliseconds since the epoch, the broker's record timestamp"""
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def day_of(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).astimezone(CHINA).date().isoformat()


def table_of(rows: Iterable[Row]) -> pa.Table:
    items = list(rows)
    return pa.table(
        {
            "topic": [r.topic for r in items],
            "partition": [r.partition for r in items],
            "offset": [r.offset for r in items],
            "timestamp": [r.timestamp for r in items],
            "key": [r.key for r in items],
            "value": [r.value for r in items],
            "headers": [[{"key": k, "value": v} for k, v in r.headers] for r in items],
        },
        schema=SCHEMA,
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, write: Any) -> None:
    """``write(tmp_path)``, fsync, rename to ``path``, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_rows(root: Path, rows: list[Row], stamp: int) -> list[Path]:
    """Write ``rows`` of one topic, one file per day; ``stamp`` names the files (ms)."""
    by_day: dict[str, list[Row]] = {}
    for row in rows:
        by_day.setdefault(day_of(row.timestamp), []).append(row)
    written = []
    for day, items in sorted(by_day.items()):
        folder = root / items[0].topic / f"date={day}"
        n = 0
        while (path := folder / f"part-{stamp:013d}-{n}.parquet").exists():
            n += 1
        table = table_of(items)
        write_durably(path, lambda tmp, t=table: pq.write_table(t, tmp))
        written.append(path)
    return written


def topic_files(root: Path, topic: str) -> list[Path]:
    """The archived files of one topic, oldest first (by day, then by name)."""
    return sorted((root / topic).glob("date=*/part-*.parquet"))


def topics(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    found = (p.name for p in root.iterdir() if p.is_dir())
    return sorted(name for name in found if not name.startswith((".", "_")))


def read_topic(root: Path, topic: str) -> Iterator[Row]:
    """Every archived record of ``topic`` once, in (partition, offset) order.

    One partition at a time (its rows of every file, sorted by offset), turned into Python rows
    a batch at a time: a year of a topic is never in memory at once."""
    files = topic_files(root, topic)
    if not files:
        return
    partitions = pa.concat_tables(pq.read_table(f, columns=["partition"]) for f in files)
    for partition in sorted(pc.unique(partitions["partition"]).to_pylist()):
        where = [("partition", "=", partition)]
        table = pa.concat_tables(pq.read_table(f, schema=SCHEMA, filters=where) for f in files)
        table = table.sort_by("offset")
        last: int | None = None
        for batch in table.to_batches(ROWS_AT_A_TIME):
            for item in batch.to_pylist():
                if item["offset"] == last:
                    continue
                last = item["offset"]
                stamp = item["timestamp"]
                yield Row(
                    topic,
                    partition,
                    item["offset"],
                    int(stamp.timestamp() * 1000) if stamp is not None else 0,
                    item["key"],
                    item["value"],
                    tuple((h["key"], h["value"]) for h in item["headers"] or ()),
                )
        del table


def next_offsets(root: Path, topic: str) -> dict[int, int]:
    """Partition → the offset after the last archived one (where the archive resumes)."""
    files = topic_files(root, topic)
    if not files:
        return {}
    table = pa.concat_tables(pq.read_table(f, columns=["partition", "offset"]) for f in files)
    grouped = table.group_by("partition").aggregate([("offset", "max")])
    return {
        p: o + 1
        for p, o in zip(
            grouped["partition"].to_pylist(), grouped["offset_max"].to_pylist(), strict=True
        )
    }


SMALL_BYTES = 2 << 20
"""A file under this size is small: merging gathers small files only, never a merged one."""
MERGED_BYTES = 16 << 20
"""Small files are gathered into one until they reach this size, so that a merge reads and
writes a bounded amount however large the day grows (its memory with it)."""


def merge_small(
    folder: Path, keep_under: int, small: int = SMALL_BYTES, budget: int = MERGED_BYTES
) -> Path | None:
    """Merge the oldest small files of one day folder when it has more than ``keep_under``.

    Files of at least ``small`` bytes stay as they are; the small ones are gathered oldest
    first until they reach ``budget`` bytes, so a day of any size is merged piece by piece,
    reading and writing at most about ``budget`` at a time.
    """
    sizes = {f: f.stat().st_size for f in sorted(folder.glob("part-*.parquet"))}
    smalls = [f for f, size in sizes.items() if size < small]
    if len(smalls) <= keep_under:
        return None
    group: list[Path] = []
    total = 0
    for f in smalls:
        group.append(f)
        total += sizes[f]
        if total >= budget:
            break
    table = pa.concat_tables(pq.read_table(f, schema=SCHEMA) for f in group)
    table = table.sort_by([("partition", "ascending"), ("offset", "ascending")])
    _, stamp, n, *_ = group[0].stem.split("-")
    merged = folder / f"part-{stamp}-{n}-m{time.time_ns()}.parquet"
    write_durably(merged, functools.partial(pq.write_table, table))
    del table
    for f in group:
        with contextlib.suppress(FileNotFoundError):
            f.unlink()
    _fsync_dir(folder)
    pa.default_memory_pool().release_unused()
    return merged


def write_json(path: Path, value: Any) -> None:
    data = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    write_durably(path, lambda tmp: tmp.write_bytes(data))


def read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
