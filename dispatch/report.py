"""``dispatch report assess|hotspots``: read the history, compute a report, write CSV/JSON/HTML.

The history is every topic of a deployment read from the beginning (the audit's reader), or a
history file of ``dispatch simulate`` (``--history``: one encoded event per line).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson

from schemas.policy import PolicyError, load_policy
from services.audit.read import AuditReadError, read_log
from services.common.settings import Settings
from services.reports import Ledger, Period, PeriodError, assessment, hotspots
from services.reports.facts import WANTED
from services.reports.output import write_assessment, write_hotspots

EXIT_USAGE = 2


TYPE_KEY = b'"type":"'


class HistoryError(ValueError):
    """The history file cannot be read, or a line of it is not an event."""


def read_history(path: Path, ledger: Ledger) -> Ledger:
    """Fold a history file into ``ledger``: lines of event types the reports do not read (the
    policy document, resolutions, notifications) are skipped before they are parsed."""
    try:
        lines = path.open("rb")
    except OSError as err:
        raise HistoryError(f"cannot read {path}: {err.strerror}") from err
    with lines:
        for number, line in enumerate(lines, 1):
            kind = _type_of(line)
            if kind is not None and kind not in WANTED:
                continue
            try:
                ledger.add_json(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise HistoryError(f"{path}:{number}: not an event of the contract: {err}") from err
    return ledger


def _type_of(line: bytes) -> str | None:
    """The ``type`` of an encoded event, found without parsing it (None: not found so)."""
    at = line.find(TYPE_KEY)
    if at < 0:
        return None
    start = at + len(TYPE_KEY)
    end = line.find(b'"', start)
    return line[start:end].decode() if end > 0 else None


def _ledger(settings: Settings, history: Path | None) -> Ledger:
    if history is not None:
        return read_history(history, Ledger())
    if not settings.kafka_bootstrap:
        raise HistoryError(
            "no history to read: set DISPATCH_KAFKA_BOOTSTRAP or pass --bootstrap (the "
            "deployment's broker), or --history FILE (a file of `dispatch simulate`)"
        )
    log = asyncio.run(read_log(settings.kafka_bootstrap, settings.topic_prefix))
    return Ledger().extend(r.event for logged in log.records.values() for r in logged)


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
    except (PeriodError, PolicyError, HistoryError, AuditReadError) as err:
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
