"""The intake HTTP API: upstream systems post requests and get a ticket id back at once.

A 2xx is answered only after the broker acknowledged the event (acks=all); when Kafka cannot
take it the answer is 503 with Retry-After, never a silent loss.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import ORJSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dispatch.bus import Topics, make_producer, publish
from dispatch.schemas.envelope import CloudEvent
from dispatch.services.intake import problems
from dispatch.services.intake.index import TicketIndex
from dispatch.services.intake.models import Accepted, RequestIn, now, received_event
from dispatch.services.intake.problems import ProblemError
from dispatch.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576
PUBLISH_TIMEOUT_S = 10.0
RETRY_AFTER_S = "5"


class Intake:
    """What the routes need: the producer, the topics, the keys, the ticket index, metrics."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.names = Topics(settings.topic_prefix)
        self.keys = settings.keys_by_source()
        self.producer: AIOKafkaProducer | None = None
        self.index = TicketIndex(bootstrap, self.names)
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "dispatch_intake_accepted_total",
            "requests written to Kafka",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "dispatch_intake_publish_seconds",
            "time until the broker acknowledged",
            registry=self.registry,
        )

    def source_for(self, key: str) -> str | None:
        """The source whose key this is; compares in constant time, never logs the key."""
        found = None
        for source, expected in self.keys.items():
            if hmac.compare_digest(key.encode(), expected.encode()):
                found = source
        return found

    async def publish(self, event: CloudEvent) -> None:
        if self.producer is None:
            raise ProblemError(503, "the intake is starting", headers={"Retry-After": "1"})
        try:
            with self.publish_seconds.time():
                await asyncio.wait_for(publish(self.producer, self.names, event), PUBLISH_TIMEOUT_S)
        except (KafkaError, TimeoutError) as exc:
            log.warning("broker did not take %s: %s", event.type, type(exc).__name__)
            raise ProblemError(
                503,
                "Kafka did not acknowledge the write; nothing was stored, retry later",
                headers={"Retry-After": RETRY_AFTER_S},
            ) from exc


class BodyLimit:
    """ASGI middleware: 413 for bodies over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problems.problem_response(413, f"body over {limit} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> MutableMapping[str, Any]:
            nonlocal seen
            message: MutableMapping[str, Any] = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ProblemError(413, f"body over {limit} bytes")
            return message

        await self.app(scope, counted, send)


def intake_of(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


async def authenticated_source(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> str:
    """The source the bearer key belongs to; 401 problem document otherwise."""
    scheme, _, key = (authorization or "").partition(" ")
    found = intake_of(request).source_for(key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise ProblemError(
            401,
            "a valid `Authorization: Bearer <key>` is required",
            headers={"WWW-Authenticate": 'Bearer realm="dispatch"'},
        )
    return found


Source = Annotated[str, Depends(authenticated_source)]


def create_app(settings: Settings, bootstrap: str) -> FastAPI:
    intake = Intake(settings, bootstrap)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(bootstrap)
        await producer.start()
        intake.producer = producer
        await intake.index.start()
        try:
            yield
        finally:
            intake.producer = None
            await intake.index.stop()
            await producer.stop()

    app = FastAPI(
        title="接诉即办 dispatch intake",
        version="1",
        description="Upstream systems post residents' requests (诉求) and handlers post updates.",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.intake = intake
    problems.install(app)

    @app.post(
        "/v1/requests",
        status_code=202,
        response_model=Accepted,
        responses={200: {"model": Accepted, "description": "seen before: same ticket"}},
    )
    async def post_request(body: RequestIn, src: Source, response: Response) -> Accepted:
        """One request → 202 with its ticket id; the same (source, external_id) again → 200."""
        event = received_event(body, src, now())
        ticket_id = event.data.ticket_id
        if ticket_id in intake.index:
            response.status_code = 200
            intake.accepted.labels(src, "duplicate").inc()
            return Accepted(ticket_id=ticket_id)
        await intake.publish(event)
        intake.index.add(ticket_id)
        intake.accepted.labels(src, "accepted").inc()
        return Accepted(ticket_id=ticket_id)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        ready = intake.producer is not None and intake.index.ready.is_set()
        if not ready:
            raise ProblemError(
                503, "starting: catching up with the ticket index", headers={"Retry-After": "1"}
            )
        return {"status": "ok", "bootstrap": bootstrap}

    @app.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(intake.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
