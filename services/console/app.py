"""The operators' console: the dashboard page, KPIs as JSON, and the live decision stream (SSE)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import ORJSONResponse, StreamingResponse

from schemas import topics
from schemas.codec import EventDecodeError, decode, to_dict
from schemas.policy import load_policy
from services.common import status
from services.common.bus import Topics, make_consumer
from services.common.identity import Credentials
from services.common.permissions import is_operator
from services.common.privacy import install_log_masking, mask_text
from services.common.settings import Settings
from services.console.kpis import Kpis
from services.console.pages import mount_pages
from services.console.tickets import Tickets
from services.console.volunteers import Volunteers
from services.reports import Ledger, Period, PeriodError, assessment, hotspots

log = logging.getLogger(__name__)

WATCHED = (
    topics.REQUESTS,
    topics.UPDATES,
    topics.DECISIONS,
    topics.NOTIFICATIONS,
    topics.DEADLETTER,
    topics.POINTS,  # 五闪积分: the volunteers' ranking
)


class Board:
    """KPIs plus the subscribers of the live stream."""

    def __init__(self) -> None:
        self.kpis = Kpis()
        self.history = Ledger()  # the facts of 三率考核 and 每月一题 (services/reports)
        self.tickets = Tickets()  # the pages' store (pages.py)
        self.volunteers = Volunteers()  # 五闪: awards and masked names
        self.listeners: set[asyncio.Queue[bytes]] = set()

    def publish(self, payload: bytes) -> None:
        for queue in list(self.listeners):
            if queue.full():
                continue  # a slow browser misses frames; the stream never blocks the fold
            queue.put_nowait(payload)


async def follow(board: Board, bootstrap: str, names: Topics) -> None:
    consumer = make_consumer(bootstrap, *(names(t) for t in WATCHED), group=None)
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            events = []
            for records in batch.values():
                for record in records:
                    try:
                        events.append(decode(record.value))
                    except EventDecodeError:
                        continue  # the console only reads; producers dead-letter bad input
            # Topics are fetched unevenly: a claim can come before its assignment. Fold in
            # event-time order (the order the router decided in, for one ticket).
            for event in sorted(events, key=lambda e: e.time):
                board.history.add(event)
                board.tickets.fold(event)
                board.volunteers.fold(event)
                if board.kpis.fold(event) and event.TOPIC == topics.DECISIONS:
                    # masked: a summary quotes the resident's description
                    board.publish(mask_text(orjson.dumps(to_dict(event)).decode()).encode())
    finally:
        await consumer.stop()


class ConsoleError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def operator_check(credentials: Credentials) -> Any:
    """A dependency: the caller's bearer token (or ``?token=``, for EventSource) must be an
    operator's; 401 without a valid one, 403 for anyone else's."""

    def check(request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        offered = value.strip() if scheme.lower() == "bearer" else None
        offered = offered or request.query_params.get("token")
        caller = credentials.principal(offered, datetime.now(UTC))
        if caller is None:
            raise ConsoleError(401, "an operator's token is required (`dispatch token`)")
        if not is_operator(caller):
            raise ConsoleError(403, "the console's APIs are for operators")

    return Depends(check)


def _unanswerable(err: ValueError) -> ORJSONResponse:
    """A query the reports cannot answer: a problem document, never a 500."""
    body = {"type": "about:blank", "title": "参数无效", "status": 422, "detail": str(err)}
    return ORJSONResponse(body, status_code=422, media_type="application/problem+json")


def create_app(settings: Settings, bootstrap: str) -> FastAPI:
    board = Board()
    policy = load_policy(settings.policy, settings.sla_scale)
    names = Topics(settings.topic_prefix)
    operator = operator_check(Credentials({}, settings.token_secret))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        install_log_masking()
        task = asyncio.create_task(follow(board, bootstrap, names), name="console-follow")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="接诉即办 operator console", lifespan=lifespan, default_response_class=ORJSONResponse
    )

    @app.exception_handler(ConsoleError)
    async def _refused(request: Request, exc: ConsoleError) -> ORJSONResponse:
        body = {"type": "about:blank", "status": exc.status, "detail": exc.detail}
        headers = {"WWW-Authenticate": 'Bearer realm="dispatch"'} if exc.status == 401 else None
        return ORJSONResponse(
            body, exc.status, headers=headers, media_type="application/problem+json"
        )

    mount_pages(app, board, settings)  # /, /tickets, /grid … and their /api/view/* (pages.py)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """For probes (no token): the console answers; its fold follows the topics."""
        return {"status": "ok"}

    @app.get("/api/kpis", dependencies=[operator])
    async def kpis() -> dict[str, Any]:
        return board.kpis.as_json()

    @app.get("/api/services", dependencies=[operator])
    async def services() -> dict[str, Any]:
        """The process tree as ``dispatch up`` supervises it: running, restarts, last exit."""
        return status.read(settings.state_dir).model_dump()

    @app.get("/api/watch", dependencies=[operator])
    async def watching(limit: int = 50) -> dict[str, Any]:
        """Open tickets overdue or due within the hour, soonest deadline first."""
        found = board.kpis.watching(datetime.now(UTC), timedelta(hours=1))
        return {
            state: [
                {
                    "ticket_id": t.ticket_id,
                    "summary": mask_text(t.summary),
                    "assignee": t.assignee,
                    "level": t.level,
                    "status": t.status,
                    "deadline": t.deadline().isoformat(),
                }
                for t in tickets[:limit]
            ]
            for state, tickets in found.items()
        }

    @app.get("/api/assessment", response_model=None, dependencies=[operator])
    async def assessment_report(
        first: str | None = Query(None, alias="from"),
        last: str | None = Query(None, alias="to"),
        by: str = "street",
    ) -> dict[str, Any] | ORJSONResponse:
        """三率考核 of the period (the same figures as `dispatch report assess`)."""
        try:
            return assessment(board.history.facts(), Period.parse(first, last), by, policy)
        except (PeriodError, ValueError) as err:
            return _unanswerable(err)

    @app.get("/api/hotspots", response_model=None, dependencies=[operator])
    async def hotspots_report(
        first: str | None = Query(None, alias="from"), last: str | None = Query(None, alias="to")
    ) -> dict[str, Any] | ORJSONResponse:
        """诉求热点 and 每月一题 candidates (the same figures as `dispatch report hotspots`)."""
        try:
            return hotspots(board.history.facts(), Period.parse(first, last), policy)
        except PeriodError as err:
            return _unanswerable(err)

    @app.get("/api/stream", dependencies=[operator])
    async def stream() -> StreamingResponse:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        board.listeners.add(queue)

        async def frames() -> AsyncIterator[bytes]:
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        payload = await asyncio.wait_for(queue.get(), 15)
                        yield b"event: decision\ndata: " + payload + b"\n\n"
                    except TimeoutError:
                        yield b": keep-alive\n\n"
            finally:
                board.listeners.discard(queue)

        return StreamingResponse(frames(), media_type="text/event-stream")

    return app
