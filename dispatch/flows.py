"""The demo's second act: the seeds' own systems played live on the scenario's tickets, each
step through the intake's HTTP with the credential the permission table asks for, each
outcome read back from the ticket (decided by the router):

- 解忧超市: a helper adopts (认领) a worry from the shelf;
- 五闪: a volunteer's 随手拍 is claimed, resolved and rated, and earns points (the ranking);
- 近邻恳谈会: the convener schedules a meeting and holds it; no agreement, it is handed over;
- 吹哨报到: a community whistles in its property manager (兼职委员), who reports in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console

from dispatch.stack import Stack
from schemas.policy import Policy
from schemas.policy.grid import grid_of
from services.common.identity import Role, mint

WAIT_S = 30.0


class FlowError(RuntimeError):
    """A step of a flow was refused, or its outcome did not come."""


@dataclass(frozen=True)
class Placed:
    """A scenario ticket as the first act left it."""

    ticket_id: str
    source: str
    assignee_id: str  # "" when it is on the shelf
    description: str


class Player:
    def __init__(self, stack: Stack, client: httpx.AsyncClient, console: Console) -> None:
        self.stack = stack
        self.client = client
        self.console = console
        self.keys = stack.settings.keys_by_source()

    def token(self, role: Role, sub: str, unit: str | None = None) -> dict[str, str]:
        secret = self.stack.settings.token_secret
        assert secret is not None, "the stack makes its token secret when it starts"
        made = mint(secret, role, sub, unit, timedelta(hours=1), datetime.now(UTC))
        return {"Authorization": f"Bearer {made}"}

    def source(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    async def act(self, ticket: str, body: dict[str, Any], who: dict[str, str]) -> None:
        answer = await self.client.post(f"/v1/tickets/{ticket}/updates", json=body, headers=who)
        if answer.status_code != 202:
            raise FlowError(f"{body['action']} on {ticket}: {answer.status_code} {answer.text}")

    async def until(
        self, ticket: str, holds: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        operator = self.token("operator", "demo-operator")
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while True:
            got = await self.client.get(f"/v1/tickets/{ticket}", headers=operator)
            view: dict[str, Any] = got.json() if got.status_code == 200 else {}
            if view and holds(view):
                return view
            if asyncio.get_running_loop().time() > deadline:
                raise FlowError(f"{ticket}: {what} did not happen within {WAIT_S:.0f}s")
            await asyncio.sleep(0.2)

    def say(self, flow: str, text: str) -> None:
        self.console.print(f"[bold cyan]{flow}[/bold cyan] {text}")


def _has(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda view: any(e["type"] == kind and not e.get("refused") for e in view["timeline"])


async def shelf(p: Player, placed: list[Placed]) -> None:
    worry = next(t for t in placed if not t.assignee_id)
    helper = p.token("helper", "城北党员志愿者老陈")
    await p.act(worry.ticket_id, {"action": "adopt", "actor": "老陈", "note": "我来帮忙"}, helper)
    view = await p.until(
        worry.ticket_id, lambda v: (v.get("assignee") or {}).get("kind") == "helper", "认领"
    )
    p.say("解忧超市", f"{worry.description[:18]}… 已被 {view['assignee']['name']} 认领")


async def points(p: Player, placed: list[Placed], policy: Policy) -> None:
    report = next(t for t in placed if t.source == "volunteer" and t.assignee_id)
    handler = p.token("handler", "承办人", report.assignee_id)
    await p.act(report.ticket_id, {"action": "claim", "actor": "承办人"}, handler)
    await p.until(report.ticket_id, lambda v: v["status"] == "claimed", "签收")
    await p.act(report.ticket_id, {"action": "resolve", "actor": "承办人"}, handler)
    await p.until(report.ticket_id, lambda v: v["status"] == "resolved", "办结")
    rating = {"action": "feedback", "actor": "回访员", "satisfaction": 5, "solved": True}
    await p.act(report.ticket_id, rating, p.source("volunteer"))
    await p.until(report.ticket_id, _has("dispatch.points.awarded"), "五闪积分")
    ranking = (await p.client.get("/v1/volunteers/ranking", headers=p.source("volunteer"))).json()
    top = ranking["volunteers"][0]
    p.say(
        "五闪积分",
        f"随手拍办结:志愿者 {top['volunteer_id']}({top['name']})"
        f"积 {top['points']} 分,排名第 {top['rank']}",
    )


async def meeting(p: Player, placed: list[Placed], policy: Policy) -> None:
    topic = next(t for t in placed if t.assignee_id.endswith(":convener"))
    convener = p.token("handler", "召集人", topic.assignee_id)
    at = datetime.now(UTC) + timedelta(hours=2)
    scheduled = {
        "action": "schedule",
        "actor": "召集人",
        "at": at.isoformat(),
        "place": "社区议事厅",
    }
    await p.act(topic.ticket_id, scheduled, convener)
    await p.until(topic.ticket_id, _has("dispatch.ticket.meeting_scheduled"), "约定恳谈会")
    department = policy.departments[0]
    held = {"action": "hold", "actor": "召集人", "outcome": "not_agreed",
            "minutes": "居民意见不一,涉及公共设施,移交部门", "handoff": department.id}  # fmt: skip
    await p.act(topic.ticket_id, held, convener)
    view = await p.until(
        topic.ticket_id, lambda v: (v.get("assignee") or {}).get("id") == department.id, "移交"
    )
    p.say("近邻恳谈会", f"{topic.description[:18]}… 恳谈未达成一致,移交 {view['assignee']['name']}")


async def whistle(p: Player, placed: list[Placed], policy: Policy) -> None:
    grid = grid_of(policy)

    def community(unit: str) -> str | None:
        found = grid.by_id.get(unit)
        return found.community if found is not None and found.level == "microgrid" else None

    held = next(t for t in placed if community(t.assignee_id) and t.source != "volunteer")
    where = community(held.assignee_id)
    member = next(m for m, (c, _) in grid.members.items() if c == where)
    name = grid.members[member][1].name
    assert where is not None
    secretary = p.token("handler", "社区书记", where)
    body = {"action": "whistle", "actor": "社区书记", "member": member, "note": "请物业到场"}
    await p.act(held.ticket_id, body, secretary)
    await p.until(held.ticket_id, _has("dispatch.ticket.summoned"), "吹哨")
    p.say("吹哨报到", f"{held.description[:18]}… 社区吹哨,{name} 已收到通知")
    await p.act(
        held.ticket_id, {"action": "report_in", "actor": name}, p.token("handler", name, member)
    )
    await p.until(held.ticket_id, _has("dispatch.ticket.reported_in"), "报到")
    p.say("吹哨报到", f"{name} 已报到")


async def play_flows(stack: Stack, placed: list[Placed], policy: Policy, console: Console) -> None:
    """The four flows in turn; ``FlowError`` names the step that failed."""
    console.print("[bold]第二幕:四套基层机制[/bold]")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the steps speak for themselves
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        p = Player(stack, client, console)
        steps: list[Callable[[], Awaitable[None]]] = [
            lambda: shelf(p, placed),
            lambda: points(p, placed, policy),
            lambda: meeting(p, placed, policy),
            lambda: whistle(p, placed, policy),
        ]
        for step in steps:
            await step()
