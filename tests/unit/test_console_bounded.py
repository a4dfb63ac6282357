"""The console's memory stays bounded: it forgets old event ids, keeps scores as counts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.words import CHINA
from services.console import kpis as kpis_module
from services.console.kpis import Kpis
from services.intake.models import RequestIn, received_event

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=CHINA)


def test_only_the_latest_event_ids_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kpis_module, "SEEN", 10)
    kpis = Kpis()
    events = [
        received_event(RequestIn(external_id=f"B-{i}", description="楼道灯坏了"), "ehu", T0)
        for i in range(25)
    ]
    for event in events:
        assert kpis.fold(event)
    assert len(kpis.seen) == len(kpis.seen_order) == 10
    assert kpis.fold(events[-1]) is False  # a recent redelivery is still recognised
    assert kpis.as_json()["received"] == 25


def test_a_thousand_scores_take_five_counters() -> None:
    kpis = Kpis()
    for i in range(1000):
        kpis.satisfaction[1 + i % 5] += 1
    assert len(kpis.satisfaction) == 5
    assert kpis.as_json(now=T0 + timedelta(hours=1))["satisfaction_rate"] == 0.4
