"""Tickets from request to close on the real broker: every tier, refusals, repeats."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest

from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    TicketClaimed,
    TicketFeedback,
    TicketResolved,
    data_type,
)
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from tests.kafka import produce, read_until, with_type

GRID = {"Authorization": "Bearer demo-grid-patrol"}


async def post(stack: Stack, description: str, **extra: Any) -> str:
    body = {"external_id": f"life-{uuid.uuid4().hex[:8]}", "description": description, **extra}
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        response = await client.post("/v1/requests", json=body, headers=GRID)
    assert response.status_code == 202, response.text
    ticket: str = response.json()["ticket_id"]
    return ticket


def update(ticket: str, kind: type[CloudEvent], **data: Any) -> CloudEvent:
    now = datetime.now(CHINA)
    model = data_type(kind)
    return kind(  # type: ignore[call-arg]
        id=derive_id(f"{ticket}:{kind.__name__}:{uuid.uuid4()}", "update"),
        source="/dispatch/intake/grid-patrol",
        time=now,
        subject=ticket,
        causationid="urn:test",
        correlationid="urn:test",
        data=model(ticket_id=ticket, actor="赖清香", **data),
    )


async def send(stack: Stack, event: CloudEvent) -> None:
    await produce(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.updates",
        encode(event),
        key=event.subject.encode(),
        headers=HEADERS,
    )


async def decisions_until(stack: Stack, kind: str, ticket: str) -> list[dict[str, Any]]:
    records = await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: bool(with_type(rs, kind, ticket)),
    )
    return [orjson.loads(r.value) for r in with_type(records, kind, ticket)]


@pytest.mark.parametrize(
    ("description", "extra", "tier", "emergency"),
    [
        ("城北新村南区7幢楼梯灯不亮", {}, "local", False),
        ("府前9幢门口路灯坏了一排", {}, "department", False),
        ("建议在罗布社区新建农贸市场", {"households_affected": 500}, "city", False),
        (
            "楼上邻居装修噪音扰民,邻里矛盾很深",
            {"location": {"community": "城北社区"}},
            "consultation",
            False,
        ),
        ("洋坊新村有老人在家中晕倒,不省人事", {}, "city", True),
    ],
)
async def test_a_ticket_of_each_tier_goes_from_request_to_close(
    stack: Stack,
    description: str,
    extra: dict[str, Any],
    tier: str,
    emergency: bool,
) -> None:
    ticket = await post(stack, description, **extra)
    [classified] = await decisions_until(stack, "dispatch.ticket.classified", ticket)
    assert (classified["data"]["tier"], classified["data"]["emergency"]) == (tier, emergency)
    await decisions_until(stack, "dispatch.ticket.assigned", ticket)
    await send(stack, update(ticket, TicketClaimed))
    await send(stack, update(ticket, TicketResolved))
    await send(stack, update(ticket, TicketFeedback, satisfaction=5))
    [closed] = await decisions_until(stack, "dispatch.ticket.closed", ticket)
    assert closed["data"]["outcome"] == "resolved"
    assert closed["data"]["on_time"] is True
    assert closed["data"]["satisfaction"] == 5
    assert closed["policyversion"] == classified["policyversion"]


async def test_resolve_before_claim_is_dead_lettered_with_the_reason(stack: Stack) -> None:
    ticket = await post(stack, "洋坊新村3号楼下水道堵塞了")
    await decisions_until(stack, "dispatch.ticket.assigned", ticket)
    early = update(ticket, TicketResolved)
    await send(stack, early)
    records = await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.deadletter",
        lambda rs: bool(with_type(rs, "dispatch.input.rejected", ticket)),
    )
    letter = orjson.loads(with_type(records, "dispatch.input.rejected", ticket)[0].value)
    assert "resolved is not allowed" in letter["data"]["reason"]
    assert letter["data"]["origin"]["topic"].endswith("dispatch.updates")


async def test_an_update_that_overtakes_its_request_is_applied_after_it(stack: Stack) -> None:
    external_id = f"overtake-{uuid.uuid4().hex[:6]}"
    event = received_event(
        RequestIn(external_id=external_id, description="府前9幢垃圾没人清运"),
        "grid-patrol",
        datetime.now(CHINA),
    )
    ticket = event.subject
    await send(stack, update(ticket, TicketClaimed))
    await produce(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.requests",
        encode(event),
        key=ticket.encode(),
        headers=HEADERS,
    )
    await decisions_until(stack, "dispatch.ticket.assigned", ticket)
    await send(stack, update(ticket, TicketResolved))  # accepted only if the claim was applied
    await send(stack, update(ticket, TicketFeedback, satisfaction=4))
    await decisions_until(stack, "dispatch.ticket.closed", ticket)


async def test_a_repeat_report_joins_the_open_ticket_and_raises_it_a_level(stack: Stack) -> None:
    first = await post(stack, "城北新村南区6幢楼道灯不亮")
    await decisions_until(stack, "dispatch.ticket.assigned", first)
    again = await post(stack, "城北新村南区6幢的楼道灯还是坏的,多次反映")
    [merged] = await decisions_until(stack, "dispatch.ticket.closed", again)
    assert merged["data"] == {
        "ticket_id": again,
        "outcome": "merged",
        "merged_into": first,
        "on_time": None,
        "satisfaction": None,
        "reason_code": None,
    }
    [raised] = await decisions_until(stack, "dispatch.ticket.escalated", first)
    assert raised["data"]["reason"] == "repeat_report"
    assert (raised["data"]["from_level"], raised["data"]["to_level"]) == ("microgrid", "areagrid")


async def test_a_refused_update_that_overtook_its_request_is_dead_lettered_as_itself(
    stack: Stack,
) -> None:
    external_id = f"overtake-refused-{uuid.uuid4().hex[:6]}"
    event = received_event(
        RequestIn(external_id=external_id, description="洋坊新村5号楼下水道堵塞"),
        "grid-patrol",
        datetime.now(CHINA),
    )
    ticket = event.subject
    early = update(ticket, TicketResolved)  # 办结 before 签收: refused once the request is in
    await send(stack, early)
    await produce(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.requests",
        encode(event),
        key=ticket.encode(),
        headers=HEADERS,
    )
    records = await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.deadletter",
        lambda rs: bool(with_type(rs, "dispatch.input.rejected", ticket)),
    )
    letter = orjson.loads(with_type(records, "dispatch.input.rejected", ticket)[0].value)
    assert orjson.loads(base64.b64decode(letter["data"]["original"]))["id"] == early.id
    assert letter["data"]["origin"]["topic"].endswith("dispatch.updates")
