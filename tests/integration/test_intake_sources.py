"""Every source's realistic native payload, over HTTP and through ``dispatch.intake.raw`` on
the real broker, becomes the ``dispatch.request.received`` it describes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dispatch.stack import Stack
from schemas import topics
from schemas.envelope import ticket_id_for
from services.common.settings import SOURCES
from tests.kafka import produce, read_until, with_type
from tests.stacks import running

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "intake"
RECEIVED = "dispatch.request.received"


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(kafka_bootstrap, tmp_path_factory.mktemp("intake"), ("intake",)) as started:
        yield started


def sample(source: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / f"{source}.json").read_text("utf-8"))
    return document


def id_field(document: dict[str, Any]) -> str:
    """The native id field: the first field of every sample."""
    return next(iter(document))


async def received(stack: Stack, ticket_id: str) -> dict[str, Any]:
    topic = f"{stack.settings.topic_prefix}{topics.REQUESTS}"
    records = await read_until(
        stack.bootstrap, topic, lambda rs: bool(with_type(rs, RECEIVED, ticket_id))
    )
    [record] = with_type(records, RECEIVED, ticket_id)
    assert record.key == ticket_id.encode()
    event: dict[str, Any] = orjson.loads(record.value)
    return event


@pytest.mark.parametrize("source", SOURCES)
async def test_native_payload_over_http_becomes_a_received_event(
    intake: Stack, source: str
) -> None:
    document = sample(source)
    async with httpx.AsyncClient(base_url=intake.intake_url, timeout=30) as http:
        response = await http.post(
            "/v1/native", json=document, headers={"Authorization": f"Bearer demo-{source}"}
        )
    assert response.status_code == 202, response.text
    ticket_id = response.json()["ticket_id"]
    assert ticket_id == ticket_id_for(source, document[id_field(document)])
    event = await received(intake, ticket_id)
    data = event["data"]
    assert data["source"] == source and data["channel"] == "http"
    assert data["external_id"] == document[id_field(document)]
    assert data["reporter"]["phone"]  # the event keeps the number for the call-back
    assert data["reported_at"].startswith("2026-03-0")


@pytest.mark.parametrize("source", SOURCES)
async def test_native_payload_on_the_raw_topic_becomes_a_received_event(
    intake: Stack, source: str
) -> None:
    document = sample(source)
    key = id_field(document)
    document[key] = f"{document[key]}-K"
    await produce(
        intake.bootstrap,
        f"{intake.settings.topic_prefix}{topics.INTAKE_RAW}",
        json.dumps(document, ensure_ascii=False).encode(),
        key=document[key].encode(),
        headers=[("dispatch-source", source.encode())],
    )
    event = await received(intake, ticket_id_for(source, document[key]))
    assert event["data"]["channel"] == "kafka"
    assert event["data"]["source"] == source
    assert event["source"] == f"/dispatch/intake/{source}"


async def test_a_wrong_native_payload_is_a_422_naming_the_native_fields(intake: Stack) -> None:
    wrong = {**sample("hotline-12345"), "紧急程度": "十万火急"}
    del wrong["诉求内容"]
    async with httpx.AsyncClient(base_url=intake.intake_url, timeout=30) as http:
        response = await http.post(
            "/v1/native", json=wrong, headers={"Authorization": "Bearer demo-hotline-12345"}
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {e["pointer"] for e in problem["errors"]} == {"#/诉求内容", "#/紧急程度"}
    assert "诉求内容: 缺少必填字段" in problem["detail"]
