"""``dispatch audit replay``: read the log, write ``tickets.jsonl``, ``sla.csv`` and
``report.json``; with ``--verify`` exit 1 when any recorded decision does not follow."""

from __future__ import annotations

import asyncio
import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.words import CHINA
from services.audit.archived import read_archive
from services.audit.read import AuditReadError, read_log
from services.audit.report import Audit, audit
from services.audit.sla import COLUMNS
from services.common.settings import Settings

EXIT_DIVERGENT = 1
EXIT_USAGE = 2
NO_BOOTSTRAP = (
    "dispatch audit replay: no Kafka to read. Set DISPATCH_KAFKA_BOOTSTRAP or pass --bootstrap "
    "(an existing cluster, or the broker `dispatch up` / `dispatch broker` prints). The "
    "embedded broker keeps its log in memory inside the process that started it; `dispatch up` "
    "also archives it under DISPATCH_STATE_DIR/archive: pass --archive DIR to replay that."
)


class UntilError(ValueError):
    """``--until`` is not an ISO-8601 time."""


def parse_until(text: str | None) -> datetime | None:
    """An ISO-8601 time; one without an offset is China time (+08:00)."""
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError as err:
        raise UntilError(
            f"--until {text!r} is not an ISO-8601 time (e.g. 2026-02-10T18:00:00+08:00)"
        ) from err
    return found if found.tzinfo is not None else found.replace(tzinfo=CHINA)


def replay(
    settings: Settings, *, check: bool, until: str | None, out: Path, archive: Path | None = None
) -> int:
    if not settings.kafka_bootstrap and archive is None:
        print(NO_BOOTSTRAP, file=sys.stderr)
        return EXIT_USAGE
    try:
        cut = parse_until(until)
    except UntilError as err:
        print(f"dispatch audit replay: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if archive is not None:
            log = read_archive(archive, settings.topic_prefix)
        else:
            assert settings.kafka_bootstrap is not None
            log = asyncio.run(read_log(settings.kafka_bootstrap, settings.topic_prefix))
    except AuditReadError as err:
        print(f"dispatch audit replay: {err}", file=sys.stderr)
        return EXIT_USAGE
    result = audit(log, check=check, until=cut)
    write(result, out)
    print("\n".join(summary(result, out)), flush=True)
    return EXIT_DIVERGENT if result.divergent else 0


def write(result: Audit, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "tickets.jsonl").open("wb") as lines:
        for ticket in result.tickets:
            lines.write(orjson.dumps(ticket) + b"\n")
    # UTF-8 with a byte-order mark, so that Excel and WPS show the Chinese labels.
    with (out / "sla.csv").open("w", encoding="utf-8-sig", newline="") as table:
        writer = csv.DictWriter(table, fieldnames=COLUMNS)
        writer.writeheader()
        for row in result.sla:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    (out / "report.json").write_bytes(
        orjson.dumps(result.report, option=orjson.OPT_INDENT_2) + b"\n"
    )


def _percent(rate: dict[str, Any]) -> str:
    value = rate["value"]
    shown = "—" if value is None else f"{value * 100:.1f}%"
    return f"{rate['name']} {shown} ({rate['numerator']}/{rate['denominator']})"


def summary(result: Audit, out: Path) -> list[str]:
    report = result.report
    totals, rates = report["totals"], report["rates"]
    lines = [
        f"audit of {report['topic_prefix'] or '(no prefix)'} as of {report['as_of']}: "
        f"{totals['received']} tickets, {totals['closed']} closed, {totals['open']} open, "
        f"{totals['escalated']} escalations, {totals['dead_letters']} dead letters",
        "  ".join(_percent(rates[k]) for k in ("on_time_closure", "satisfaction", "closure")),
    ]
    verified = report["verify"]
    if verified is not None:
        lines.append(
            f"verify: {verified['reproduced']} of {verified['recorded_decisions']} recorded "
            f"decisions reproduced, {verified['refusals_confirmed']} refusals confirmed, "
            f"{len(verified['pending'])} inputs pending, "
            f"{verified['divergences']} divergences {verified['by_kind'] or ''}".rstrip()
        )
        logic = report["logic_versions"]
        if logic["other"]:
            lines.append(
                f"logic: {logic['other']} decisions name another logic version than this "
                f"audit's ({logic['running']}): it cannot re-run them exactly, so a divergence "
                "among them may be a change of logic, not of the log"
            )
        for found in report["divergences"][:10]:
            lines.append(
                f"  {found['kind']:<12} {found['ticket_id'] or '-'} {found['decision_id'] or '-'}"
                f" {found['detail']}"
            )
    lines.append(f"written: {out / 'tickets.jsonl'}, {out / 'sla.csv'}, {out / 'report.json'}")
    return lines
