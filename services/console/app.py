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
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse, StreamingResponse

from schemas import topics
from schemas.codec import EventDecodeError, decode, to_dict
from services.common.bus import Topics, make_consumer
from services.common.settings import Settings
from services.console.kpis import Kpis
from services.console.pages import mount_pages
from services.console.tickets import Tickets

log = logging.getLogger(__name__)

WATCHED = (
    topics.REQUESTS,
    topics.UPDATES,
    topics.DECISIONS,
    topics.NOTIFICATIONS,
    topics.DEADLETTER,
)


class Board:
    """KPIs plus the subscribers of the live stream."""

    def __init__(self) -> None:
        self.kpis = Kpis()
        self.tickets = Tickets()  # the pages' store (pages.py)
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
                board.tickets.fold(event)
                if board.kpis.fold(event) and event.TOPIC == topics.DECISIONS:
                    board.publish(orjson.dumps(to_dict(event)))
    finally:
        await consumer.stop()


def create_app(settings: Settings, bootstrap: str) -> FastAPI:
    board = Board()
    names = Topics(settings.topic_prefix)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
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

    mount_pages(app, board, settings)  # /, /tickets, /grid … and their /api/view/* (pages.py)

    @app.get("/api/kpis")
    async def kpis() -> dict[str, Any]:
        return board.kpis.as_json()

    @app.get("/api/watch")
    async def watching(limit: int = 50) -> dict[str, Any]:
        """Open tickets overdue or due within the hour, soonest deadline first."""
        found = board.kpis.watching(datetime.now(UTC), timedelta(hours=1))
        return {
            state: [
                {
                    "ticket_id": t.ticket_id,
                    "summary": t.summary,
                    "assignee": t.assignee,
                    "level": t.level,
                    "status": t.status,
                    "deadline": t.deadline().isoformat(),
                }
                for t in tickets[:limit]
            ]
            for state, tickets in found.items()
        }

    @app.get("/api/stream")
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
