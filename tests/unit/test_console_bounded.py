"""The console's memory stays bounded: it forgets old event ids, keeps scores as counts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.policy import load_policy
from schemas.words import CHINA
from services.console import kpis as kpis_module
from services.console.kpis import Kpis
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from tests.conftest import SMALL_POLICY
from tests.unit.test_router_lifecycle import update

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


def test_a_closed_ticket_leaves_no_per_ticket_state_behind() -> None:
    policy = load_policy(SMALL_POLICY)
    kpis = Kpis()
    tickets = []
    for i in range(3):
        received = received_event(
            RequestIn(external_id=f"B-close-{i}", description="城北新村南区7幢楼梯灯不亮"),
            "grid-patrol",
            T0 + timedelta(minutes=i),
        )
        kpis.fold(received)
        ticket, decisions = step(None, received, policy)
        assert ticket is not None
        for decision in decisions:
            kpis.fold(decision)
        tickets.append(ticket)
    for ticket in tickets:
        for action, minutes, score in (("claim", 30, None), ("resolve", 600, None),
                                       ("feedback", 700, 5)):  # fmt: skip
            event = update(ticket, action, minutes, satisfaction=score)
            kpis.fold(event)
            after, decisions = step(ticket, event, policy)
            assert after is not None
            ticket = after
            for decision in decisions:
                kpis.fold(decision)
        assert ticket.status == "closed"
    assert kpis.closed == 3
    assert (kpis.open, kpis.tiers, kpis.moves, kpis.history, kpis.settled) == ({}, {}, {}, {}, {})


def test_refused_ids_are_capped_like_seen_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kpis_module, "SEEN", 10)
    kpis = Kpis()
    for i in range(25):
        kpis._unmove(f"T-{i}", f"refused-{i}")
    assert len(kpis.refused) == len(kpis.refused_order) == 10
    assert "refused-24" in kpis.refused and "refused-0" not in kpis.refused
    assert kpis.history == {}  # a refusal for a ticket with no moves keeps nothing
