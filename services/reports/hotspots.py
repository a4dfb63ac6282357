"""每月一题: the (category, place) clusters of a period by count, their change against the
period of the same length before, and the share of repeat reports; the top ones are candidates.

The place is the community the router located the ticket to (the unit itself when it lies
above any community: a street, or the district for a place it could not resolve).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from schemas.policy import Policy
from schemas.policy.grid import Grid, grid_of
from services.reports.facts import TicketFacts
from services.reports.period import Period

CANDIDATES = 5
"""How many of the top clusters are flagged as 每月一题 candidates."""
AT_LEAST = 3
"""A candidate has at least this many tickets in the period."""
TRENDED = 5
"""How many top clusters the trend follows."""

Key = tuple[str, str]


def place_of(t: TicketFacts, grid: Grid) -> str:
    placed = grid.by_id.get(t.place) if t.place else None
    if placed is None:
        return grid.root.id
    return placed.community or placed.id


def _count(
    facts: list[TicketFacts], period: Period, grid: Grid
) -> tuple[Counter[Key], Counter[Key]]:
    counts: Counter[Key] = Counter()
    repeats: Counter[Key] = Counter()
    for t in facts:
        if t.invalid or not period.holds(t.received_at):
            continue
        key = (t.category, place_of(t, grid))
        counts[key] += 1
        repeats[key] += t.repeat
    return counts, repeats


def hotspots(facts: Iterable[TicketFacts], period: Period, policy: Policy) -> dict[str, Any]:
    grid = grid_of(policy)
    every = list(facts)
    listed = [t for t in every if not t.invalid]
    invalid = sum(1 for t in every if t.invalid and period.holds(t.received_at))
    counts, repeats = _count(listed, period, grid)
    before, _ = _count(listed, period.previous(), grid)
    names = {t.category: t.category_name for t in listed}
    order = sorted(counts, key=lambda k: (-counts[k], -repeats[k], k))
    rows = []
    for i, key in enumerate(order):
        category, place = key
        count, previous = counts[key], before[key]
        unit = grid.by_id[place]
        street = grid.by_id[unit.street].name if unit.street else ""
        rows.append(
            {
                "rank": i + 1,
                "category": category,
                "category_name": names.get(category, category),
                "place_id": place,
                "place_name": unit.name,
                "street_name": street,
                "count": count,
                "previous": previous,
                "change": count - previous,
                "change_rate": round((count - previous) / previous, 4) if previous else None,
                "repeats": repeats[key],
                "repeat_share": round(repeats[key] / count, 4),
                "candidate": i < CANDIDATES and count >= AT_LEAST,
            }
        )
    return {
        "report": "hotspots",
        "period": period.as_json(),
        "previous_period": period.previous().as_json(),
        "policy": policy.version,
        "total": sum(counts.values()),
        "previous_total": sum(before.values()),
        "repeats": sum(repeats.values()),
        "invalid_excluded": invalid,
        "rows": rows,
        "trend": trend(listed, period, grid, order[:TRENDED]),
        "notes": notes(invalid),
    }


def trend(facts: list[TicketFacts], period: Period, grid: Grid, keys: list[Key]) -> dict[str, Any]:
    """Tickets per bucket of the period for each of ``keys`` (the top clusters)."""
    series = {key: dict.fromkeys(period.buckets(), 0) for key in keys}
    for t in facts:
        if not period.holds(t.received_at):
            continue
        counts = series.get((t.category, place_of(t, grid)))
        if counts is not None:
            counts[period.bucket(t.received_at)] += 1
    return {
        "buckets": period.buckets(),
        "series": [
            {"category": c, "place_id": p, "counts": list(series[(c, p)].values())} for c, p in keys
        ],
    }


def notes(invalid: int) -> list[str]:
    return [
        "聚类按(诉求类别,社区)统计受理量;未能定位到社区的,按其所在的街道或全区统计。",
        "环比:与统计期之前同样长度的时段相比。",
        "重复诉求:被并入同一地点、同一类别未办结工单的再次反映(多次反映)。",
        f"受理量居前 {CANDIDATES} 且不少于 {AT_LEAST} 件的聚类列为“每月一题”候选。",
        f"无效件 {invalid} 件不计入。",
    ]
