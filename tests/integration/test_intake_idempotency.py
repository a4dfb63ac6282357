"""Idempotency on (source, external_id) lives in Kafka: it holds after an intake restart and
across several intake instances."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import TopicPartition

from dispatch.bench.kafka import create_topics
from dispatch.broker import free_port
from dispatch.stack import Stack
from schemas import topics
from services.common.bus import make_producer
from services.common.settings import Settings
from services.intake.tail import Tail
from tests.kafka import read_until, with_type

HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}
RECEIVED = "dispatch.request.received"


def intake_settings(bootstrap: str, prefix: str, state: Path) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        http_port=free_port(),
        console_port=free_port(),
        state_dir=state,
        partitions=3,
    )


@pytest.fixture
def intakes(kafka_bootstrap: str, tmp_path: Path) -> Iterator[list[Stack]]:
    """Intake processes sharing one deployment (one topic prefix); the test starts them."""
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.stop()


def start(intakes: list[Stack], bootstrap: str, prefix: str, state: Path) -> Stack:
    stack = Stack(intake_settings(bootstrap, prefix, state), services=("intake",))
    intakes.append(stack)
    stack.start()
    return stack


def post(stack: Stack, external_id: str) -> httpx.Response:
    body = {"external_id": external_id, "description": "北门小区3幢楼道灯坏了一个多星期"}
    return httpx.post(f"{stack.intake_url}/v1/requests", json=body, headers=HOTLINE, timeout=30)


def test_duplicate_answers_200_with_the_first_ticket_id_also_after_a_restart(
    kafka_bootstrap: str, intakes: list[Stack], tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    first = start(intakes, kafka_bootstrap, prefix, tmp_path)
    created = post(first, "12345-20260301-0001")
    assert created.status_code == 202
    ticket_id = created.json()["ticket_id"]
    again = post(first, "12345-20260301-0001")
    assert (again.status_code, again.json()["ticket_id"]) == (200, ticket_id)

    first.stop()
    restarted = start(intakes, kafka_bootstrap, prefix, tmp_path)
    after = post(restarted, "12345-20260301-0001")
    assert (after.status_code, after.json()["ticket_id"]) == (200, ticket_id)
    other = post(restarted, "12345-20260301-0002")
    assert other.status_code == 202 and other.json()["ticket_id"] != ticket_id

    records = asyncio.run(
        read_until(
            kafka_bootstrap,
            f"{prefix}{topics.REQUESTS}",
            lambda rs: len(with_type(rs, RECEIVED)) >= 2,
        )
    )
    assert len(with_type(records, RECEIVED, ticket_id)) == 1
    ledger = asyncio.run(
        read_until(kafka_bootstrap, f"{prefix}{topics.INTAKE_LEDGER}", lambda rs: len(rs) >= 2)
    )
    assert {r.key for r in ledger} >= {ticket_id.encode()}


def test_a_request_taken_by_one_instance_is_a_duplicate_at_another(
    kafka_bootstrap: str, intakes: list[Stack], tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    one = start(intakes, kafka_bootstrap, prefix, tmp_path / "one")
    two = start(intakes, kafka_bootstrap, prefix, tmp_path / "two")
    # An instance syncs only the ledger partition a ticket's entry is on (its key's): a dozen
    # tickets, over all three partitions.
    for n in range(12):
        external_id = f"EH202603010{n:02d}"
        created = post(one if n % 2 else two, external_id)
        assert created.status_code == 202
        again = post(two if n % 2 else one, external_id)
        assert again.status_code == 200, f"request {n} was new again at the other instance"
        assert again.json() == created.json()
        seen = httpx.get(
            f"{(two if n % 2 else one).intake_url}/v1/tickets/{created.json()['ticket_id']}",
            headers=HOTLINE,
            timeout=30,
        )
        assert seen.status_code == 200 and seen.json()["external_id"] == external_id


def test_a_sync_by_keys_asks_for_the_partitions_the_producer_wrote_those_keys_to(
    kafka_bootstrap: str,
) -> None:
    """What lets ``admit`` sync one ledger partition, not all: the partition a key's record is
    on is the one the tail computes for it (the producer's partitioner, murmur2)."""
    topic = f"t{uuid.uuid4().hex[:10]}.{topics.INTAKE_LEDGER}"
    keys = [f"T-{uuid.uuid4().hex[:12]}".encode() for _ in range(30)]

    async def check() -> None:
        await create_topics(kafka_bootstrap, [topic], 3)
        producer = make_producer(kafka_bootstrap)
        await producer.start()
        try:
            written = {key: await (await producer.send(topic, b"{}", key=key)) for key in keys}
        finally:
            await producer.stop()
        applied: list[bytes | None] = []
        tail = Tail(kafka_bootstrap, [topic], lambda record: applied.append(record.key), "test")
        await tail.start()
        try:
            for key, meta in written.items():
                assert tail._holding([key]) == {TopicPartition(topic, meta.partition)}
            assert {meta.partition for meta in written.values()} == {0, 1, 2}
            await tail.sync(keys=keys[:1])
            assert keys[0] in applied
        finally:
            await tail.stop()

    asyncio.run(check())
