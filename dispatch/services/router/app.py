"""The router's shell: a Faust app that feeds inputs to the pure core and publishes its decisions.

Ticket state lives in a changelogged Faust table keyed by ticket id (the key of every input), so
it survives restarts and moves with its partition when router instances are added.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import faust
import orjson

from dispatch.bus import Topics, rejected
from dispatch.schemas import topics
from dispatch.schemas.codec import HEADERS, EventDecodeError, decode, encode
from dispatch.schemas.events import Origin
from dispatch.services.router.core import TransitionError, step
from dispatch.services.router.policy import Policy
from dispatch.services.router.state import Ticket
from dispatch.settings import Settings

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def faust_broker_url(bootstrap: str) -> str:
    """``h1:9092,h2:9092`` → ``kafka://h1:9092;kafka://h2:9092`` (Faust's form)."""
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def build_app(settings: Settings, bootstrap: str, policy: Policy) -> faust.App:
    names = Topics(settings.topic_prefix)
    app = faust.App(
        f"{settings.topic_prefix}dispatch-router",
        broker=faust_broker_url(bootstrap),
        store="memory://",
        datadir=str(settings.state_dir / "router"),
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_rebalance_timeout=5,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
    )
    inputs = app.topic(names(topics.REQUESTS), **RAW)
    decisions = app.topic(names(topics.DECISIONS), **RAW)
    deadletter = app.topic(names(topics.DEADLETTER), **RAW)
    tickets = app.Table(
        "tickets", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )

    async def dead_letter(message: Any, reason: str, errors: list[str]) -> None:
        origin = Origin(
            transport="kafka",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            service="router",
        )
        when = (
            datetime.fromtimestamp(message.timestamp, CHINA)
            if message.timestamp
            else datetime.fromtimestamp(0, CHINA)
        )
        letter = rejected(message.value, message.key, reason, errors, origin, when)
        log.warning(
            "dead-lettered %s/%s/%s: %s", message.topic, message.partition, message.offset, reason
        )
        await deadletter.send(key=letter.subject.encode(), value=encode(letter), headers=HEADERS)

    @app.agent(inputs)
    async def route(stream: Any) -> None:
        async for record in stream.events():
            message = record.message
            try:
                event = decode(message.value)
            except EventDecodeError as err:
                await dead_letter(message, err.reason, err.errors)
                continue
            key = event.subject.encode()
            stored = tickets.get(key)
            ticket = Ticket.model_validate_json(stored) if stored else None
            try:
                after, emitted = step(ticket, event, policy)
            except TransitionError as err:
                await dead_letter(message, str(err), [])
                continue
            if after is not None and after is not ticket:
                tickets[key] = orjson.dumps(after.model_dump(mode="json"))
            for decision in emitted:
                await decisions.send(key=key, value=encode(decision), headers=HEADERS)

    return app


def run(settings: Settings, bootstrap: str, policy: Policy) -> None:
    """Run the router until SIGINT/SIGTERM (Faust's worker owns the event loop and signals)."""
    app = build_app(settings, bootstrap, policy)
    log.info("router on %s with policy %s", bootstrap, policy.version)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
