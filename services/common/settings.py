"""Settings: environment variables with the ``DISPATCH_`` prefix (CONTRACT.md), CLI flags override.

Nothing here is read at import time: build ``Settings()`` in a composition root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # The address the intake and the console listen on: 0.0.0.0 in a container (deploy/).
    http_host: str = "127.0.0.1"
    console_port: int = 8090
    source_keys: str | None = None
    policy: Path | None = None
    sla_scale: float = Field(default=1.0, gt=0)
    notify_webhook: str | None = None
    webhook_secret: str | None = None
    # Identities (v2): the HS256 key of handlers', operators' and helpers' tokens.
    token_secret: str | None = None
    # Beyond the contract: isolation of several deployments (or tests) on one cluster.
    topic_prefix: str = ""
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # Kafka client security and durability (README, "On a real Kafka cluster").
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    min_insync_replicas: int | None = Field(default=None, ge=1)
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
    # The console (README, "Operator console"): where operators' actions go.
    intake_url: str | None = None  # the intake the console forwards actions to; unset: local

    @field_validator(
        "kafka_bootstrap",
        "source_keys",
        "notify_webhook",
        "webhook_secret",
        "text_gateway",
        "token_secret",
        "kafka_sasl_mechanism",
        "kafka_sasl_username",
        "kafka_ca_file",
        "min_insync_replicas",
        "intake_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _kafka_security_is_whole(self) -> Settings:
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_mechanism and self.kafka_sasl_username):
            raise ValueError(
                f"DISPATCH_KAFKA_SECURITY_PROTOCOL={protocol} needs DISPATCH_KAFKA_SASL_MECHANISM "
                "and DISPATCH_KAFKA_SASL_USERNAME (and DISPATCH_KAFKA_SASL_PASSWORD)"
            )
        if not sasl and self.kafka_sasl_mechanism:
            raise ValueError(
                f"DISPATCH_KAFKA_SASL_MECHANISM is set but DISPATCH_KAFKA_SECURITY_PROTOCOL is "
                f"{protocol}: use SASL_SSL (or SASL_PLAINTEXT)"
            )
        if self.kafka_ca_file and not protocol.endswith("SSL"):
            raise ValueError(
                f"DISPATCH_KAFKA_CA_FILE is set but DISPATCH_KAFKA_SECURITY_PROTOCOL is "
                f"{protocol}: use SSL or SASL_SSL"
            )
        if self.min_insync_replicas and self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"DISPATCH_MIN_INSYNC_REPLICAS={self.min_insync_replicas} exceeds "
                f"DISPATCH_REPLICATION_FACTOR={self.replication_factor}: no write could succeed"
            )
        return self

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
