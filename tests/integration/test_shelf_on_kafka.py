"""解忧超市 on the broker, through the intake's HTTP and the router: a mini-program worry goes on
the shelf, is listed (masked) by type, adopted by a helper who then works it; another, adopted
by nobody, falls back to its place when its hours on the shelf have passed. The small district
keeps worries 2 hours on the shelf; DISPATCH_SLA_SCALE makes that 3.6 s."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dispatch.stack import Stack
from tests.conftest import SMALL_POLICY
from tests.kafka import first
from tests.stacks import FAST_SCALE, bearer, operator, running, token

MINIPROGRAM = bearer("demo-miniprogram")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(
        kafka_bootstrap,
        tmp_path_factory.mktemp("shelf"),
        ("intake", "router"),
        policy=SMALL_POLICY,
        sla_scale=FAST_SCALE,
        tick_interval=0.2,
    ) as started:
        yield started


async def worry(client: httpx.AsyncClient, text: str) -> str:
    body = {"external_id": f"jy-{uuid.uuid4().hex[:8]}", "description": text,
            "reporter": {"name": "赖秀英", "phone": "13905981234"}}  # fmt: skip
    posted = await client.post("/v1/requests", json=body, headers=MINIPROGRAM)
    assert posted.status_code == 202, posted.text
    ticket: str = posted.json()["ticket_id"]
    return ticket


async def viewed(client: httpx.AsyncClient, stack: Stack, ticket: str) -> dict[str, Any]:
    got = await client.get(f"/v1/tickets/{ticket}", headers=operator(stack))
    return got.json() if got.status_code == 200 else {}


async def test_a_worry_on_the_shelf_is_adopted_by_a_helper_who_works_it(stack: Stack) -> None:
    helper = bearer(token(stack, "helper", sub="城北党员志愿者老陈"))
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=10) as client:
        ticket = await worry(
            client, "城北新村南区5幢独居老人家的水龙头坏了,13905981234,想找人帮忙修"
        )

        async def listed() -> dict[str, Any] | None:
            page = (await client.get("/v1/shelf", headers=helper)).json()
            return next((i for i in page["items"] if i["ticket_id"] == ticket), None)

        item = await first(listed, lambda: "the worry is on the shelf")
        assert "13905981234" not in item["description"] and "赖秀英" not in str(item)
        kind = item["type"]
        other = "market" if kind != "market" else "charity"
        page = (await client.get("/v1/shelf", params={"type": other}, headers=helper)).json()
        assert ticket not in [i["ticket_id"] for i in page["items"]]
        assert (
            await client.get("/v1/shelf", params={"type": "nonsense"}, headers=helper)
        ).status_code == 422
        url = f"/v1/tickets/{ticket}/updates"
        adopt = {"action": "adopt", "actor": "老陈", "note": "我会修水龙头,下午上门"}
        source = await client.post(url, json=adopt, headers=MINIPROGRAM)
        assert source.status_code == 403  # a source does not adopt
        assert (await client.post(url, json=adopt, headers=helper)).status_code == 202

        async def mine() -> dict[str, Any] | None:
            view = await viewed(client, stack, ticket)
            held = view.get("assignee") or {}
            return view if held.get("kind") == "helper" else None

        view = await first(mine, lambda: "the adoption assigns it to the helper")
        assert view["status"] == "assigned" and view["assignee"]["name"] == "城北党员志愿者老陈"
        assert await listed() is None  # off the shelf
        claim = {"action": "claim", "actor": "老陈"}
        assert (await client.post(url, json=claim, headers=helper)).status_code == 202
        again = await client.post(
            url, json=adopt, headers=bearer(token(stack, "helper", sub="另一位"))
        )
        assert again.status_code == 403  # no longer on the shelf


async def test_a_worry_nobody_adopts_falls_back_to_its_place(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=10) as client:
        ticket = await worry(client, "城北新村北区1幢楼下的长椅坏了,希望有人认领修一下")

        async def assigned() -> dict[str, Any] | None:
            view = await viewed(client, stack, ticket)
            return view if view.get("status") == "assigned" else None

        view = await first(assigned, lambda: "the worry falls back after its shelf hours")
        kinds = [e["type"] for e in view["timeline"]]
        assert kinds.index("dispatch.ticket.shelved") < kinds.index("dispatch.ticket.assigned")
        fallback = [e for e in view["timeline"] if e["type"] == "dispatch.ticket.assigned"][-1]
        assert fallback["assignee"]["id"] == "MG-CB-01-02"  # 城北新村北区1幢's micro-grid
        assert "无人认领" in fallback["summary"]
