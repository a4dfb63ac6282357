"""The report pages' views: 三率考核 and 每月一题 as HTML fragments (``/api/view/assessment``,
``/api/view/hotspots``), from the same functions and facts as ``/api/assessment`` and
``/api/hotspots`` (services/reports), so the page and the API cannot disagree. A period or
``by`` the reports cannot answer is rendered as a view (200) that says why, as the actions panel
renders a refusal: the page's content is the answer (a 4xx would be a console error in the
browser); the JSON APIs answer the same query with a 422 problem document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from schemas.words import CHINA
from services.console.site import Console, operator
from services.reports import Period, PeriodError, assessment, hotspots
from services.reports.assess import BY_NAMES

HOTSPOT_ROWS = 100
"""How many clusters the hotspots page lists (the API has them all)."""

From = Annotated[str | None, Query(alias="from")]
To = Annotated[str | None, Query(alias="to")]


def this_month(now: datetime | None = None) -> tuple[date, date]:
    """The default period: the first of this month to today, in China time."""
    today = (now or datetime.now(UTC)).astimezone(CHINA).date()
    return today.replace(day=1), today


def router(console: Console) -> APIRouter:
    api = APIRouter(dependencies=[Depends(operator)])

    def html(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(console.render(name, BY_NAMES=BY_NAMES, **values))

    def refused(err: ValueError) -> HTMLResponse:
        return html("report-error.html", detail=str(err)[:300])

    @api.get("/api/view/assessment")
    async def assessment_view(
        first: From = None,
        last: To = None,
        by: str = "street",
    ) -> HTMLResponse:
        try:
            period = Period.parse(first, last)
            report = assessment(console.board.history.facts(), period, by, console.policy)
        except (PeriodError, ValueError) as err:
            return refused(err)
        return html("assessment.html", r=report)

    @api.get("/api/view/hotspots")
    async def hotspots_view(
        first: From = None,
        last: To = None,
    ) -> HTMLResponse:
        try:
            report = hotspots(
                console.board.history.facts(), Period.parse(first, last), console.policy
            )
        except PeriodError as err:
            return refused(err)
        return html("hotspots.html", r=report, shown=report["rows"][:HOTSPOT_ROWS])

    return api
