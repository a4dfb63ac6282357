"""What ``dispatch watch`` shows, as a pure function of the console's fold (no I/O, no clock):
``render(kpis, now)`` → a rich renderable, the same for the live screen and ``--once``."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from schemas.words import CHINA, REASON_NAMES, SOURCE_NAMES, TIER_NAMES
from services.console.kpis import Decided, Kpis, Open

WARN_BEFORE = timedelta(hours=1)
FIXED_ROWS = 5  # the title line and the figures' panel
PANEL_ROWS = 3  # a table panel's borders and header line
LEFT_WIDTH = 30  # the tier and source tables
MIDDLE_MIN = 16  # the tier and source tables in their panel


def clock(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%m-%d %H:%M") if moment else "—"


def span(delta: timedelta) -> str:
    """``timedelta(hours=26, minutes=5)`` → ``1天2小时``: how late, or how long is left."""
    minutes = int(abs(delta).total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{minutes}分" if minutes else "不足1分"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def tier_label(tier: str, emergency: bool) -> str:
    name = TIER_NAMES.get(tier, tier or "—")
    return f"{name}·紧急" if emergency else name


def figures(kpis: Kpis, now: datetime) -> Panel:
    f = kpis.as_json(now=now, warn_before=WARN_BEFORE)
    closed = f"{f['closed']}" + (f"(并单{f['merged']})" if f["merged"] else "")
    cells = [
        ("受理", str(f["received"]), "bold"),
        ("在办", str(f["open"]), "bold cyan"),
        ("已超时", str(f["overdue"]), "bold red" if f["overdue"] else "bold"),
        ("1小时内到期", str(f["due_soon"]), "bold yellow" if f["due_soon"] else "bold"),
        ("提级督办", str(f["escalated"]), "bold magenta" if f["escalated"] else "bold"),
        ("办结", closed, "bold green"),
        ("按期办结率", rate(f["on_time_rate"]), "bold green"),
        ("满意率", rate(f["satisfaction_rate"]), "bold green"),
        ("紧急", str(f["emergencies"]), "bold red" if f["emergencies"] else "bold"),
        ("通知失败", str(f["notify_failed"]), "bold red" if f["notify_failed"] else "bold"),
        ("拒收输入", str(f["rejected_inputs"]), "bold yellow" if f["rejected_inputs"] else "bold"),
    ]
    table = Table(box=None, expand=True, pad_edge=False)
    for label, _, _ in cells:
        table.add_column(label, justify="center", header_style="dim", no_wrap=True)
    table.add_row(*(Text(value, style=style) for _, value, style in cells))
    return Panel(table, title="总览", title_align="left")


def counts(kpis: Kpis, height: int) -> Panel:
    tiers = Table("分级", "件数", "占比", expand=True, box=None, header_style="dim")
    total = sum(kpis.by_tier.values())
    for tier, name in TIER_NAMES.items():
        n = kpis.by_tier.get(tier, 0)
        tiers.add_row(name, str(n), f"{n * 100 / total:.0f}%" if total else "—")
    sources = Table("来源", "件数", expand=True, box=None, header_style="dim")
    known = list(SOURCE_NAMES) + sorted(set(kpis.by_source) - set(SOURCE_NAMES))
    for source in known:
        sources.add_row(SOURCE_NAMES.get(source, source), str(kpis.by_source.get(source, 0)))
    return Panel(
        Group(tiers, Text(""), sources), title="分级与来源", title_align="left", height=height
    )


def action(line: Decided) -> str:
    if line.kind == "assigned":
        return "派单"
    if line.kind == "escalated":
        if line.reason == "whistle":
            return "吹哨报到"
        return f"提级督办·{REASON_NAMES.get(line.reason, line.reason)}"
    return "并单" if line.reason == "merged" else "办结"


def due(line: Decided) -> str:
    if line.kind == "closed":
        if line.reason == "merged":
            return "并入在办工单"
        verdict = {True: "按期", False: "超期", None: ""}[line.on_time]
        score = f" 满意度{line.satisfaction}" if line.satisfaction is not None else ""
        return f"{verdict}{score}".strip()
    return f"{clock(line.claim_by)} / {clock(line.resolve_by)}"


def line_style(line: Decided) -> str:
    if line.emergency and line.kind != "closed":
        return "bold red"
    return {"escalated": "magenta", "closed": "green"}.get(line.kind, "")


def stamp(moment: datetime, now: datetime) -> str:
    """Time of day for today's decisions (Beijing time), the date as well for older ones."""
    local = moment.astimezone(CHINA)
    return f"{local:%H:%M:%S}" if local.date() == now.astimezone(CHINA).date() else clock(local)


def feed(kpis: Kpis, now: datetime, rows: int, height: int) -> Panel:
    table = Table(expand=True, box=None, header_style="dim")
    table.add_column("时间", no_wrap=True, min_width=8)
    table.add_column("工单", no_wrap=True, min_width=14)
    table.add_column("动作", no_wrap=True)
    table.add_column("分级", no_wrap=True, min_width=4)
    table.add_column("承办", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("签收 / 办结时限", no_wrap=True)
    for line in reversed(latest(kpis, rows)):
        table.add_row(
            stamp(line.time, now),
            line.ticket_id,
            action(line),
            tier_label(line.tier, line.emergency),
            line.assignee,  # the unit and its person: "城北社区第1微网格·赖清香"
            due(line),
            style=line_style(line),
        )
    if not kpis.recent:
        table.add_row("", Text("尚无派单决定", style="dim"), "", "", "", "")
    return Panel(table, title="最新决定(最新在上)", title_align="left", height=height)


def latest(kpis: Kpis, rows: int) -> list[Decided]:
    return list(kpis.recent)[-rows:] if rows > 0 else []


def watchlist(kpis: Kpis, now: datetime, rows: int) -> Panel:
    found = kpis.watching(now, WARN_BEFORE)
    tickets = sorted(found["overdue"] + found["due_soon"], key=Open.deadline)
    table = Table(expand=True, box=None, header_style="dim")
    for name in ("状态", "时限", "超时/剩余", "工单", "分级", "待办"):
        table.add_column(name, no_wrap=True)
    table.add_column("诉求", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("承办", overflow="ellipsis", no_wrap=True, ratio=1)
    for ticket in tickets[: max(rows, 0)]:
        late = ticket.deadline() <= now
        table.add_row(
            "已超时" if late else "将到期",
            clock(ticket.deadline()),
            ("超时" if late else "剩") + span(ticket.deadline() - now),
            ticket.ticket_id,
            tier_label(ticket.tier, ticket.emergency),
            "待签收" if ticket.status == "assigned" else "待办结",
            ticket.summary,
            ticket.assignee,
            style=("bold " if ticket.emergency else "") + ("red" if late else "yellow"),
        )
    if not tickets:
        table.add_row("", "", "", Text("没有超时或1小时内到期的工单", style="dim"), *[""] * 4)
    hidden = len(tickets) - min(len(tickets), max(rows, 0))
    note = f"另有 {hidden} 件未显示" if hidden else ""
    title = f"超时与即将到期(时限最近在上){len(found['overdue'])} 件超时"
    return Panel(table, title=title, title_align="left", subtitle=note, subtitle_align="right")


def rows_for(height: int) -> tuple[int, int]:
    """How many feed lines and watch-list lines fill a screen ``height`` lines high (at least
    26: the tier and source tables and one watch-list line)."""
    spare = height - FIXED_ROWS
    middle = max(MIDDLE_MIN, spare // 2)
    return middle - PANEL_ROWS, max(spare - middle - PANEL_ROWS, 1)


def render(
    kpis: Kpis, now: datetime, status: str = "", feed_rows: int = 20, watch_rows: int = 30
) -> RenderableType:
    title = Text.assemble(
        ("接诉即办 · 实时态势", "bold"),
        f"   {now.astimezone(CHINA):%Y-%m-%d %H:%M:%S} 北京时间",
        (f"   {status}" if status else "", "dim"),
    )
    middle = Table.grid(expand=True)
    middle.add_column(width=LEFT_WIDTH)
    middle.add_column(ratio=1)
    height = max(MIDDLE_MIN, len(latest(kpis, feed_rows)) + PANEL_ROWS)
    middle.add_row(counts(kpis, height), feed(kpis, now, feed_rows, height))
    return Group(title, figures(kpis, now), middle, watchlist(kpis, now, watch_rows))
