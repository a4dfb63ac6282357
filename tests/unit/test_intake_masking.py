"""Phone numbers are masked in what operators see and in logs."""

from __future__ import annotations

import logging

import pytest

from dispatch.services.intake.masking import MaskPhones, mask_phone, mask_phones


def test_mobile_numbers_keep_first_three_and_last_four_digits() -> None:
    assert mask_phones("请联系13905981234,谢谢") == "请联系139****1234,谢谢"
    assert mask_phones("+86 13905981234") == "139****1234"


def test_landlines_keep_area_code_and_last_four_digits() -> None:
    assert mask_phones("电话0598-5823317") == "电话0598-***3317"


def test_dates_ids_and_house_numbers_are_not_mistaken_for_phones() -> None:
    text = "工单SX12345-20260210-0042,城北新村南区5幢301,2026-02-10"
    assert mask_phones(text) == text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13905981234", "139****1234"), ("5823317", "***3317"), ("110", "***"), (None, None)],
)
def test_a_phone_field_is_always_masked(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_log_records_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "caller %s", ("13905981234",), None)
    MaskPhones().filter(record)
    assert record.getMessage() == "caller 139****1234"
