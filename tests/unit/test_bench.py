"""The benchmark's arithmetic and workload (its speed is measured by `dispatch bench`, never
asserted by a test)."""

from __future__ import annotations

import orjson

from dispatch.bench.kafka import percentiles, rate
from dispatch.bench.memory import INPUTS, _growth, _reasons, history
from dispatch.bench.workload import requests
from schemas.policy import load_policy
from services.router.kernel.core import step
from services.router.kernel.handle import handle
from services.router.kernel.places import apply_changes


def test_rate_counts_events_between_the_first_and_the_last_record() -> None:
    assert rate(1000, [10_000, 10_500, 12_000]) == 500.0


def test_percentiles_pick_the_ranked_values() -> None:
    figures = percentiles([float(v) for v in range(1, 101)])
    assert (figures["p50"], figures["p99"], figures["max"]) == (51.0, 100.0, 100.0)


def test_the_workload_has_no_repeat_reports_so_every_request_is_assigned() -> None:
    policy = load_policy(None)
    places: dict[str, str] = {}
    merged = 0
    for event in requests(policy, 3000, tag="t"):
        outcome = handle(None, event, policy, places)
        assert outcome.ticket is not None
        merged += outcome.ticket.merged_into is not None
        apply_changes(places, outcome.places)
    assert merged == 0


def test_the_workload_never_starts_at_the_command_center_so_every_ticket_can_escalate() -> None:
    policy = load_policy(None)
    events = requests(policy, 10_000, tag="t")
    for event in events[::25]:  # across the whole cycle: every category, local and department
        _, out = step(None, event, policy, {})
        assigned = [d for d in out if d.type == "dispatch.ticket.assigned"]
        assert assigned
        assert assigned[0].data.assignee.kind != "command_center"  # type: ignore[attr-defined]


def test_the_memory_history_is_a_year_of_inputs_in_time_order() -> None:
    inputs = history(load_policy(None), 300)
    assert {topic for _, topic, _ in inputs} == set(INPUTS)
    assert [t for t, _, _ in inputs] == sorted(t for t, _, _ in inputs)
    received = [e for _, topic, e in inputs if e.type == "dispatch.request.received"]
    assert 200 <= len(received) <= 400
    assert (inputs[-1][0] - inputs[0][0]).days >= 300


def test_memory_growth_is_the_last_point_over_the_first_and_reasons_are_counted() -> None:
    points = [{"rss_mb": {"router": 50.0, "intake": 80.0}}, {"rss_mb": {"router": 75.0}}]
    assert _growth(points) == {"router": 1.5}
    assert _growth(points[:1]) == {}
    letters = [orjson.dumps({"data": {"reason": r}}) for r in ("a", "b", "a")]
    assert _reasons(letters) == {"a": 2, "b": 1}
