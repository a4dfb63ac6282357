"""What the benchmarks send: realistic requests spread over the grid, so no two are repeats."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

from schemas.codec import encode
from schemas.events import Location, RequestReceived
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event

LOCAL_TEXTS = {
    "corridor_light": "楼道灯坏了,晚上上下楼看不清",
    "pension_auth": "家里老人不会网上养老认证,请网格员上门帮忙",
    "home_repair": "家里台灯坏了想找人修理",
}


def places(policy: Policy) -> Iterator[tuple[str, str, str]]:
    """(micro-grid id, category, text), every pair distinct, cycling through the grid.

    Local and department matters only: those escalate when unclaimed (a city matter starts
    at the district command center, with no one above it).
    """
    micro = [u.id for u in grid_of(policy).by_id.values() if u.level == "microgrid"]
    texts = [
        (c.code, c.name)
        for c in policy.categories
        if c.code != policy.default_category
        and c.code not in LOCAL_TEXTS
        and c.tier in ("local", "department")
    ]
    local = [(code, text) for code, text in LOCAL_TEXTS.items() if code in policy.category_by_code]
    pairs = [(m, code, text) for code, text in local for m in micro]
    pairs += [(m, code, f"{name}的问题,请尽快处理") for code, name in texts for m in micro]
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
