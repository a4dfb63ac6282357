"""TLS/SASL and replication settings reach every Kafka client the services build."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from dispatch.stack import child_env
from schemas import topics
from services.common.bus import catalog_configs, kafka_security, make_consumer, make_producer
from services.common.settings import Settings
from services.router.app import state_topic_configs
from services.router.faust_kafka import credentials

SASL_ENV = {
    "DISPATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "DISPATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "DISPATCH_KAFKA_SASL_USERNAME": "router",
    "DISPATCH_KAFKA_SASL_PASSWORD": "s3cret",
}


def one_ca(tmp_path: Path) -> Path:
    """A CA file holding one real certificate (the first of certifi's bundle)."""
    bundle = Path(certifi.where()).read_text()
    end = "-----END CERTIFICATE-----"
    path = tmp_path / "ca.pem"
    path.write_text(bundle[: bundle.index(end) + len(end)] + "\n")
    return path


def test_plaintext_is_the_default_and_carries_no_credentials() -> None:
    assert kafka_security(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_with_a_ca_file_gives_scram_credentials_and_a_verifying_context(
    tmp_path: Path,
) -> None:
    ca = one_ca(tmp_path)
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="intake",
        kafka_sasl_password="pw",
        kafka_ca_file=ca,
    )
    options = kafka_security(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("intake", "pw")
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the CA file alone, not the system store


async def test_the_environment_reaches_producers_and_consumers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SASL_ENV.items():
        monkeypatch.setenv(name, value)
    producer = make_producer("127.0.0.1:1")
    consumer = make_consumer("127.0.0.1:1", "t", group="g")
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
        assert client._sasl_plain_username == "router"
        assert isinstance(client._ssl_context, ssl.SSLContext)


def test_the_routers_own_topics_are_as_durable_as_the_catalog() -> None:
    assert state_topic_configs(Settings())["cleanup.policy"] == "compact"
    durable = state_topic_configs(Settings(replication_factor=3, min_insync_replicas=2))
    assert durable["min.insync.replicas"] == "2"


def test_faust_gets_tls_alone_or_nothing_for_plaintext() -> None:
    tls = credentials_to_aiokafka_auth(
        credentials(kafka_security(Settings(kafka_security_protocol="SSL")))
    )
    assert tls["security_protocol"] == "SSL" and isinstance(tls["ssl_context"], ssl.SSLContext)
    assert credentials(kafka_security(Settings())) is None


@pytest.mark.parametrize(
    "values",
    [
        {"kafka_security_protocol": "SASL_SSL"},  # no mechanism, no user
        {"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u"},  # SASL over plaintext
        {"kafka_ca_file": "/etc/ca.pem"},  # a CA without TLS
        {"replication_factor": 1, "min_insync_replicas": 2},  # no write could succeed
    ],
)
def test_incoherent_kafka_settings_are_refused_at_start(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**values)  # type: ignore[arg-type]


def test_an_unknown_sasl_mechanism_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DISPATCH_KAFKA_SASL_MECHANISM", "GSSAPI")
    monkeypatch.setenv("DISPATCH_KAFKA_SASL_USERNAME", "u")
    with pytest.raises(ValidationError):
        Settings()


def test_the_password_reaches_child_services_but_not_the_settings_repr() -> None:
    settings = Settings(**{k.removeprefix("DISPATCH_").lower(): v for k, v in SASL_ENV.items()})
    assert "s3cret" not in repr(settings)
    env = child_env(settings, "kafka:9092")
    assert env["DISPATCH_KAFKA_SASL_PASSWORD"] == "s3cret"
    assert env["DISPATCH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"


def test_min_insync_replicas_is_added_to_every_topic_it_creates() -> None:
    plain = catalog_configs()
    durable = catalog_configs(2)
    assert set(plain) == set(durable) == {spec.name for spec in topics.CATALOG}
    for name, configs in durable.items():
        assert configs == plain[name] | {"min.insync.replicas": "2"}
    assert "min.insync.replicas" not in plain[topics.REQUESTS]
