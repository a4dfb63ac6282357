"""The intake service: its composition root. Upstream systems post requests and get a ticket id
back at once; handlers post updates; Open311 clients use GeoReport v2; a consumer takes raw
payloads from ``dispatch.intake.raw``.

A 2xx is answered only after the broker acknowledged the event (acks=all); when Kafka cannot
take it the answer is 503 with Retry-After, never a silent loss. ``/healthz`` says ok only once
the idempotency ledger and the ticket read model have caught up with Kafka.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from schemas.policy import Policy, load_policy
from services.common.bus import ensure_topics, make_producer
from services.common.privacy import install_log_masking
from services.common.settings import Settings
from services.intake import docs, open311_routes, problems, routes
from services.intake.limits import MAX_BODY_BYTES, BodyLimit
from services.intake.problems import ProblemError
from services.intake.raw import RawConsumer
from services.intake.runtime import Intake

log = logging.getLogger(__name__)


async def _freeze_when_caught_up(intake: Intake) -> None:
    """Once the ledger and the read model hold what Kafka had at start, move every object
    alive then out of the collector's sight (``gc.freeze``): a full collection no longer walks
    the state caught up from the log, which it would find alive every time."""
    await intake.ledger.tail.ready.wait()
    await intake.readmodel.tail.ready.wait()
    gc.freeze()


def create_app(settings: Settings, bootstrap: str, policy: Policy | None = None) -> FastAPI:
    intake = Intake(settings, bootstrap, policy or load_policy(settings.policy, settings.sla_scale))
    raw = RawConsumer(intake)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        install_log_masking()
        await ensure_topics(
            bootstrap,
            settings.topic_prefix,
            settings.partitions,
            settings.replication_factor,
            min_insync_replicas=settings.min_insync_replicas,
        )
        async with AsyncExitStack() as stack:
            stack.callback(intake.store.close)  # last: after the tails that write to it
            # No linger: an answer waits for two acknowledged writes in a row (request, then
            # ledger); records still batch behind a partition's request in flight.
            producer = make_producer(bootstrap, linger_ms=0)
            await producer.start()
            stack.push_async_callback(producer.stop)
            intake.attach(producer)
            stack.callback(intake.attach, None)
            await intake.ledger.tail.start()
            stack.push_async_callback(intake.ledger.tail.stop)
            await intake.readmodel.tail.start()
            stack.push_async_callback(intake.readmodel.tail.stop)
            await raw.start()
            stack.push_async_callback(raw.stop)
            frozen = asyncio.create_task(_freeze_when_caught_up(intake))
            stack.callback(frozen.cancel)
            yield

    app = FastAPI(
        title="接诉即办 dispatch intake",
        version="1",
        description="上游系统提交群众诉求(心事心愿),处置人提交签收、办结等更新;"
        "Upstream systems post residents' requests, handlers post updates, Open311 clients "
        "use GeoReport v2. Errors are RFC 9457 problem documents (Open311's format under "
        "/open311/).",
        lifespan=lifespan,
    )
    app.state.intake = intake
    problems.install(app)
    app.include_router(routes.router)
    app.include_router(open311_routes.router)

    @app.get(
        "/healthz",
        summary="健康检查",
        responses={503: docs.problems()[503]},
    )
    async def healthz() -> dict[str, Any]:
        """ok once the ledger and the read model caught up with Kafka and the raw consumer runs."""
        if not intake.ready:
            raise ProblemError(
                503, "starting: catching up with Kafka", headers={"Retry-After": "1"}
            )
        return {
            "status": "ok",
            "bootstrap": bootstrap,
            "tickets": len(intake.readmodel),
            "ledger": len(intake.ledger),
            "snapshot": {
                "kept": intake.store.lasting,
                "resumed": intake.ledger.tail.resumed + intake.readmodel.tail.resumed,
            },
        }

    @app.get(
        "/metrics",
        summary="Prometheus 指标",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(intake.registry), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in docs.native_components().items():
                if name in schemas:
                    raise RuntimeError(f"native schema {name} clashes with an API schema")
                schemas[name] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
