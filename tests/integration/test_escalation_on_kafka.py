"""Deadlines on the real broker, with DISPATCH_SLA_SCALE shrinking hours into seconds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest

from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.envelope import derive_id, ticket_id_for
from schemas.events import (
    TicketApproved,
    TicketClaimed,
    TicketRejected,
    TicketWhistled,
    data_type,
)
from services.common.bus import partition_of
from tests.kafka import produce, read_until, with_type
from tests.stacks import FAST_SCALE, fast

GRID = {"Authorization": "Bearer demo-grid-patrol"}
SCALE = FAST_SCALE


@pytest.fixture(scope="module")
def fast_stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fast(kafka_bootstrap, tmp_path_factory.mktemp("fast")) as started:
        yield started


async def post(stack: Stack, description: str, external_id: str | None = None) -> str:
    body = {"external_id": external_id or f"esc-{uuid.uuid4().hex[:8]}", "description": description}
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        response = await client.post("/v1/requests", json=body, headers=GRID)
    assert response.status_code == 202, response.text
    ticket: str = response.json()["ticket_id"]
    return ticket


async def first(stack: Stack, kind: str, ticket: str, reason: str | None = None) -> dict[str, Any]:
    """The first decision of ``kind`` for ``ticket`` (with that escalation reason, if given)."""

    def matching(records: list[Any]) -> list[dict[str, Any]]:
        found = [orjson.loads(r.value) for r in with_type(records, kind, ticket)]
        return [d for d in found if reason is None or d["data"].get("reason") == reason]

    records = await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: bool(matching(rs)),
    )
    return matching(records)[0]


async def send_update(stack: Stack, kind: type[Any], ticket: str, **data: Any) -> Any:
    event = kind(
        id=derive_id(f"{ticket}:{kind.__name__}", "test"),
        source="/dispatch/intake/grid-patrol",
        time=datetime.now(timezone(timedelta(hours=8))),
        subject=ticket,
        causationid="urn:test",
        correlationid="urn:test",
        data=data_type(kind)(ticket_id=ticket, actor="赖清香", **data),
    )
    await produce(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.updates",
        encode(event),
        key=ticket.encode(),
        headers=HEADERS,
    )
    return event


async def test_an_unclaimed_ticket_escalates_to_the_area_grid_after_its_claim_deadline(
    fast_stack: Stack,
) -> None:
    ticket = await post(fast_stack, "城北新村南区5幢楼道灯坏了")
    assigned = await first(fast_stack, "dispatch.ticket.assigned", ticket)
    assert assigned["data"]["level"] == "microgrid"
    moved = await first(fast_stack, "dispatch.ticket.escalated", ticket, "claim_overdue")
    assert (moved["data"]["from_level"], moved["data"]["to_level"]) == ("microgrid", "areagrid")
    assert moved["time"] >= assigned["data"]["claim_by"]
    assert moved["data"]["previous_assignee"]["id"] == assigned["data"]["assignee"]["id"]


async def test_a_claimed_ticket_does_not_escalate_for_its_claim(fast_stack: Stack) -> None:
    claimed = await post(fast_stack, "洋坊新村2号楼楼道灯坏了")
    await first(fast_stack, "dispatch.ticket.assigned", claimed)
    await send_update(fast_stack, TicketClaimed, claimed)
    # An unclaimed ticket on the same partition, posted later: once it has escalated, the
    # router has ticked past the claimed ticket's deadline too.
    partitions = fast_stack.settings.partitions
    n = 0
    while True:
        external_id = f"sentinel-{uuid.uuid4().hex[:6]}-{n}"
        if partition_of(
            ticket_id_for("grid-patrol", external_id).encode(), partitions
        ) == partition_of(claimed.encode(), partitions):
            break
        n += 1
    sentinel = await post(fast_stack, f"府前9幢{n}单元楼道灯坏了", external_id)
    await first(fast_stack, "dispatch.ticket.escalated", sentinel)
    records = await read_until(
        fast_stack.bootstrap,
        f"{fast_stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: True,
    )
    claim_escalations = [
        orjson.loads(r.value) for r in with_type(records, "dispatch.ticket.escalated", claimed)
    ]
    assert [e for e in claim_escalations if e["data"]["reason"] == "claim_overdue"] == []


async def test_a_rejected_ticket_is_reviewed_then_redispatched_at_once(fast_stack: Stack) -> None:
    """The sample district reviews every 退单: the reject asks, the approval moves it."""
    ticket = await post(fast_stack, "城北新村北区2幢楼梯灯不亮")
    await first(fast_stack, "dispatch.ticket.assigned", ticket)
    reject = await send_update(fast_stack, TicketRejected, ticket, reason_code="not_our_area")
    asked = await first(fast_stack, "dispatch.ticket.review_requested", ticket)
    assert (asked["causationid"], asked["data"]["request"]) == (reject.id, reject.id)
    approve = await send_update(fast_stack, TicketApproved, ticket, request=reject.id)
    moved = await first(fast_stack, "dispatch.ticket.escalated", ticket, "rejected")
    # decided on the approval itself, at its time: not on a later tick
    assert moved["causationid"] == approve.id
    assert datetime.fromisoformat(moved["time"]) == approve.time


async def test_a_committee_member_who_does_not_report_in_sends_the_ticket_up(
    fast_stack: Stack,
) -> None:
    """吹哨报到: the whistled member is summoned with a report deadline; unanswered, the ticket
    goes a level up with reason ``whistle``, once."""
    ticket = await post(fast_stack, "城北新村南区6幢楼道堆满杂物,物业不清理")
    assigned = await first(fast_stack, "dispatch.ticket.assigned", ticket)
    assert assigned["data"]["assignee"]["id"].startswith("MG-CB-")
    await send_update(fast_stack, TicketClaimed, ticket)
    whistle = await send_update(fast_stack, TicketWhistled, ticket, member="JZ-CB-01")
    summoned = await first(fast_stack, "dispatch.ticket.summoned", ticket)
    assert summoned["causationid"] == whistle.id
    assert summoned["data"]["member"]["id"] == "JZ-CB-01"
    moved = await first(fast_stack, "dispatch.ticket.escalated", ticket, "whistle")
    assert moved["time"] >= summoned["data"]["report_by"]
    assert (moved["data"]["from_level"], moved["data"]["to_level"]) == ("microgrid", "areagrid")
