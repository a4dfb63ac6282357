"""The intake's front door: clear problem documents, and never a 2xx for an unwritten event."""

from __future__ import annotations

import asyncio
import http.client
import selectors
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dispatch.broker import EmbeddedBroker, free_port
from dispatch.stack import Stack
from services.common.settings import Settings

PROBLEM = "application/problem+json"
HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}


def client(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.intake_url, timeout=30)


def test_missing_or_wrong_key_is_401_problem(stack: Stack) -> None:
    with client(stack) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = http.post(
                "/v1/requests", json={"external_id": "a", "description": "b"}, headers=headers
            )
            assert response.status_code == 401
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["status"] == 401
            assert "wrong" not in response.text


def test_invalid_body_is_422_with_one_entry_per_invalid_field(stack: Stack) -> None:
    body = {"external_id": "", "households_affected": -3, "urgent": "maybe", "extra": 1}
    with client(stack) as http:
        response = http.post("/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    pointers = sorted(e["pointer"] for e in response.json()["errors"])
    assert pointers == [
        "#/description",
        "#/external_id",
        "#/extra",
        "#/households_affected",
        "#/urgent",
    ]


def test_malformed_json_is_a_problem_not_a_500(stack: Stack) -> None:
    with client(stack) as http:
        response = http.post(
            "/v1/requests",
            content=b"{not json",
            headers={**HOTLINE, "content-type": "application/json"},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_oversized_body_is_413(stack: Stack) -> None:
    body = {"external_id": "big", "description": "灯" * 600_000}
    with client(stack) as http:
        response = http.post("/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_health_metrics_and_openapi_are_served(stack: Stack) -> None:
    body = {"external_id": f"metrics-{uuid.uuid4().hex[:8]}", "description": "路灯不亮"}
    with client(stack) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.post("/v1/requests", json=body, headers=HOTLINE).status_code == 202
        metrics = http.get("/metrics").text
        assert "dispatch_intake_accepted_total" in metrics
        # the broker's acknowledgement of that write is timed (not a histogram left at zero)
        counts = [
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("dispatch_intake_publish_seconds_count")
        ]
        assert counts and counts[0] >= 1
        document = http.get("/openapi.json").json()
    assert "/v1/requests" in document["paths"]


@pytest.fixture
def lonely_intake(tmp_path: Path) -> Iterator[tuple[Stack, EmbeddedBroker]]:
    """An intake alone on a broker of its own, which the test may stop."""
    broker = EmbeddedBroker()
    broker.start()
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        http_port=free_port(),
        console_port=free_port(),
        state_dir=tmp_path,
        partitions=1,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    stack = Stack(settings, services=("intake",))
    try:
        stack.start()
        yield stack, broker
    finally:
        stack.stop()
        broker.stop()


def test_when_kafka_cannot_take_the_event_the_answer_is_503_with_retry_after(
    lonely_intake: tuple[Stack, EmbeddedBroker],
) -> None:
    stack, broker = lonely_intake
    with client(stack) as http:
        ok = http.post(
            "/v1/requests",
            json={"external_id": "before", "description": "楼道灯坏了"},
            headers=HOTLINE,
        )
        assert ok.status_code == 202
        broker.stop()
        response = http.post(
            "/v1/requests",
            json={"external_id": "after", "description": "楼道灯坏了"},
            headers=HOTLINE,
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) > 0


def test_batch_answers_per_item_and_admits_each_request_once(stack: Stack) -> None:
    items = [
        {"external_id": "B-1", "description": "北门小区7幢楼道灯坏了"},
        {"external_id": "B-1", "description": "北门小区7幢楼道灯坏了"},
        {"external_id": "", "description": "x", "urgent": "maybe"},
        {"external_id": "B-2", "description": "长泰花园门口垃圾没人清运"},
    ]
    with client(stack) as http:
        response = http.post("/v1/requests:batch", json={"requests": items}, headers=HOTLINE)
        again = http.post("/v1/requests:batch", json={"requests": items[:1]}, headers=HOTLINE)
    assert response.status_code == 200
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["invalid"]) == (2, 1, 1)
    statuses = [(r["index"], r["status"]) for r in result["results"]]
    assert statuses == [(0, 202), (1, 200), (2, 422), (3, 202)]
    first, dup, bad, _ = result["results"]
    assert first["ticket_id"] == dup["ticket_id"]
    assert sorted(e["pointer"] for e in bad["errors"]) == [
        "#/requests/2/external_id",
        "#/requests/2/urgent",
    ]
    assert again.json()["results"][0] == {**first, "status": 200}


def test_batch_over_the_limit_is_refused_whole(stack: Stack) -> None:
    items = [{"external_id": f"L-{n}", "description": "楼道灯坏了"} for n in range(101)]
    with client(stack) as http:
        response = http.post("/v1/requests:batch", json={"requests": items}, headers=HOTLINE)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/requests"]


def test_field_lengths_are_limited(stack: Stack) -> None:
    body = {"external_id": "x" * 129, "description": "灯" * 4001, "attachments": ["u"] * 21}
    with client(stack) as http:
        response = http.post("/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 422
    assert sorted(e["pointer"] for e in response.json()["errors"]) == [
        "#/attachments",
        "#/description",
        "#/external_id",
    ]


async def test_concurrent_duplicates_get_one_202_and_the_same_ticket(stack: Stack) -> None:
    body = {"external_id": "12345-CONCURRENT-1", "description": "金城嘉园9幢楼道灯不亮"}
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.post("/v1/requests", json=body, headers=HOTLINE) for _ in range(8))
        )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert len({r.json()["ticket_id"] for r in responses}) == 1


IDLE_S = 6.0
"""Longer than httpx keeps a connection for reuse (5 s), and than uvicorn's default keep-alive."""


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the peer closes ``sock`` within ``seconds`` (checked as soon as it is readable:
    an idle HTTP connection becomes readable only by being closed)."""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as watch:
        watch.register(sock, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if watch.select(timeout=left):
                return sock.recv(1, socket.MSG_PEEK) == b""
    return False


def test_an_idle_connection_outlives_a_clients_keep_alive(stack: Stack) -> None:
    """A connection left idle for longer than httpx keeps one (5 s) still takes a request: the
    server must not be the side that closes it first (the keep-alive race gives a reset)."""
    host, port = stack.intake_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        first = connection.sock
        assert not closed_within(first, IDLE_S), "the server closed an idle connection"
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        assert connection.sock is first  # the same connection, not a new one
    finally:
        connection.close()
