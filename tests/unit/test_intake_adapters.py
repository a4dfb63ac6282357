"""Every source's native payload maps to a request; a wrong payload names its native fields."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.policy import load_policy
from services.intake.adapters import ADAPTERS, AdapterError, Catalog
from services.intake.adapters.common import CHINA, parse_china_time

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "intake"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    policy = load_policy(None)
    return Catalog.of((c.code, c.name) for c in policy.categories)


def sample(source: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / f"{source}.json").read_text("utf-8"))
    return document


# What each sample must become: (external_id, category, urgent, phone, words in description).
EXPECTED: dict[str, tuple[str, str | None, bool, str, tuple[str, ...]]] = {
    "hotline-12345": (
        "SX12345-20260301-0117",
        "sewage",
        True,
        "15305980833",
        ("下水道堵了", "群众反映多次(第3次来电)"),
    ),
    "hotline-110": ("CG110-2026-001204", "construction_noise", False, "0598-5821166", ("打桩",)),
    "ehu": ("EH20260303000457", None, True, "13805987766", ("摔倒", "仁和诊所解忧屋")),
    "shopfront": ("JYW-LJWJ-20260304-002", None, False, "13605981122", ("热水器坏", "老街五金店")),
    "miniprogram": ("JYCS-2026-0305-0102", None, False, "18305980896", ("【心事】", "楼道灯")),
    "grid-patrol": ("MQZB-CB-02-06-20260306-01", None, False, "13905984433", ("低保", "廖海良")),
    "volunteer": ("SB-20260307-0033", None, True, "19205988903", ("【闪报】", "电线垂")),
}


def test_every_contract_source_has_an_adapter_and_a_sample() -> None:
    assert set(ADAPTERS) == set(EXPECTED)
    assert {p.stem for p in SAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_realistic_native_payload_becomes_the_request_it_describes(
    source: str, catalog: Catalog
) -> None:
    external_id, category, urgent, phone, words = EXPECTED[source]
    request = ADAPTERS[source].adapt(sample(source), catalog)
    assert request.external_id == external_id
    assert request.category == category
    assert request.urgent is urgent
    assert request.reporter is not None and request.reporter.phone == phone
    for word in words:
        assert word in request.description
    assert request.reported_at is not None and request.reported_at.utcoffset() is not None


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_documented_example_is_accepted(source: str, catalog: Catalog) -> None:
    adapter = ADAPTERS[source]
    assert adapter.adapt(adapter.example, catalog).external_id


def test_miniprogram_shelf_becomes_the_resolution_hint(catalog: Catalog) -> None:
    post = {**sample("miniprogram"), "货架": "爱心"}
    assert ADAPTERS["miniprogram"].adapt(post, catalog).resolution_hint == "charity"
    assert ADAPTERS["miniprogram"].adapt(sample("miniprogram"), catalog).resolution_hint == (
        "government"
    )


def test_ehu_record_relayed_by_a_help_point_names_it_and_its_contact(catalog: Catalog) -> None:
    request = ADAPTERS["ehu"].adapt(sample("ehu"), catalog)
    assert "经小巷解忧屋「仁和诊所解忧屋」转报" in request.description
    assert request.reporter is not None and request.reporter.name == "陈医生"


def test_shopfront_emergency_is_urgent_and_keeps_what_the_shop_did(catalog: Catalog) -> None:
    adapter = ADAPTERS["shopfront"]
    request = adapter.adapt(adapter.example, catalog)
    assert request.urgent is True
    assert "已拨打120" in request.description


def test_wrong_payload_names_each_native_field_in_chinese(catalog: Catalog) -> None:
    wrong = {"来电时间": "昨天晚上", "紧急程度": "很急", "来电号码": ["x"]}
    with pytest.raises(AdapterError) as caught:
        ADAPTERS["hotline-12345"].adapt(wrong, catalog)
    fields = {p.field: p.detail for p in caught.value.problems}
    assert set(fields) == {"工单编号", "诉求内容", "来电时间", "紧急程度", "来电号码"}
    assert fields["工单编号"].startswith("缺少必填字段")
    assert "'一般', '紧急' or '特急'" in fields["紧急程度"]
    assert "时间格式无法识别" in fields["来电时间"]
    assert caught.value.problems[0].pointer.startswith("#/")


def test_nested_native_field_is_named_by_its_path(catalog: Catalog) -> None:
    report = {**sample("shopfront"), "店铺": {"类型": "超市"}}
    with pytest.raises(AdapterError) as caught:
        ADAPTERS["shopfront"].adapt(report, catalog)
    assert [p.field for p in caught.value.problems] == ["店铺.名称"]
    assert caught.value.problems[0].pointer == "#/店铺/名称"


def test_not_json_and_not_an_object_are_adapter_errors(catalog: Catalog) -> None:
    with pytest.raises(AdapterError, match="不是合法的 UTF-8 JSON"):
        ADAPTERS["ehu"].adapt_bytes(b"\xff{not json", catalog)
    with pytest.raises(AdapterError, match="应为 JSON 对象"):
        ADAPTERS["ehu"].adapt_bytes(b"[1, 2]", catalog)


def test_unknown_native_fields_are_ignored(catalog: Catalog) -> None:
    payload = {**sample("volunteer"), "积分": 5, "审核状态": "已审核"}
    assert ADAPTERS["volunteer"].adapt(payload, catalog).external_id == "SB-20260307-0033"


def test_limits_hold_on_native_fields(catalog: Catalog) -> None:
    payload = {**sample("volunteer"), "照片": ["https://x/y.jpg"] * 21, "描述": "灯" * 5000}
    with pytest.raises(AdapterError) as caught:
        ADAPTERS["volunteer"].adapt(payload, catalog)
    assert {p.field for p in caught.value.problems} == {"照片", "描述"}


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-10 19:20:31",
        "2026/02/10 19:20:31",
        "2026年2月10日 19时20分31秒",
        "2026-02-10T19:20:31",
    ],
)
def test_china_times_without_offset_are_china_time(text: str) -> None:
    assert parse_china_time(text) == datetime(2026, 2, 10, 19, 20, 31, tzinfo=CHINA)


def test_epoch_milliseconds_are_understood() -> None:
    assert parse_china_time(1772850600000) == datetime(2026, 3, 7, 10, 30, tzinfo=CHINA)


def test_category_is_found_by_code_name_or_path(catalog: Catalog) -> None:
    assert catalog.code_for("streetlight") == "streetlight"
    assert catalog.code_for("路灯照明") == "streetlight"
    assert catalog.code_for("城乡建设/市政设施/路灯照明") == "streetlight"
    assert catalog.code_for("完全不相干的类型") is None
