"""Locations as people write them: every micro-grid of the sample district, address and lat/lon."""

from __future__ import annotations

import re
from functools import cache

import pytest

from schemas.events import Location
from schemas.policy import MicroGrid, Policy, load_policy
from services.router.kernel.locate import _stems, locate, normalise

DIGITS = "零一二三四五六七八九"


@cache
def sample() -> Policy:
    return load_policy(None)


def microgrids(policy: Policy) -> list[tuple[str, MicroGrid]]:
    return [
        (community.name, micro)
        for street in policy.district.streets
        for community in street.communities
        for area in community.areagrids
        for micro in area.microgrids
    ]


def chinese(n: int) -> str:
    """12 → 十二, 5 → 五, 20 → 二十, 105 → 一百零五 (as a caller says a building number)."""
    if n < 10:
        return DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    tail = "" if rest == 0 else ("零" + DIGITS[rest] if rest < 10 else chinese(rest))
    return DIGITS[hundreds] + "百" + tail


def variants(fragment: str, community: str) -> list[str]:
    """How residents write an address fragment of the directory."""
    found = re.fullmatch(r"(.*?)(\d+)(幢|号)", fragment)
    if found is None:
        return [fragment, f"沙县{fragment}门口", f"{community}{fragment}"]
    place, number, kind = found.group(1), int(found.group(2)), found.group(3)
    if kind == "号":
        return [f"沙县{place}{number}号", f"{place}{chinese(number)}号门口", f"{place} {number} 号"]
    bare = place.removesuffix("小区")
    out = [
        f"{place}{number}栋",
        f"{place}{number}号楼",
        f"沙县{place}{chinese(number)}栋2单元",
        f"{community}{place}{number}座楼下",
        f"{bare}小区{number}幢" if bare == place else f"{bare}{number}幢",
        f"{place}{number}-2-301",
        f"{community}{place} {number}-1302室",
        f"{place}第{chinese(number)}栋",
        f"{place}{number}#楼",
    ]
    return out


def test_address_variants_of_every_micro_grid_resolve_to_it() -> None:
    policy = sample()
    wrong = []
    for community, micro in microgrids(policy):
        for fragment in micro.addresses:
            for text in variants(fragment, community):
                got = locate(policy, Location(address=text), "楼道灯不亮")
                if got.unit.id != micro.id:
                    wrong.append((text, micro.id, got.unit.id, got.evidence))
    assert not wrong, f"{len(wrong)} variants misplaced, e.g. {wrong[:5]}"


def test_lat_lon_inside_every_micro_grid_resolves_to_it() -> None:
    policy = sample()
    for _, micro in microgrids(policy):
        assert micro.lat is not None and micro.lon is not None, micro.id
        for dlat, dlon in ((0.0, 0.0), (0.0003, 0.0002), (-0.0002, -0.0004)):  # up to ~45 m
            got = locate(policy, Location(lat=micro.lat + dlat, lon=micro.lon + dlon), "")
            assert got.unit.id == micro.id, (micro.id, dlat, dlon, got.evidence)
            assert got.evidence.startswith("lat/lon nearest")


def test_lat_lon_far_outside_the_district_falls_back_to_the_community_or_district() -> None:
    policy = sample()
    far = Location(lat=39.9, lon=116.4, community="府前社区")
    assert locate(policy, far, "").unit.id == "CM-FQ"
    assert locate(policy, Location(lat=39.9, lon=116.4), "").unit.id == "D-SX"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("府前小区 五栋", "府前5幢"),
        ("府前社区5号楼", "府前5幢"),
        ("城北新村南区５座", "城北新村南区5幢"),
        ("府前路十二号", "府前路12号"),
        ("9幢20号楼道灯", "9幢20号楼道灯"),
        ("几十号人", "几十号人"),
        ("府前社区5-2-301", "府前5幢"),
        ("城北新村南区 17—301室", "城北新村南区17幢室"),
        ("城北新村南区7#楼", "城北新村南区7幢"),
        ("府前社区第五栋", "府前5幢"),
        ("府前路12-1号", "府前路12-1号"),  # a house number's sub-number: not a building
        ("电话0598-5822-123", "电话0598-5822-123"),
        ("2026-12-08", "2026-12-08"),
    ],
)
def test_addresses_are_normalised_as_the_directory_writes_them(written: str, expected: str) -> None:
    assert normalise(written) == expected


def test_the_building_an_address_names_is_recorded_with_its_micro_grid() -> None:
    policy = sample()
    got = locate(policy, Location(address="沙县府前社区5栋", community="府前社区"), "楼道灯不亮")
    assert (got.unit.level, got.building) == ("microgrid", "5幢")
    assert "府前" in got.evidence
    whole = locate(policy, None, "洋坊新村门口垃圾没人清运")
    assert (whole.unit.id, whole.building) == ("MG-LB-01-01", None)


def test_a_building_the_directory_does_not_list_stays_with_its_community() -> None:
    policy = sample()
    got = locate(policy, Location(address="府前999栋", community="府前社区"), "楼道灯不亮")
    assert got.unit.id == "CM-FQ"


def test_a_compound_written_without_its_section_reaches_its_community() -> None:
    """城北新村 is 城北新村南区 and 城北新村北区, both of 城北社区: a building of it the
    directory does not say which section of goes to the community, not district triage."""
    policy = sample()
    got = locate(policy, Location(address="城北新村7栋"), "楼道灯不亮")
    assert (got.unit.id, got.evidence) == ("CM-CB", "address names 城北社区")
    assert locate(policy, None, "城北新村门口的路灯坏了").unit.id == "CM-CB"


def test_a_section_stem_two_communities_share_names_neither() -> None:
    names = [("金沙花园一期", "CM-A"), ("金沙花园二期", "CM-B"), ("东门新村南区", "CM-C")]
    assert _stems(names) == {"东门新村": "CM-C"}
