"""``dispatch demo``: ``up`` plus the scripted scenario, shown live; exits 0 once every request
of the scenario has been assigned (``--keep`` stays up afterwards)."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

from dispatch.flows import FlowError, Placed, play_flows
from dispatch.stack import Stack, StackError, wait_for_signal
from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.events import TicketAssigned, TicketClassified, TicketShelved
from schemas.policy import load_policy
from schemas.words import LEVEL_NAMES, RESOLUTION_NAMES, TIER_NAMES
from services.common.bus import Topics, make_consumer
from services.common.settings import Settings

PLACED = ("已派单", "已上架")  # assigned, or on the 解忧超市 shelf for adoption


@dataclass
class Row:
    source: str
    description: str
    ticket_id: str = ""
    status: str = "提交中"
    category: str = ""
    tier: str = ""
    assignee: str = ""
    assignee_id: str = ""
    claim_by: str = ""


def scenario() -> list[dict[str, Any]]:
    text = resources.files("dispatch").joinpath("scenario.yaml").read_text(encoding="utf-8")
    items: list[dict[str, Any]] = yaml.safe_load(text)
    return items


def render(rows: list[Row], elapsed: float) -> Table:
    done = sum(1 for r in rows if r.status in PLACED)
    table = Table(
        title=f"接诉即办 · 演示场景  {done}/{len(rows)} 已派单或上架  {elapsed:.1f}s", expand=True
    )
    for header in ("来源", "诉求", "工单", "分类", "分级", "承办", "签收时限", "状态"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            r.source,
            r.description[:28],
            r.ticket_id,
            r.category,
            r.tier,
            r.assignee,
            r.claim_by,
            r.status,
        )
    return table


async def post_all(stack: Stack, rows: list[Row], items: list[dict[str, Any]]) -> None:
    keys = stack.settings.keys_by_source()
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        for row, item in zip(rows, items, strict=True):
            body = {k: v for k, v in item.items() if k != "source"}
            response = await client.post(
                "/v1/requests", json=body, headers={"Authorization": f"Bearer {keys[row.source]}"}
            )
            if response.status_code not in (200, 202):
                row.status = f"被拒 {response.status_code}"
                continue
            row.ticket_id = response.json()["ticket_id"]
            row.status = "已受理"


def fold(rows: list[Row], event: object) -> None:
    by_ticket = {r.ticket_id: r for r in rows if r.ticket_id}
    if isinstance(event, TicketClassified) and event.subject in by_ticket:
        row = by_ticket[event.subject]
        row.category = event.data.category_name
        row.tier = TIER_NAMES[event.data.tier] + ("·紧急" if event.data.emergency else "")
    elif isinstance(event, TicketAssigned) and event.subject in by_ticket:
        row = by_ticket[event.subject]
        row.assignee = f"{event.data.assignee.name}({LEVEL_NAMES[event.data.level]})"
        row.assignee_id = event.data.assignee.id
        row.claim_by = event.data.claim_by.strftime("%m-%d %H:%M")
        row.status = "已派单"
    elif isinstance(event, TicketShelved) and event.subject in by_ticket:
        row = by_ticket[event.subject]  # 解忧超市: waits to be adopted (认领) until then
        row.assignee = f"解忧超市货架({RESOLUTION_NAMES[event.data.resolution]})"
        row.claim_by = event.data.until.strftime("%m-%d %H:%M")
        row.status = "已上架"


async def play(stack: Stack, timeout: float, console: Console) -> list[Row] | None:
    """The scenario's requests posted and followed until each is assigned or shelved: the
    rows, or None when that did not happen within ``timeout``."""
    items = scenario()
    rows = [Row(source=i["source"], description=i["description"]) for i in items]
    names = Topics(stack.settings.topic_prefix)
    consumer = make_consumer(stack.bootstrap, names(topics.DECISIONS), group=None)
    await consumer.start()
    started = time.monotonic()
    try:
        await post_all(stack, rows, items)
        with Live(render(rows, 0), console=console, refresh_per_second=4) as live:
            while time.monotonic() - started < timeout:
                batch = await consumer.getmany(timeout_ms=250)
                for records in batch.values():
                    for record in records:
                        try:
                            fold(rows, decode(record.value))
                        except EventDecodeError:
                            continue
                live.update(render(rows, time.monotonic() - started))
                if all(r.status in PLACED for r in rows):
                    return rows
                stack.supervise()
        return None
    finally:
        await consumer.stop()


def run_demo(settings: Settings, keep: bool, timeout: float) -> int:
    # A pipe or a log file gets a table wide enough to read, not 80 columns of folded text.
    console = Console() if sys.stdout.isatty() else Console(width=170)
    stack = Stack(settings)
    try:
        stack.start()
        console.print("\n".join(stack.banner()))
        rows = asyncio.run(play(stack, timeout, console))
        if rows is None:
            console.print(f"[red]not every request was assigned within {timeout:.0f}s[/red]")
            return 1
        console.print("[green]第一幕完成:每条诉求均已派单(或上架解忧超市)。[/green]")
        placed = [Placed(r.ticket_id, r.source, r.assignee_id, r.description) for r in rows]
        policy = load_policy(stack.settings.policy, stack.settings.sla_scale)
        try:
            asyncio.run(play_flows(stack, placed, policy, console))
        except (FlowError, StopIteration) as exc:
            console.print(f"[red]the seeds' flows did not play out: {exc!r}[/red]")
            return 1
        console.print(
            "[green]场景完成:派单、解忧超市、五闪积分、近邻恳谈会、吹哨报到均已演示。[/green]"
        )
        if keep:
            console.print("--keep: staying up; Ctrl-C stops everything.")
            wait_for_signal(stack.supervise)
        return 0
    except StackError as exc:
        print(f"dispatch demo: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
