"""Phone numbers are masked in what operators see and in logs."""

from __future__ import annotations

import logging

import pytest

from services.common.privacy import MaskPersonal, mask_phone, mask_text


def test_mobile_numbers_keep_first_three_and_last_four_digits() -> None:
    assert mask_text("请联系13905981234,谢谢") == "请联系139****1234,谢谢"
    assert mask_text("+86 13905981234") == "139****1234"


def test_landlines_keep_area_code_and_last_four_digits() -> None:
    assert mask_text("电话0598-5823317") == "电话0598-***3317"


def test_dates_ids_and_house_numbers_are_not_mistaken_for_phones() -> None:
    text = "工单SX12345-20260210-0042,城北新村南区5幢301,2026-02-10"
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13905981234", "139****1234"), ("5823317", "***3317"), ("110", "***"), (None, None)],
)
def test_a_phone_field_is_always_masked(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_log_records_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "caller %s", ("13905981234",), None)
    MaskPersonal().filter(record)
    assert record.getMessage() == "caller 139****1234"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("来电13905981234", "来电139****1234"),
        ("来电139-0598-1234", "来电139****1234"),
        ("来电139 0598 1234", "来电139****1234"),
        ("来电+86 139 0598 1234", "来电139****1234"),
        ("来电8613905981234", "来电139****1234"),
        ("来电１３９０５９８１２３４", "来电１３９****１２３４"),
        ("身份证350427199001011234", "身份证350427********1234"),
        ("身份证35042719900101123X", "身份证350427********123X"),
    ],
)
def test_every_common_writing_of_a_mobile_and_id_numbers_are_masked(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked
