"""Settings: environment variables with the ``DISPATCH_`` prefix (CONTRACT.md), CLI flags override.

Nothing here is read at import time: build ``Settings()`` in a composition root.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SOURCES = (
    "hotline-12345",
    "hotline-110",
    "ehu",
    "shopfront",
    "miniprogram",
    "grid-patrol",
    "volunteer",
)


class SourceKeysError(ValueError):
    """``DISPATCH_SOURCE_KEYS`` is not of the form ``source=key,source=key``."""


def parse_source_keys(text: str) -> dict[str, str]:
    """``"ehu=k1,shopfront=k2"`` → ``{"ehu": "k1", "shopfront": "k2"}``."""
    keys: dict[str, str] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        source, sep, key = item.partition("=")
        source, key = source.strip(), key.strip()
        if not sep or not source or not key:
            raise SourceKeysError(f"expected source=key, got {item.split('=')[0]!r}=…")
        if source not in SOURCES:
            raise SourceKeysError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
        keys[source] = key
    return keys


def demo_source_keys() -> dict[str, str]:
    """The well-known demo keys, used only when ``DISPATCH_SOURCE_KEYS`` is unset."""
    return {source: f"demo-{source}" for source in SOURCES}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    kafka_bootstrap: str | None = None
    http_port: int = 8080
    console_port: int = 8090
    source_keys: str | None = None
    policy: Path | None = None
    sla_scale: float = Field(default=1.0, gt=0)
    notify_webhook: str | None = None
    webhook_secret: str | None = None
    # Beyond the contract: isolation of several deployments (or tests) on one cluster.
    topic_prefix: str = ""
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    state_dir: Path = Path(".dispatch-state")
    tick_interval: float = Field(default=0.5, gt=0, description="seconds between clock ticks")
    log_level: str = "INFO"
    # The notifier (README, "Notifications").
    text_gateway: str | None = None
    notify_tries: int = Field(default=5, ge=1)
    notify_backoff_s: float = Field(default=1.0, ge=0)
    notify_backoff_max_s: float = Field(default=60.0, ge=0)
    notify_timeout_s: float = Field(default=10.0, gt=0)
    notify_rate_per_minute: float = Field(default=10.0, gt=0)
    notify_rate_burst: int = Field(default=5, ge=1)
    notify_commit_interval_s: float = Field(default=1.0, gt=0)
    notify_max_in_flight: int = Field(default=1000, ge=1)
    # The console (README, "Operator console"): people's tokens, and where operators' actions go.
    token_secret: str | None = None  # HS256 key of sign-in tokens (CONTRACT: DISPATCH_TOKEN_SECRET)
    intake_url: str | None = None  # the intake the console forwards actions to; unset: local
    console_intake_key: str | None = None  # transitional: see services/console/actions.py

    @field_validator(
        "kafka_bootstrap",
        "source_keys",
        "notify_webhook",
        "webhook_secret",
        "text_gateway",
        "token_secret",
        "intake_url",
        "console_intake_key",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    def keys_by_source(self) -> dict[str, str]:
        if self.source_keys is None:
            return demo_source_keys()
        return parse_source_keys(self.source_keys)

    @property
    def intake_base(self) -> str:
        """The intake's base URL: ``DISPATCH_INTAKE_URL``, else this machine's intake port."""
        return (self.intake_url or f"http://127.0.0.1:{self.http_port}").rstrip("/")

    @property
    def uses_demo_keys(self) -> bool:
        return self.source_keys is None
