"""A notifier killed after a send and before its commit does not send that notification again:
the record of what was sent lives in Kafka (``dispatch.notifications``), not only in memory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.envelope import derive_id
from schemas.events import (
    AssignedData,
    Assignee,
    EscalatedData,
    TicketAssigned,
    TicketEscalated,
)
from schemas.words import CHINA
from services.common.settings import Settings
from tests.conftest import SMALL_POLICY
from tests.kafka import Record, eventually, produce, read_until, with_type
from tests.receiver import Receiver, receiver

TICKET = f"T{uuid.uuid4().hex[:13].upper()}"
STREET = Assignee(id="ST-FG", kind="street", name="凤岗街道·凤岗街道综治中心")
DEPARTMENT = Assignee(id="DEP-SW", kind="department", name="区水务局")


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture
def settings(
    kafka_bootstrap: str, hook: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    state: Path = tmp_path_factory.mktemp("restart")
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        state_dir=state,
        partitions=1,
        policy=SMALL_POLICY,  # neither assignee has a channel: the webhook, and the log channel
        notify_webhook=hook.url,
        notify_tries=2,
        notify_backoff_s=0.05,
        notify_commit_interval_s=3600.0,  # no commit while it runs: only SIGTERM commits
    )


def envelope(purpose: str) -> dict[str, Any]:
    extra = {"ticketversion": 1} if "ticketversion" in TicketAssigned.model_fields else {}
    return {
        "id": derive_id(f"request-{TICKET}", purpose),
        "source": "/dispatch/router",
        "time": datetime.now(CHINA),
        "subject": TICKET,
        "causationid": f"request-{TICKET}",
        "correlationid": f"request-{TICKET}",
        "policyversion": "sample@test",
        **extra,
    }


def assigned() -> TicketAssigned:
    now = datetime.now(CHINA)
    return TicketAssigned(
        **envelope("assigned:1"),
        data=AssignedData(
            ticket_id=TICKET,
            summary="凤岗街道积水",
            tier="department",
            level="district",
            assignee=DEPARTMENT,
            claim_by=now + timedelta(hours=4),
            resolve_by=now + timedelta(days=5),
            attempt=1,
            rule="assign:department",
        ),
    )


def escalated() -> TicketEscalated:
    now = datetime.now(CHINA)
    return TicketEscalated(
        **envelope("escalated:claim_overdue"),
        data=EscalatedData(
            ticket_id=TICKET,
            summary="凤岗街道积水",
            from_level="district",
            to_level="street",
            reason="claim_overdue",
            assignee=STREET,
            claim_by=now + timedelta(hours=2),
            resolve_by=now + timedelta(days=3),
            attempt=2,
        ),
    )


async def committed(settings: Settings) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}dispatch-notifier",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(
            TopicPartition(f"{settings.topic_prefix}dispatch.decisions", 0)
        )
        return offset
    finally:
        await consumer.stop()


def posted(hook: Receiver, decision_id: str) -> int:
    return sum(1 for r in list(hook.requests) if orjson.loads(r.body)["id"] == decision_id)


async def test_notifier_killed_after_send_before_commit_does_not_send_again(
    settings: Settings, hook: Receiver
) -> None:
    first, second = assigned(), escalated()
    decisions = f"{settings.topic_prefix}dispatch.decisions"
    notifications = f"{settings.topic_prefix}dispatch.notifications"

    def sent_for(decision_id: str) -> Any:
        def done(records: list[Record]) -> bool:
            channels = {
                data["channel"]
                for data in (
                    orjson.loads(r.value)["data"]
                    for r in with_type(records, "dispatch.notification.sent", TICKET)
                )
                if data["decision_id"] == decision_id
            }
            return channels == {"webhook", "log"}

        return done

    stack = Stack(settings, services=("notifier",))
    try:
        await asyncio.to_thread(stack.start)  # Stack.start runs its own event loop
        await produce(stack.bootstrap, decisions, encode(first), TICKET.encode(), HEADERS)
        await read_until(stack.bootstrap, notifications, sent_for(first.id))
        assert posted(hook, first.id) == 1
        assert await committed(settings) is None  # sent and recorded, not committed
        stack.processes["notifier"].kill()  # SIGKILL: no shutdown, no commit
        stack.processes["notifier"].wait()
    finally:
        await asyncio.to_thread(stack.stop)

    restarted = Stack(settings, services=("notifier",))
    try:
        await asyncio.to_thread(restarted.start)
        # Same ticket, same partition, after the first: once it is delivered, the restarted
        # notifier has read the first decision again.
        await produce(restarted.bootstrap, decisions, encode(second), TICKET.encode(), HEADERS)
        records = await read_until(restarted.bootstrap, notifications, sent_for(second.id))

        async def delivered() -> bool:
            return posted(hook, second.id) == 1

        await eventually(delivered, "the escalation reaches the webhook")
        assert posted(hook, first.id) == 1, "the first assignment was posted again"
        sent = [
            (data["decision_id"], data["channel"])
            for data in (
                orjson.loads(r.value)["data"]
                for r in with_type(records, "dispatch.notification.sent", TICKET)
            )
        ]
        assert sorted(sent) == sorted(
            (decision.id, channel) for decision in (first, second) for channel in ("webhook", "log")
        )
    finally:
        await asyncio.to_thread(restarted.stop)  # SIGTERM: commits what is finished
    assert await committed(settings) == 2
