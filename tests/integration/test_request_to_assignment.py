"""One request end to end on the real broker: intake → dispatch.requests → router →
dispatch.decisions, read back with the official CloudEvents SDK."""

from __future__ import annotations

import uuid

import httpx
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat

from dispatch.stack import Stack
from tests.kafka import Record, eventually, read_until, with_type
from tests.stacks import operator

HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}


def sdk_event(record: Record):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in record.headers}
    return from_kafka(
        KafkaMessage(headers=headers, key=record.key, value=record.value), JSONFormat()
    )


async def post(stack: Stack, body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        return await client.post("/v1/requests", json=body, headers=HOTLINE)


async def test_posted_request_is_received_then_assigned_as_cloudevents(stack: Stack) -> None:
    external_id = f"12345-{uuid.uuid4().hex[:8]}"
    response = await post(
        stack,
        {
            "external_id": external_id,
            "description": "城北新村南区5幢没有路灯,晚上回家不安全",
            "location": {"address": "沙县城北新村南区5幢", "community": "城北社区"},
        },
    )
    assert response.status_code == 202
    ticket_id = response.json()["ticket_id"]
    names = stack.settings.topic_prefix

    requests = await read_until(
        stack.bootstrap,
        f"{names}dispatch.requests",
        lambda rs: bool(with_type(rs, "dispatch.request.received", ticket_id)),
    )
    [record] = with_type(requests, "dispatch.request.received", ticket_id)
    assert record.key == ticket_id.encode()
    assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
    received = sdk_event(record)
    assert received.get_type() == "dispatch.request.received"
    assert received.get_subject() == ticket_id
    attributes = received.get_attributes()
    assert attributes["causationid"] and attributes["correlationid"]
    assert attributes["datacontenttype"] == "application/json"
    assert received.get_data()["description"] == "城北新村南区5幢没有路灯,晚上回家不安全"

    decisions = await read_until(
        stack.bootstrap,
        f"{names}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", ticket_id)),
    )
    [assigned_record] = with_type(decisions, "dispatch.ticket.assigned", ticket_id)
    assigned = sdk_event(assigned_record)
    attributes = assigned.get_attributes()
    assert attributes["causationid"] == received.get_id()
    assert attributes["correlationid"] == received.get_attributes()["correlationid"]
    assert attributes["policyversion"].startswith("shaxian-sample@")
    data = assigned.get_data()
    assert data["ticket_id"] == ticket_id
    assert data["tier"] == "department"
    assert data["level"] in {"district", "street"}
    assert set(data["assignee"]) >= {"id", "kind", "name"}
    assert data["claim_by"] < data["resolve_by"]
    assert data["attempt"] == 1
    assert with_type(decisions, "dispatch.ticket.classified", ticket_id)


async def test_the_same_request_again_answers_200_with_the_same_ticket(stack: Stack) -> None:
    body = {"external_id": f"dup-{uuid.uuid4().hex[:8]}", "description": "楼道灯坏了"}
    first = await post(stack, body)
    second = await post(stack, body)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json()


async def test_console_counts_what_was_assigned(stack: Stack) -> None:
    response = await post(
        stack,
        {
            "external_id": f"kpi-{uuid.uuid4().hex[:8]}",
            "description": "超市门口一位路人晕倒,不省人事",
        },
    )
    ticket_id = response.json()["ticket_id"]
    await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", ticket_id)),
    )
    # the console's APIs are an operator's
    async with httpx.AsyncClient(
        base_url=stack.console_url, timeout=5, headers=operator(stack)
    ) as client:

        async def counted() -> bool:
            kpis = (await client.get("/api/kpis")).json()
            return bool(kpis["emergencies"] >= 1 and kpis["assigned"] >= 1)

        await eventually(counted, "the console counts the emergency")
        page = await client.get("/")
        assert page.status_code == 200 and "接诉即办" in page.text
