"""The console's read APIs: HTML fragments for the pages (``/api/view/*``, loaded by htmx) and the
same data as JSON (``/api/tickets``, ``/api/tickets/{id}``, ``/api/grid``). Every route needs
an operator's token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from schemas.codec import EventDecodeError, decode
from schemas.words import CHINA
from services.console.queries import Filters, department_load, grid_load, search
from services.console.site import Console, Operator, operator
from services.console.tickets import Ticket
from services.console.timeline import line


def filters(
    status: str = "",
    tier: str = "",
    unit: str = "",
    source: str = "",
    overdue: bool = False,
    pending: bool = False,
    emergency: bool = False,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Filters:
    return Filters(status, tier, unit, source, overdue, pending, emergency, q, page, size)


def ticket_json(t: Ticket, now: datetime, lines: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ticket_id": t.ticket_id,
        "status": t.status,
        "source": t.source,
        "description": t.description,
        "address": t.address,
        "received_at": t.received_at,
        "category_name": t.category_name,
        "tier": t.tier,
        "emergency": t.emergency,
        "unit": t.unit_id,
        "assignee": {"id": t.assignee_id, "name": t.assignee} if t.assignee_id else None,
        "level": t.level,
        "claim_by": t.claim_by,
        "resolve_by": t.resolve_by,
        "deadline": t.deadline(),
        "watch": t.watch(now),
        "pending_review": t.pending or None,
        "outcome": t.outcome or None,
    }
    if lines:
        out["timeline"] = [asdict(x) for x in t.lines]
    return out


def router(console: Console) -> APIRouter:
    api = APIRouter(dependencies=[Depends(operator)])
    store = console.board.tickets

    def html(name: str, **values: Any) -> HTMLResponse:
        now = datetime.now(UTC)
        return HTMLResponse(console.render(name, now=now, **values))

    @api.get("/api/me")
    async def me(who: Operator) -> dict[str, Any]:
        return {"sub": who.sub, "role": who.role, "unit": who.unit}

    @api.get("/api/tickets")
    async def tickets(f: Annotated[Filters, Depends(filters)]) -> dict[str, Any]:
        now = datetime.now(UTC)
        found = search(store.all(), f, now)
        items = [ticket_json(t, now) for t in found.items]
        return {"total": found.total, "page": found.page, "pages": found.pages, "items": items}

    @api.get("/api/tickets/{ticket_id}", response_model=None)
    async def ticket(ticket_id: str) -> Any:
        found = store.get(ticket_id)
        if found is None:
            return _missing(ticket_id)
        return ticket_json(found, datetime.now(UTC), lines=True)

    @api.get("/api/grid")
    async def grid() -> dict[str, Any]:
        now = datetime.now(UTC)
        root = grid_load(console.policy, store.open(), now)

        def node(load: Any) -> dict[str, Any]:
            u = load.unit
            return {
                "id": u.id,
                "level": u.level,
                "name": u.name,
                "open": load.open,
                "overdue": load.overdue,
                "due_soon": load.due_soon,
                "children": [node(c) for c in load.children],
            }

        return {
            "grid": node(root),
            "departments": department_load(console.policy, store.open(), now),
        }

    @api.get("/api/view/overview")
    async def overview() -> HTMLResponse:
        now = datetime.now(UTC)
        open_ = store.open()
        urgent = sorted(
            (t for t in open_ if t.emergency or t.watch(now) == "overdue"),
            key=lambda t: (not t.emergency, t.deadline() or now),
        )
        trends = store.trends
        today = now.astimezone(CHINA).date()
        week = trends.window(today, 7)
        return html(
            "overview.html",
            k=console.board.kpis.as_json(now),
            urgent=urgent[:20],
            urgent_total=len(urgent),
            today_sources=trends.sources([today]),
            today_tiers=trends.tier_counts([today]),
            week_sources=trends.sources(week),
            week_tiers=trends.tier_counts(week),
            daily=trends.daily(week),
        )

    @api.get("/api/view/recent")
    async def recent(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> HTMLResponse:
        rows = list(console.board.kpis.recent)[-limit:][::-1]
        return html("rows.html", rows=[_row(d) for d in rows])

    @api.get("/api/view/stream")
    async def stream() -> StreamingResponse:
        """The live decision stream as SSE whose data is the HTML row to insert."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        console.board.listeners.add(queue)

        async def frames() -> AsyncIterator[bytes]:
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        payload = await asyncio.wait_for(queue.get(), 15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    row = _stream_row(payload, store)
                    if row is not None:
                        text = console.render("rows.html", rows=[row]).replace("\n", " ")
                        yield b"event: row\ndata: " + text.encode() + b"\n\n"
            finally:
                console.board.listeners.discard(queue)

        return StreamingResponse(frames(), media_type="text/event-stream")

    @api.get("/api/view/tickets")
    async def ticket_list(f: Annotated[Filters, Depends(filters)]) -> HTMLResponse:
        now = datetime.now(UTC)
        return html("list.html", found=search(store.all(), f, now), f=f)

    @api.get("/api/view/tickets/{ticket_id}")
    async def ticket_view(ticket_id: str) -> HTMLResponse:
        found = store.get(ticket_id)
        if found is None:
            return html("missing.html", ticket_id=ticket_id[:40])
        return html("ticket.html", t=found)

    @api.get("/api/view/grid")
    async def grid_view() -> HTMLResponse:
        now = datetime.now(UTC)
        open_ = store.open()
        return html(
            "grid.html",
            root=grid_load(console.policy, open_, now),
            departments=department_load(console.policy, open_, now),
        )

    return api


def _missing(ticket_id: str) -> Any:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": f"没有工单 {ticket_id[:40]!r}",
        },
        status_code=404,
        media_type="application/problem+json",
    )


def _row(d: Any) -> dict[str, Any]:
    return {
        "time": d.time,
        "ticket_id": d.ticket_id,
        "kind": d.kind,
        "tier": d.tier,
        "emergency": d.emergency,
        "assignee": d.assignee,
        "reason": d.reason,
        "deadline": d.claim_by,
    }


def _stream_row(payload: bytes, store: Any) -> dict[str, Any] | None:
    """The feed row of a decision the board published (the ticket's tier from the store)."""
    try:
        event = decode(payload)
    except EventDecodeError:
        return None
    if line(event) is None:
        return None
    data = event.data
    known = store.get(event.subject)
    assignee = getattr(data, "assignee", None)
    return {
        "time": event.time,
        "ticket_id": event.subject,
        "kind": event.type.rsplit(".", 1)[-1],
        "tier": getattr(data, "tier", "") or (known.tier if known else ""),
        "emergency": bool(getattr(data, "emergency", False) or (known and known.emergency)),
        "assignee": assignee.name if assignee is not None else "",
        "reason": getattr(data, "reason", "") or getattr(data, "outcome", ""),
        "deadline": getattr(data, "claim_by", None),
    }
