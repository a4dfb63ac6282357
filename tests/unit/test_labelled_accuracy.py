"""The bundled sample district (沙县区) against requests labelled by a command-center operator.

The labels in ``dispatch/bench/data/labelled_requests.yaml`` were written as an operator would
triage each request, not from the router's output; the policy's lexicon and rules are tuned to them.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from schemas.policy import Policy, load_policy
from schemas.policy.grid import grid_of
from services.router.kernel.locate import locate
from services.router.kernel.rules import Classification, Facts, classify

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "dispatch" / "bench" / "data" / "labelled_requests.yaml"
TIERS = ("city", "department", "local", "consultation")


@cache
def bundled_policy() -> Policy:
    return load_policy(None)


@cache
def labelled_requests() -> tuple[dict[str, Any], ...]:
    document = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    return tuple(document["requests"])


def classify_item(item: dict[str, Any]) -> Classification:
    facts = Facts(
        description=item["text"],
        urgent=bool(item.get("urgent", False)),
        households_affected=item.get("households_affected"),
    )
    return classify(facts, bundled_policy())


@cache
def results() -> tuple[tuple[dict[str, Any], Classification], ...]:
    return tuple((item, classify_item(item)) for item in labelled_requests())


def describe(item: dict[str, Any], got: Classification) -> str:
    return (
        f"  {item['text']}\n"
        f"    expected {item['tier']}/{item['category']}/emergency={item['emergency']}, "
        f"got {got.tier}/{got.category.code}/emergency={got.emergency} "
        f"(rule {got.rule}, evidence {list(got.evidence)})"
    )


def test_labelled_requests_cover_every_tier_and_enough_emergencies() -> None:
    items = labelled_requests()
    codes = {c.code for c in bundled_policy().categories}
    assert len(items) >= 80
    for tier in TIERS:
        assert sum(item["tier"] == tier for item in items) >= 10, tier
    assert sum(bool(item["emergency"]) for item in items) >= 10
    unknown = {item["category"] for item in items} - codes
    assert not unknown, f"labels use categories the policy lacks: {unknown}"
    texts = [item["text"] for item in items]
    assert len(texts) == len(set(texts)), "a labelled request appears twice"


def test_tier_accuracy_on_labelled_requests_is_at_least_90_percent() -> None:
    pairs = results()
    wrong = [(item, got) for item, got in pairs if got.tier != item["tier"]]
    accuracy = 1 - len(wrong) / len(pairs)
    print(f"\ntier accuracy: {accuracy:.3f} ({len(pairs) - len(wrong)}/{len(pairs)})")
    for item, got in wrong:
        print(describe(item, got))
    assert accuracy >= 0.90


def test_category_accuracy_on_labelled_requests_is_at_least_85_percent() -> None:
    pairs = results()
    wrong = [(item, got) for item, got in pairs if got.category.code != item["category"]]
    accuracy = 1 - len(wrong) / len(pairs)
    print(f"\ncategory accuracy: {accuracy:.3f} ({len(pairs) - len(wrong)}/{len(pairs)})")
    for item, got in wrong:
        print(describe(item, got))
    assert accuracy >= 0.85


def test_every_labelled_emergency_is_flagged_and_nothing_else_is() -> None:
    pairs = results()
    emergencies = [(item, got) for item, got in pairs if item["emergency"]]
    missed = [(item, got) for item, got in emergencies if not got.emergency]
    false_alarms = [(item, got) for item, got in pairs if got.emergency and not item["emergency"]]
    recall = 1 - len(missed) / len(emergencies)
    print(
        f"\nemergency recall: {recall:.3f} ({len(emergencies) - len(missed)}/{len(emergencies)}),"
        f" false emergencies: {len(false_alarms)}"
    )
    for item, got in missed + false_alarms:
        print(describe(item, got))
    assert recall == 1.0
    assert not false_alarms


def test_bundled_policy_has_17_communities_115_area_grids_and_988_micro_grids() -> None:
    district = bundled_policy().district
    communities = [c for street in district.streets for c in street.communities]
    areas = [a for c in communities for a in c.areagrids]
    micros = [m for a in areas for m in a.microgrids]
    assert district.name == "沙县区"
    assert {street.name for street in district.streets} == {"凤岗街道", "虬江街道"}
    assert (len(communities), len(areas), len(micros)) == (17, 115, 988)


def test_every_micro_grid_address_fragment_is_unique_and_not_inside_another() -> None:
    policy = bundled_policy()
    fragments = [
        fragment
        for street in policy.district.streets
        for community in street.communities
        for area in community.areagrids
        for micro in area.microgrids
        for fragment in micro.addresses
    ]
    assert all(fragments)
    assert len(fragments) == len(set(fragments))
    by_length = sorted(fragments, key=len)
    nested = [
        (short, long)
        for i, short in enumerate(by_length)
        for long in by_length[i + 1 :]
        if short in long
    ]
    assert not nested, f"fragments inside others locate ambiguously: {nested[:5]}"


def test_starter_units_keep_their_ids_and_address_fragments() -> None:
    policy = bundled_policy()
    directory = grid_of(policy)
    for unit_id in (
        "D-SX",
        "ST-FG",
        "ST-QJ",
        "CM-CB",
        "CM-FQ",
        "CM-LB",
        "AG-CB-01",
        "AG-FQ-01",
        "AG-LB-01",
        "MG-CB-01-01",
        "MG-CB-01-02",
        "MG-FQ-01-05",
        "MG-LB-01-01",
    ):
        assert unit_id in directory.by_id, unit_id
    expected = {
        "城北新村南区5幢楼下没有路灯": "MG-CB-01-01",
        "城北新村南区7幢楼道灯坏了": "MG-CB-01-01",
        "府前9幢20号店的咖啡店污水管堵塞": "MG-FQ-01-05",
        "洋坊新村旧房改造": "MG-LB-01-01",
    }
    for text, unit_id in expected.items():
        assert locate(policy, None, text).unit.id == unit_id, text


def test_bundled_policy_is_what_the_generator_writes() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_sample_district.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def accuracy_report() -> list[str]:
    """The line for the end of `make test`: the labelled (tuning) set.

    The blind held-out set (dispatch/bench/data/heldout_requests.yaml) is scored by `dispatch bench`
    only: a figure printed on every test run is a figure tuned against, which spends the set.
    """
    pairs = results()
    n = len(pairs)
    tier = sum(got.tier == item["tier"] for item, got in pairs)
    urgent = [got for item, got in pairs if item["emergency"]]
    caught = sum(got.emergency for got in urgent)
    false = sum(got.emergency and not item["emergency"] for item, got in pairs)
    return [
        f"labelled set (the lexicon is tuned on it): tier {tier / n:.1%} ({tier}/{n}), "
        f"emergencies caught {caught}/{len(urgent)}, false emergencies {false}; "
        "the blind held-out figures: `dispatch bench`"
    ]
