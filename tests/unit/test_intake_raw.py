"""What the raw consumer makes of a record: a request, or a reason a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

from services.intake.adapters import Catalog
from services.intake.raw import Refusal, interpret

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "intake"
CATALOG = Catalog.of([("sewage", "排水管网")])
HOTLINE = [("dispatch-source", b"hotline-12345")]


def test_a_native_record_with_its_source_header_becomes_a_request() -> None:
    value = (SAMPLES / "hotline-12345.json").read_bytes()
    verdict = interpret(value, HOTLINE, CATALOG)
    assert not isinstance(verdict, Refusal)
    source, request = verdict
    assert source == "hotline-12345" and request.category == "sewage"


def test_missing_or_unknown_source_header_says_which_sources_exist() -> None:
    missing = interpret(b"{}", [], CATALOG)
    assert isinstance(missing, Refusal) and "dispatch-source" in missing.reason
    unknown = interpret(b"{}", [("dispatch-source", b"wechat")], CATALOG)
    assert isinstance(unknown, Refusal)
    assert "'wechat'" in unknown.reason and "hotline-12345" in unknown.reason


def test_malformed_bytes_and_wrong_shape_name_the_problem() -> None:
    broken = interpret(b"\x00\x01 not json", HOTLINE, CATALOG)
    assert isinstance(broken, Refusal) and "不是合法的 UTF-8 JSON" in broken.reason
    shaped = interpret(json.dumps({"id": 7, "text": "路灯坏了"}).encode(), HOTLINE, CATALOG)
    assert isinstance(shaped, Refusal)
    assert "工单编号: 缺少必填字段" in shaped.reason
    assert "诉求内容: 缺少必填字段 (Field required)" in shaped.errors


def test_an_empty_record_is_refused() -> None:
    empty = interpret(None, HOTLINE, CATALOG)
    assert isinstance(empty, Refusal) and "为空" in empty.reason
