"""The seeds' own systems in the console: 解忧超市 (``/api/view/shelf``: the worries waiting on
the shelf by resolution type, and the latest adopted) and 五闪志愿者 (``/api/view/volunteers``:
the volunteers' points in a period). HTML fragments for the pages, read from the console's own
fold of the topics; the ranking is the reports' definition, the one the intake answers
``GET /v1/volunteers/ranking`` with. Descriptions are masked as everywhere in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from schemas.words import RESOLUTION_NAMES
from services.console.reports import From, To
from services.console.site import Console, operator
from services.reports import Period, PeriodError
from services.reports.assess import BY_NAMES

ADOPTED_ROWS = 20
"""How many of the latest adoptions the shelf page lists."""
VOLUNTEER_ROWS = 200
"""How many volunteers the ranking page lists."""
SOON = timedelta(hours=2)
"""A worry leaves the shelf for its community within this: shown as due soon."""


def router(console: Console) -> APIRouter:
    api = APIRouter(dependencies=[Depends(operator)])

    def html(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(console.render(name, **values))

    @api.get("/api/view/shelf")
    async def shelf_view(
        kind: Annotated[str, Query(alias="type", max_length=20)] = "",
    ) -> HTMLResponse:
        now = datetime.now(UTC)
        tickets = console.board.tickets
        shelved = tickets.shelved()
        counts = {k: sum(1 for t in shelved if t.shelf == k) for k in RESOLUTION_NAMES}
        shown = [t for t in shelved if not kind or t.shelf == kind]
        soon = {
            t.ticket_id for t in shown if t.shelf_until is not None and t.shelf_until - now <= SOON
        }
        return html(
            "shelf.html",
            kind=kind if kind in RESOLUTION_NAMES else "",
            total=len(shelved),
            counts=counts,
            shown=shown,
            soon=soon,
            adopted=tickets.adopted(ADOPTED_ROWS),
            hours=console.policy.shelf.shelf_hours,
            sources=console.policy.shelf.sources,
        )

    @api.get("/api/view/volunteers")
    async def volunteers_view(first: From = None, last: To = None) -> HTMLResponse:
        try:
            period = Period.parse(first, last)
        except PeriodError as err:
            return html("report-error.html", detail=str(err)[:300], BY_NAMES=BY_NAMES)
        found = console.board.volunteers.ranking(period, VOLUNTEER_ROWS)
        return html(
            "volunteers.html",
            period=period,
            r=found,
            points=sum(s.points for s in found.volunteers),
            reports=sum(s.reports for s in found.volunteers),
            rules=console.policy.volunteers.points,
        )

    return api
