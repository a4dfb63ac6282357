"""What every console view shares: the store it reads (the board), the policy, the templates
(Jinja2, ``web/templates``) and the operator check."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, Request
from jinja2 import Environment, PackageLoader, select_autoescape

from schemas.policy import Policy
from schemas.words import (
    CHINA,
    LEVEL_NAMES,
    REASON_NAMES,
    RESOLUTION_NAMES,
    SOURCE_NAMES,
    STATUS_NAMES,
    TIER_NAMES,
    VOLUNTEER_KIND_NAMES,
)
from services.common.settings import Settings
from services.console.kpis import Kpis
from services.console.signin import Principal, operator_from
from services.console.tickets import Tickets
from services.console.timeline import hm
from services.console.volunteers import Volunteers
from services.reports import Ledger

NAV = (
    ("/", "总览"),
    ("/tickets", "工单"),
    ("/grid", "五级网格"),
    ("/assessment", "三率考核"),
    ("/hotspots", "热点"),
    ("/shelf", "解忧超市"),
    ("/volunteers", "五闪志愿者"),
)

FIGURES = (
    ("received", "受理"),
    ("open", "在办"),
    ("overdue", "已超时"),
    ("due_soon", "1小时内到期"),
    ("emergencies", "紧急"),
    ("assigned", "派单"),
    ("escalated", "提级督办"),
    ("pending_reviews", "待审核"),
    ("closed", "办结"),
    ("on_time_rate", "按期办结率"),
    ("satisfaction_rate", "满意率"),
    ("notified", "已通知"),
    ("notify_failed", "通知失败"),
    ("rejected_inputs", "拒收输入"),
)
KINDS = {
    "classified": "分类",
    "assigned": "派单",
    "escalated": "提级督办",
    "closed": "关闭",
}


class Board(Protocol):
    kpis: Kpis
    tickets: Tickets
    history: Ledger  # the facts of 三率考核 and 每月一题 (services/reports)
    volunteers: Volunteers  # 五闪积分
    listeners: set[asyncio.Queue[bytes]]


class Unauthorized(Exception):
    """No valid operator token on a console API call."""


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("services.console", "web/templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        NAV=NAV,
        FIGURES=FIGURES,
        KINDS=KINDS,
        REASONS={**REASON_NAMES, "resolved": "办结", "merged": "并入", "invalid": "无效件"},
        hm=hm,
        percent=lambda rate: "—" if rate is None else f"{rate * 100:.1f}%",
        clock=lambda t: t.astimezone(CHINA).strftime("%H:%M:%S"),
        TIERS=TIER_NAMES,
        LEVELS=LEVEL_NAMES,
        SOURCES=SOURCE_NAMES,
        RESOLUTIONS=RESOLUTION_NAMES,
        VOLUNTEER_KINDS=VOLUNTEER_KIND_NAMES,
        STATUSES={**STATUS_NAMES, "rejected": "已退单(待处理)"},
    )
    return env


class Console:
    """What the views need: the store, the policy, the templates, the settings."""

    def __init__(self, board: Board, settings: Settings, policy: Policy) -> None:
        self.board = board
        self.settings = settings
        self.policy = policy
        self.env = templates()

    def units(self) -> list[tuple[str, str]]:
        """Every unit and department an operator can send a ticket to: id, name."""
        from schemas.policy.grid import grid_of

        grid = [
            (u.id, f"{LEVEL_NAMES[u.level]} · {u.name}")
            for u in grid_of(self.policy).by_id.values()
        ]
        return grid + [(d.id, f"部门 · {d.name}") for d in self.policy.departments]

    def render(self, name: str, **values: Any) -> str:
        return self.env.get_template(name).render(**values)


def operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The signed-in operator of a console API call; 401 problem otherwise."""
    console: Console = request.app.state.console
    found = operator_from(authorization, console.settings)
    if found is None:
        raise Unauthorized
    return found


Operator = Annotated[Principal, Depends(operator)]
