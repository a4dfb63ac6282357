"""The console's pages: server-rendered shells (Jinja2 templates under ``web/templates``) whose
content htmx loads from ``/api/view/*`` with the operator's token, plus the vendored static
assets. A page itself holds no data: without a token nothing but the sign-in form shows.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from schemas.policy import load_policy
from services.common.settings import Settings
from services.console import actions, reports, seeds, views
from services.console.site import Board, Console, Unauthorized
from services.reports.assess import BY_NAMES


def mount_pages(app: FastAPI, board: Board, settings: Settings) -> None:
    """Add the pages, their views and actions, and the static assets to the console app."""
    console = Console(board, settings, load_policy(settings.policy, settings.sla_scale))
    app.state.console = console
    static = resources.files("services.console").joinpath("web/static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": "需要操作员令牌:Authorization: Bearer <token>(role=operator)"
                if settings.token_secret
                else "控制台未配置 DISPATCH_TOKEN_SECRET:无法验证令牌,任何人都不能登录",
            },
            status_code=401,
            media_type="application/problem+json",
            headers={"WWW-Authenticate": 'Bearer realm="dispatch-console"'},
        )

    def shell(path: str, view: str, title: str, **values: Any) -> str:
        return console.render("shell.html", path=path, view=view, title=title, **values)

    @app.get("/", response_class=HTMLResponse)
    async def overview() -> str:
        return shell("/", "overview", "总览")

    @app.get("/tickets", response_class=HTMLResponse)
    async def tickets_page() -> str:
        return shell("/tickets", "tickets", "工单")

    @app.get("/tickets/{ticket_id}", response_class=HTMLResponse)
    async def ticket_page(ticket_id: str) -> str:
        return shell("/tickets", "ticket", f"工单 {ticket_id[:40]}", ticket_id=ticket_id[:40])

    @app.get("/grid", response_class=HTMLResponse)
    async def grid_page() -> str:
        return shell("/grid", "grid", "五级网格")

    @app.get("/assessment", response_class=HTMLResponse)
    async def assessment_page() -> str:
        first, last = reports.this_month()
        return shell("/assessment", "assessment", "三率考核", first=first, last=last, BY=BY_NAMES)

    @app.get("/hotspots", response_class=HTMLResponse)
    async def hotspots_page() -> str:
        first, last = reports.this_month()
        return shell("/hotspots", "hotspots", "诉求热点", first=first, last=last)

    @app.get("/shelf", response_class=HTMLResponse)
    async def shelf_page() -> str:
        return shell("/shelf", "shelf", "解忧超市")

    @app.get("/volunteers", response_class=HTMLResponse)
    async def volunteers_page() -> str:
        first, last = reports.this_month()
        return shell("/volunteers", "volunteers", "五闪志愿者", first=first, last=last)

    app.include_router(views.router(console))
    app.include_router(reports.router(console))
    app.include_router(seeds.router(console))
    app.include_router(actions.router(console))
