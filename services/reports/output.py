"""Write a report as CSV (UTF-8 with BOM, for Excel and WPS), JSON and its HTML page."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from services.reports.page import assessment_page, hotspots_page

ASSESSMENT_COLUMNS = [
    "rank", "unit_id", "unit_name", "received", "adopted", "responded", "response_rate",
    "with_feedback", "solved", "resolution_rate", "satisfied", "satisfaction_rate", "score",
]  # fmt: skip
HOTSPOT_COLUMNS = [
    "rank", "category", "category_name", "place_id", "place_name", "street_name", "count",
    "previous", "change", "change_rate", "repeats", "repeat_share", "candidate",
]  # fmt: skip


def _write(
    out: Path, name: str, report: dict[str, Any], columns: list[str], page: str
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.csv", out / f"{name}.json", out / f"{name}.html"]
    with paths[0].open("w", encoding="utf-8-sig", newline="") as table:
        writer = csv.DictWriter(table, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in report["rows"]:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    paths[1].write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    paths[2].write_text(page, encoding="utf-8")
    return paths


def write_assessment(report: dict[str, Any], out: Path) -> list[Path]:
    return _write(out, "assessment", report, ASSESSMENT_COLUMNS, assessment_page(report))


def write_hotspots(report: dict[str, Any], out: Path) -> list[Path]:
    return _write(out, "hotspots", report, HOTSPOT_COLUMNS, hotspots_page(report))
