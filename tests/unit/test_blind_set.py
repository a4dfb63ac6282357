"""The blind set's shape (never its score: that is `dispatch bench`'s, see the file's header)."""

from __future__ import annotations

from collections import Counter

import yaml

from dispatch.bench.run import BLIND, LABELLED, accuracy
from schemas.policy import load_policy


def test_the_blind_set_has_every_tier_enough_emergencies_and_known_categories() -> None:
    items = yaml.safe_load(BLIND.read_text(encoding="utf-8"))["requests"]
    codes = {c.code for c in load_policy(None).categories}
    tiers = Counter(item["tier"] for item in items)
    assert len(items) >= 100
    assert all(tiers[t] >= 10 for t in ("city", "department", "local", "consultation"))
    assert sum(bool(item["emergency"]) for item in items) >= 12
    assert all(item["tier"] == "city" for item in items if item["emergency"])
    assert {item["category"] for item in items} <= codes
    texts = [item["text"] for item in items]
    assert len(set(texts)) == len(texts)
    labelled = {i["text"] for i in yaml.safe_load(LABELLED.read_text("utf-8"))["requests"]}
    assert not labelled & set(texts), "a blind request is also in the tuning set"


def test_the_bench_counts_tier_hits_missed_and_false_emergencies() -> None:
    figures = accuracy(load_policy(None), LABELLED)
    assert figures is not None
    assert set(figures) == {
        "requests",
        "tier_accuracy",
        "emergency_recall",
        "emergencies",
        "false_emergencies",
    }
    assert figures["requests"] >= 80 and figures["emergencies"] >= 10
