"""Settings from DISPATCH_* variables (CONTRACT.md)."""

from __future__ import annotations

import pytest

from services.common.settings import Settings, SourceKeysError, parse_source_keys


def test_source_keys_parse_into_a_mapping() -> None:
    assert parse_source_keys("ehu=k1, shopfront=k2") == {"ehu": "k1", "shopfront": "k2"}


@pytest.mark.parametrize("text", ["ehu", "ehu=", "=k", "nosuch=k"])
def test_malformed_source_keys_are_refused_without_echoing_the_key(text: str) -> None:
    with pytest.raises(SourceKeysError) as caught:
        parse_source_keys(text)
    assert "k1" not in str(caught.value)


def test_demo_keys_are_used_only_when_no_keys_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().uses_demo_keys
    assert Settings().keys_by_source()["hotline-12345"] == "demo-hotline-12345"
    monkeypatch.setenv("DISPATCH_SOURCE_KEYS", "ehu=secret")
    configured = Settings()
    assert not configured.uses_demo_keys
    assert configured.keys_by_source() == {"ehu": "secret"}


def test_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.kafka_bootstrap is None
    assert (settings.http_port, settings.console_port, settings.sla_scale) == (8080, 8090, 1.0)
    monkeypatch.setenv("DISPATCH_SLA_SCALE", "0.001")
    assert Settings().sla_scale == 0.001
