"""``dispatch report assess|hotspots``: read the history, compute a report, write CSV/JSON/HTML.

The history is the requests, updates and decisions topics of a deployment read from the
beginning, or a history file of ``dispatch simulate`` (``--history``: one encoded event a line);
both are folded by ``services.reports.Ledger.add_json``, the console's by ``Ledger.add``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from schemas import topics
from schemas.policy import PolicyError, load_policy
from services.common.bus import Topics, make_consumer
from services.common.settings import Settings
from services.reports import Ledger, Period, PeriodError, assessment, hotspots
from services.reports.facts import WANTED
from services.reports.output import write_assessment, write_hotspots

EXIT_USAGE = 2


TYPE_KEY = b'"type":"'


class HistoryError(ValueError):
    """The history file cannot be read, or a line of it is not an event."""


def read_history(path: Path, ledger: Ledger) -> Ledger:
    """Fold a history file (one encoded event a line) into ``ledger``."""
    try:
        lines = path.open("rb")
    except OSError as err:
        raise HistoryError(f"cannot read {path}: {err.strerror}") from err
    with lines:
        for number, line in enumerate(lines, 1):
            if line.strip() and not fold_line(ledger, line):
                raise HistoryError(f"{path}:{number}: not an event of the contract")
    return ledger


def _type_of(line: bytes) -> str | None:
    """The ``type`` of an encoded event, found without parsing it (None: not found so)."""
    at = line.find(TYPE_KEY)
    if at < 0:
        return None
    start = at + len(TYPE_KEY)
    end = line.find(b'"', start)
    return line[start:end].decode() if end > 0 else None


def fold_line(ledger: Ledger, line: bytes) -> bool:
    """Fold one encoded event into ``ledger``; False when it is not an event of the contract.
    Lines of event types the reports do not read (the policy document, resolutions) are
    skipped before they are parsed."""
    kind = _type_of(line)
    if kind is not None and kind not in WANTED:
        return True
    try:
        ledger.add_json(orjson.loads(line))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return False
    return True


async def read_topics(bootstrap: str, prefix: str, ledger: Ledger) -> int:
    """Fold every record of the requests, updates and decisions topics, from the beginning to
    the end as of now, into ``ledger``; returns how many records were not events.

    Raw values, parsed only for the fields the reports read: a year of a district (150,000
    events) in seconds, where the audit's reader validates every model. Where a partition ends
    is read as the audit's reader does (services/audit/read.py): the larger of the end offset
    and the high watermark of the first fetch."""
    consumer = make_consumer(
        bootstrap, group=None, request_timeout_ms=10_000, fetch_max_wait_ms=50,
        max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
    )  # fmt: skip
    try:
        async with asyncio.timeout(15):
            await consumer.start()
    except (KafkaError, TimeoutError, OSError) as err:
        await consumer.stop()
        raise HistoryError(f"cannot reach Kafka at {bootstrap}: {err or 'timed out'}") from err
    names, unreadable = Topics(prefix), 0
    try:
        if names(topics.REQUESTS) not in await consumer.topics():
            raise HistoryError(f"no topic {names(topics.REQUESTS)} on {bootstrap}: wrong prefix?")
        parts = [
            TopicPartition(names(topic), p)
            for topic in (topics.REQUESTS, topics.UPDATES, topics.DECISIONS)
            for p in sorted(consumer.partitions_for_topic(names(topic)) or ())
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        left, marked = {tp for tp in parts if ends[tp] > 0}, set()
        while left:
            batch = await consumer.getmany(*left, timeout_ms=500, max_records=50_000)
            for tp, records in batch.items():
                if tp not in marked:
                    marked.add(tp)
                    ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
                for record in records:
                    if record.offset < ends[tp]:
                        unreadable += not fold_line(ledger, record.value or b"")
            for tp in list(left):
                if tp in marked and await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    except KafkaError as err:
        raise HistoryError(f"reading from {bootstrap} failed: {err}") from err
    finally:
        await consumer.stop()
    return unreadable


def _ledger(settings: Settings, history: Path | None) -> Ledger:
    if history is not None:
        return read_history(history, Ledger())
    if not settings.kafka_bootstrap:
        raise HistoryError(
            "no history to read: set DISPATCH_KAFKA_BOOTSTRAP or pass --bootstrap (the "
            "deployment's broker), or --history FILE (a file of `dispatch simulate`)"
        )
    ledger = Ledger()
    unreadable = asyncio.run(read_topics(settings.kafka_bootstrap, settings.topic_prefix, ledger))
    if unreadable:
        print(f"dispatch report: {unreadable} records are not events; left out", file=sys.stderr)
    return ledger


def run(
    settings: Settings,
    kind: str,
    first: str,
    last: str,
    by: str,
    out: Path,
    history: Path | None,
) -> int:
    started = time.perf_counter()
    try:
        period = Period.parse(first, last)
        policy = load_policy(settings.policy, settings.sla_scale)
        facts = _ledger(settings, history).facts()
    except (PeriodError, PolicyError, HistoryError) as err:
        print(f"dispatch report {kind}: {err}", file=sys.stderr)
        return EXIT_USAGE
    if kind == "assess":
        report = assessment(facts, period, by, policy)
        written = write_assessment(report, out)
        total = report["total"]
        print(
            f"三率考核 {period.first}..{period.last} by {by}: {len(report['rows'])} units, "
            f"{total['received']} tickets, score {total['score']}",
        )
    else:
        report = hotspots(facts, period, policy)
        written = write_hotspots(report, out)
        flagged = [r for r in report["rows"] if r["candidate"]]
        print(
            f"热点 {period.first}..{period.last}: {len(report['rows'])} clusters of "
            f"{report['total']} tickets, {len(flagged)} 每月一题 candidates",
        )
    print(f"written: {', '.join(map(str, written))} ({time.perf_counter() - started:.2f} s)")
    return 0
