"""What the benchmarks send: realistic requests spread over the grid, so no two are repeats.

The texts are residents' own words: the labelled requests (``data/labelled_requests.yaml``,
written from the seeds' situations and everyday 12345 calls), those the router handles at a
local or department level without an emergency (such tickets can escalate). A category with
none of them says what its name says. The classifier's cost grows with the text: the first
workload, one short sentence per category (15 characters on average), made the router look
a third faster than it is on these (26).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from schemas.codec import encode
from schemas.events import Location, RequestReceived
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.router.kernel.rules import Facts, classify

LABELLED = Path(__file__).parent / "data" / "labelled_requests.yaml"
ESCALATING = ("local", "department")

LOCAL_TEXTS = {
    "corridor_light": "楼道灯坏了,晚上上下楼看不清",
    "pension_auth": "家里老人不会网上养老认证,请网格员上门帮忙",
    "home_repair": "家里台灯坏了想找人修理",
}


@functools.cache
def _labelled() -> tuple[tuple[str, str], ...]:
    items = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["requests"]
    return tuple((item["category"], item["text"]) for item in items if not item["emergency"])


def texts(policy: Policy) -> dict[str, list[str]]:
    """Texts by category, for the categories handled below the command center: the labelled
    ones the router, told the category, keeps at a local or department level without an
    emergency; else one plain sentence."""
    labelled: dict[str, list[str]] = {}
    for code, text in _labelled():
        decided = classify(Facts(description=text, category=code), policy)
        if decided.tier in ESCALATING and not decided.emergency:
            labelled.setdefault(code, []).append(text)
    return {
        c.code: labelled.get(c.code) or [LOCAL_TEXTS.get(c.code, f"{c.name}的问题,请尽快处理")]
        for c in policy.categories
        if c.code != policy.default_category and c.tier in ESCALATING
    }


def places(policy: Policy) -> Iterator[tuple[str, str, str]]:
    """(micro-grid id, category, text), every (micro-grid, category) pair distinct: each
    micro-grid with every category in turn (so any stretch of the workload mixes them all),
    each category's texts in turn.

    Local and department matters only: those escalate when unclaimed (a city matter starts
    at the district command center, with no one above it).
    """
    micro = [u.id for u in grid_of(policy).by_id.values() if u.level == "microgrid"]
    by_category = texts(policy)
    pairs = [
        (m, code, said[k % len(said)])
        for k, m in enumerate(micro)
        for code, said in by_category.items()
    ]
    return itertools.cycle(pairs)


def requests(
    policy: Policy,
    n: int,
    start: datetime | None = None,
    spread: timedelta = timedelta(0),
    tag: str = "bench",
) -> list[RequestReceived]:
    """``n`` request events as the intake writes them, received over ``spread`` from ``start``."""
    start = start or datetime.now(CHINA)
    out = []
    for i, (micro, code, text) in zip(range(n), places(policy), strict=False):
        body = RequestIn(
            external_id=f"{tag}-{i}",
            description=text,
            category=code,
            location=Location(microgrid=micro),
        )
        when = start + spread * (i / max(1, n - 1))
        out.append(received_event(body, "hotline-12345", when))
    return out


def encoded(events: list[RequestReceived]) -> list[tuple[bytes, bytes]]:
    return [(e.subject.encode(), encode(e)) for e in events]


def bodies(policy: Policy, n: int, tag: str) -> list[dict[str, object]]:
    """HTTP bodies for POST /v1/requests."""
    out: list[dict[str, object]] = []
    for i, (micro, code, text) in zip(range(n), places(policy), strict=False):
        out.append(
            {
                "external_id": f"{tag}-{i}",
                "description": text,
                "category": code,
                "location": {"microgrid": micro},
            }
        )
    return out
