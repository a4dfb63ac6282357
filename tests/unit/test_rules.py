"""Classification rules: how words are counted, how tiers are decided and recorded, and when a
request is a life-safety emergency: the mechanisms on a small policy written here, the
judgement on the bundled sample district's lexicon."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.policy import Lexicon, Policy, load_policy, parse_policy
from services.router.kernel.lifesafety import life_safety
from services.router.kernel.rules import (
    Classification,
    Facts,
    classify,
    households_in,
    scan,
    score_categories,
    words_of,
)
from services.router.kernel.wording import Span, Vocabulary, find, inside, outermost
from tests.conftest import SMALL_POLICY

BENCH_DATA = Path(__file__).parents[2] / "dispatch" / "bench" / "data"

# ---------------------------------------------------------------- a policy per test


def small(**changes: Any) -> Policy:
    """The small test district with some top-level sections replaced."""
    document = yaml.safe_load(SMALL_POLICY.read_text(encoding="utf-8"))
    document.update(changes)
    return parse_policy(yaml.safe_dump(document, allow_unicode=True).encode())


def category(code: str, tier: str, keywords: str, department: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"code": code, "name": code, "tier": tier, "resolution": "government"}
    if department:
        found["department"] = department
    return {**found, "keywords": keywords.split()}


OTHER = category("other", "local", "")
PEOPLE = "老人 孩子 工人 有人"
LIFE_SAFETY_RULE = {
    "id": "life-safety",
    "when": {"lexicon": "emergency"},
    "then": {"emergency": True},
}
SAFETY = {
    "emergency": ["着火", "中风"],
    "acute": ["叫不醒"],
    "patterns": [
        {"id": "person-critical", "groups": [PEOPLE.split(), ["倒地", "不动了", "一动不动"]]},
        {"id": "person-trapped", "groups": [PEOPLE.split(), ["锁在车里"]], "ordered": True},
    ],
    "live": ["现在", "开始"],
    "past": ["昨天", "两年前", "年了"],
    "resolved": ["已扑灭", "送到医院了"],
    "hypothetical": ["万一", "动不动"],
    "inquiry": ["申请", "想问"],
    "urgency": ["快来"],
}


@cache
def safety_policy() -> Policy:
    return small(lexicon=SAFETY, rules=[LIFE_SAFETY_RULE])


def emergency(text: str, policy: Policy | None = None) -> Classification:
    return classify(Facts(description=text), policy or safety_policy())


@cache
def bundled() -> Policy:
    return load_policy(None)


# ---------------------------------------------------------------- counting words


def test_nested_keywords_count_once() -> None:
    policy = small(categories=[category("elevator", "department", "电梯 电梯困人"), OTHER])
    [scored] = score_categories(scan("电梯困人了", policy), policy)
    assert scored.words == ("电梯困人",)
    assert scored.score == len("电梯困人")


def test_a_keyword_inside_a_longer_keyword_of_another_category_does_not_count() -> None:
    policy = small(
        categories=[
            category("garbage", "local", "垃圾"),
            category("construction_waste", "department", "建筑垃圾"),
            OTHER,
        ]
    )
    assert [s.category.code for s in score_categories(scan("建筑垃圾乱倒", policy), policy)] == [
        "construction_waste"
    ]


def test_ties_between_categories_do_not_depend_on_policy_order() -> None:
    cats = [category("streetlight", "department", "路灯"), category("power", "department", "电线")]
    text = "路灯的电线坏了"
    forward = classify(Facts(description=text), small(categories=[*cats, OTHER]))
    backward = classify(Facts(description=text), small(categories=[*reversed(cats), OTHER]))
    assert forward.category.code == backward.category.code == "power"  # the one mentioned last


def test_an_incidental_keyword_does_not_bring_in_another_department() -> None:
    cats = [
        category("sewage", "department", "污水管 堵塞 化粪池", "DEP-SW"),
        category("power", "department", "电线", "DEP-GD"),
        category("streetlight", "department", "路灯", "DEP-CG"),
        OTHER,
    ]
    rules = [
        {
            "id": "multi-department",
            "when": {"departments_at_least": 3},
            "then": {"raise_to": "city"},
        }
    ]
    lexicon = {"related_share": 0.5, "related_min": 3}
    got = classify(
        Facts(description="污水管堵塞,化粪池满了,旁边路灯下的电线也乱"),
        small(categories=cats, rules=rules, lexicon=lexicon),
    )
    assert got.departments == ("DEP-SW",)
    assert got.tier == "department"


def test_a_category_scoring_close_to_the_best_counts_as_involved() -> None:
    cats = [
        category("sewage", "department", "污水管堵塞", "DEP-SW"),
        category("power", "department", "电线断了", "DEP-GD"),
        OTHER,
    ]
    policy = small(categories=cats, lexicon={"related_share": 0.5, "related_min": 3})
    got = classify(Facts(description="污水管堵塞,电线断了"), policy)
    assert got.departments == ("DEP-GD", "DEP-SW")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("影响三百多户居民", 300),
        ("周边两千多户停电", 2000),
        ("十几户", 12),
        ("几十户人家", 20),
        ("上百户", 100),
        ("1200户", 1200),
        ("一百二十户", 120),
        ("三万户", 30000),
    ],
)
def test_household_counts_are_read_from_the_text(text: str, count: int) -> None:
    found = households_in(text)
    assert found is not None and found[0] == count


def test_a_residence_registration_is_not_a_household_count() -> None:
    assert households_in("户口不在这个学区") is None


def test_households_stated_in_the_text_raise_the_tier_with_the_phrase_as_evidence() -> None:
    got = classify(Facts(description="楼道灯坏了,影响三十多户"), small())
    assert (got.tier, got.rule) == ("department", "some-households")
    assert "households_affected=30(三十多户)" in got.evidence


# ---------------------------------------------------------------- deciding and recording


def test_an_emergency_keeps_its_rule_and_tier_when_a_later_rule_also_matches() -> None:
    got = classify(Facts(description="老人晕倒了,两家还有矛盾"), small())
    assert got.emergency is True
    assert got.rule == "life-safety"  # dispute-consultation comes later in this policy
    assert got.tier == "city"  # medical_emergency's tier, not consultation
    assert "晕倒" in got.evidence and "矛盾" not in got.evidence


def test_the_evidence_is_the_deciding_rules_not_an_overridden_ones() -> None:
    rules = [
        {"id": "wide", "when": {"keywords_any": ["整栋楼"]}, "then": {"raise_to": "department"}},
        {"id": "dispute", "when": {"lexicon": "dispute"}, "then": {"tier": "consultation"}},
    ]
    got = classify(Facts(description="整栋楼的楼道灯坏了,邻里有矛盾"), small(rules=rules))
    assert (got.tier, got.rule) == ("consultation", "dispute")
    assert "矛盾" in got.evidence and "整栋楼" not in got.evidence


def test_a_policy_without_the_new_lexicon_fields_still_validates() -> None:
    policy = load_policy(SMALL_POLICY)
    assert policy.lexicon.patterns == () and policy.lexicon.past == ()
    assert Lexicon().related_share == 0.5


# ---------------------------------------------------------------- life safety: the mechanisms


def test_a_person_word_and_a_critical_state_together_are_an_emergency() -> None:
    got = emergency("工地上有个工人倒地了")
    assert got.emergency is True
    assert "person-critical:工人+倒地" in got.evidence


def test_a_critical_state_without_a_person_is_not_an_emergency() -> None:
    assert emergency("电梯又不动了,物业也不管").emergency is False


def test_an_ordered_pattern_needs_its_words_in_order() -> None:
    assert emergency("孩子被锁在车里了").emergency is True
    assert emergency("钥匙锁在车里了,找个开锁的有人吗").emergency is False


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("昨天楼下着火了,想问以后怎么防范", "昨天"),  # past
        ("我妈中风两年了,想申请护理补贴", "年了"),  # past, after the word in its clause
        ("厨房着火了,已扑灭", "已扑灭"),  # resolved after
        ("万一着火了怎么办", "万一"),  # hypothetical clause
        ("我妈中风了,想申请低保", "申请"),  # an inquiry
    ],
)
def test_a_signal_that_is_over_or_not_happening_is_defused_and_says_why(
    text: str, why: str
) -> None:
    got = emergency(text)
    assert got.emergency is False
    assert any(note.startswith("defused:") and note.endswith(f"/{why}") for note in got.evidence)


def test_a_live_time_word_after_a_past_one_keeps_the_signal_live() -> None:
    assert emergency("昨天还好好的,现在老人叫不醒").emergency is True
    assert emergency("从昨天开始老人一动不动").emergency is True


def test_a_resolution_before_the_signal_does_not_defuse_it() -> None:
    assert emergency("火已扑灭,又着火了").emergency is True


def test_a_hypothetical_word_defuses_only_its_own_clause() -> None:
    assert emergency("万一出事怎么办,现在厨房着火了").emergency is True


def test_an_inquiry_does_not_defuse_an_acute_state_or_an_urgent_call() -> None:
    assert emergency("老人叫不醒,想问怎么办").emergency is True
    assert emergency("我妈中风了,快来,想问医院在哪").emergency is True
    assert emergency("我妈中风了,想问医院在哪").emergency is False


def test_an_upstream_urgent_flag_counts_as_an_urgent_call() -> None:
    urgent = classify(Facts(description="我妈中风了,想问医院在哪", urgent=True), safety_policy())
    assert urgent.emergency is True


def test_a_cue_inside_a_longer_signal_word_is_not_a_cue() -> None:
    got = emergency("老人一动不动")  # 动不动 ("at every turn") is hypothetical, but not here
    assert got.emergency is True


# ---------------------------------------------------------------- the wording primitives


def test_outermost_keeps_exactly_the_spans_inside_no_longer_one() -> None:
    rng = random.Random(20230410)
    for _ in range(2000):
        spans = []
        for _ in range(rng.randint(0, 10)):
            start = rng.randint(0, 12)
            length = rng.randint(1, 5)
            spans.append(Span(start, start + length, "x" * length))
        assert outermost(spans) == [s for s in spans if not inside(s, spans)]


def test_one_scan_finds_what_a_direct_search_finds_for_every_list() -> None:
    policy = bundled()
    lists = [c.keywords for c in policy.categories] + [policy.lexicon.emergency]
    vocabulary = Vocabulary(lists)
    for text in ("电梯困人,老人晕倒在电梯里", "楼道灯坏了,楼道里黑", "没有"):
        scanned = vocabulary.scan(text)
        for words in lists:
            assert scanned.find(words) == find(text, words)
    assert vocabulary.scan("晕倒").find(("晕倒", "新词")) == [Span(0, 2, "晕倒")]  # not indexed


def test_only_the_patterns_the_scan_rules_out_are_skipped() -> None:
    """Life safety tries only the patterns with a word of every group in the text: on every
    request of the bench's three sets (blind one included: the outcome, not a tuning) it finds
    what trying every pattern finds, and most texts leave most patterns out."""
    policy = bundled()
    words = words_of(policy)
    texts = [
        item["text"]
        for name in ("labelled", "heldout", "blind")
        for item in yaml.safe_load(
            (BENCH_DATA / f"{name}_requests.yaml").read_text(encoding="utf-8")
        )["requests"]
    ]
    tried = 0
    for text in texts:
        scanned = scan(text, policy)
        candidates = words.patterns_in(scanned)
        tried += len(candidates)
        for urgent in (False, True):
            every = life_safety(scanned, policy.lexicon, urgent)
            assert life_safety(scanned, policy.lexicon, urgent, candidates) == every, text
    assert len(texts) > 400
    assert tried < len(texts) * len(policy.lexicon.patterns) / 4


def test_an_equal_copy_of_an_indexed_list_is_found_in_the_index() -> None:
    """One policy version read twice (the router's copy, the one on dispatch.policies) is two
    objects: the copy's lists are the index's own by content, not a list to search apart."""
    policy = bundled()
    copy = Policy.model_validate(policy.model_dump())
    vocabulary = Vocabulary([c.keywords for c in policy.categories] + [policy.lexicon.emergency])
    emergency = vocabulary.key(policy.lexicon.emergency)
    assert copy.lexicon.emergency is not policy.lexicon.emergency
    assert emergency is not None and vocabulary.key(copy.lexicon.emergency) == emergency
    assert vocabulary.key(copy.lexicon.emergency) == emergency  # the second time, by its id
    scanned = vocabulary.scan("老人晕倒了")
    assert scanned.find(copy.lexicon.emergency) is scanned.hits()[emergency]
    assert vocabulary.key(("晕倒", "新词")) is None


# ---------------------------------------------------------------- the sample district's judgement


@pytest.mark.parametrize(
    "text",
    [
        "公园门口有个大爷躺在地上一动不动",
        "一个工人碰到了电线,倒在地上没反应了",
        "河边有个孩子掉进水里,一直没浮上来",
        "出租屋里烧炭取暖,两个人头晕恶心站不起来",
        "楼下一股很浓的煤气味,好像是哪家在漏气",
        "对面楼的阳台在冒黑烟,里面有人在喊",
        "两个人打架,一个被捅了一刀,地上都是血",
        "隔壁独居的老太太好几天没出门了,敲门也没人应",
        "电梯卡在两层中间,里面的老人说胸口疼",
        "有个女的站在桥边上哭,说不想活了",
        "孩子误喝了半瓶消毒液,现在一直吐",
        "患老年痴呆的父亲早上出门到现在还没回来",
    ],
)
def test_a_life_safety_emergency_is_flagged_with_its_reason(text: str) -> None:
    got = classify(Facts(description=text), bundled())
    assert got.emergency is True, got.evidence
    assert got.rule == "life-safety"
    assert got.evidence and not got.evidence[0].startswith("defused:")


def test_a_person_lying_motionless_is_an_emergency() -> None:
    assert classify(Facts(description="路边有个人倒在地上一动不动"), bundled()).emergency


def test_a_fire_already_put_out_is_not_an_emergency() -> None:
    got = classify(Facts(description="垃圾站起火了,已经扑灭了,没人受伤"), bundled())
    assert got.emergency is False
    assert "defused:起火/已经扑灭" in got.evidence


def test_a_subsistence_request_for_a_stroke_years_ago_is_not_an_emergency() -> None:
    got = classify(Facts(description="我母亲两年前中风,现在瘫痪在床,想申请低保"), bundled())
    assert (got.emergency, got.category.code, got.tier) == (False, "subsistence", "department")


@pytest.mark.parametrize(
    "text",
    [
        "上周小区车棚着过一次火,希望装个喷淋",
        "楼道里电动车充电,万一着火了怎么办",
        "社区能不能组织急救培训,教大家遇到老人晕倒怎么办",
        "燃气灶打不着火,想找人修一下",
        "电梯又不动了,打物业电话也没反应",
        "孩子的学籍一直转不过来,学校说找不到了",
        "我爸心梗做了支架,已经出院了,想问医保能报多少",
        "小区池塘边没有护栏,担心会有小孩掉进去",
    ],
)
def test_a_look_alike_is_not_an_emergency(text: str) -> None:
    got = classify(Facts(description=text), bundled())
    assert got.emergency is False, got.evidence


def test_an_accident_that_is_over_goes_to_a_department_not_the_city() -> None:
    got = classify(Facts(description="上个月有人被困在电梯里,物业到现在还没修"), bundled())
    assert (got.emergency, got.tier) == (False, "department")


def _sample(text: str) -> Any:
    from services.router.kernel.rules import Facts, classify

    return classify(Facts(text), load_policy(None))


def test_a_pronoun_is_a_person_only_right_before_a_critical_state() -> None:
    assert _sample("他倒在地上了,快来人").emergency
    got = _sample("她说她家楼道灯坏了一个礼拜,她晚上只好摸黑,站不起来的是那盏灯的开关")
    assert (got.emergency, got.tier) == (False, "local")


def test_late_at_night_is_not_a_neighbour_dispute_by_itself() -> None:
    got = _sample("半夜回家,巷子里黑灯瞎火,路灯坏了")
    assert (got.category.code, got.tier) == ("streetlight", "department")


def test_building_one_thing_is_not_a_city_project_by_itself() -> None:
    got = _sample("顶楼住户违章搭建,在楼顶建一个玻璃房")
    assert got.tier != "city"
    assert _sample("建议在这片空地建一个农贸市场").tier == "city"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("老人在家摔倒爬不起来,电话里说话含糊", "medical_emergency"),
        ("河边有个小孩掉水里了", "accident_rescue"),
        ("我爸有老年痴呆,早上出门到现在还没回来", "family_search"),
    ],
)
def test_a_danger_no_keyword_categorises_takes_the_category_its_pattern_names(
    text: str, category: str
) -> None:
    got = classify(Facts(description=text), bundled())
    assert (got.emergency, got.category.code) == (True, category), got.evidence
    assert got.department == bundled().category_by_code[category].department


def test_a_keyword_category_is_kept_when_a_pattern_also_finds_a_danger() -> None:
    got = classify(Facts(description="电梯卡在两层中间,里面的老人说胸口疼"), bundled())
    assert (got.emergency, got.category.code) == (True, "elevator")


def test_a_worry_is_not_a_danger_now() -> None:
    got = classify(Facts(description="邻居在楼道里堆放电动车充电,担心起火"), bundled())
    assert (got.emergency, got.tier, got.category.code) == (False, "department", "fire_safety")
    assert "defused:起火/担心" in got.evidence


def test_a_pattern_naming_an_unknown_category_is_refused() -> None:
    document = yaml.safe_load(SMALL_POLICY.read_text(encoding="utf-8"))
    pattern = {"id": "p", "groups": [["老人"], ["倒地"]], "category": "no_such_category"}
    document["lexicon"]["patterns"] = [pattern]
    with pytest.raises(ValueError, match="pattern p: unknown category"):
        parse_policy(yaml.safe_dump(document, allow_unicode=True).encode())


def test_of_two_categories_named_alike_an_emergency_takes_the_one_its_danger_is_about() -> None:
    """煤气味 (gas) and 敲门没人应 (an elder not answering) score alike; 煤气味 is the live
    danger, so the request is the gas's, with the elder's category still counted as involved."""
    got = classify(Facts(description="我家楼下有股很浓的煤气味,邻居家敲门没人应"), bundled())
    assert (got.emergency, got.category.code) == (True, "gas")
    quiet = classify(Facts(description="燃气表的读数不对,邻居家敲门也没人应"), bundled())
    assert quiet.emergency is False  # no danger: the usual tie-break decides
