"""Several ``dispatch router`` processes as one consumer group on the real broker.

A burst is shared; a router SIGKILLed mid-burst loses nothing and decides nothing twice; a
router joining mid-burst takes its share. Only the CLI and the topics are used: the routers
are real processes, what they decided is read back from ``dispatch.decisions``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition

from dispatch.bench.kafka import produce_all
from dispatch.bench.workload import encoded, requests
from dispatch.routers import RouterGroup, members
from schemas import topics
from schemas.policy import load_policy
from services.common.bus import Topics, ensure_topics, make_consumer
from services.common.settings import Settings
from tests.kafka import eventually

PARTITIONS = 6
pytestmark = pytest.mark.timeout(600)
JOIN_S = 120.0  # a loaded 2-core machine starts a Faust worker and rebalances in ~20 s


class Decided:
    """Every ``dispatch.ticket.assigned`` read so far: ticket → the distinct decision ids."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = make_consumer(bootstrap, topic, group=None, fetch_max_wait_ms=50)
        self.assigned: dict[str, set[str]] = defaultdict(set)
        self.kinds: dict[str, list[str]] = defaultdict(list)
        self.copies = 0

    async def poll(self) -> None:
        batch = await self.consumer.getmany(timeout_ms=100, max_records=10_000)
        for part in batch.values():
            for record in part:
                document = orjson.loads(record.value)
                self.kinds[document["subject"]].append(document["type"].rsplit(".", 1)[-1])
                if document.get("type") == "dispatch.ticket.assigned":
                    self.assigned[document["subject"]].add(document["id"])
                    self.copies += 1

    async def until(self, tickets: set[str], timeout: float = 180.0) -> None:
        async def all_assigned() -> bool:
            await self.poll()
            return tickets <= self.assigned.keys()

        try:
            await eventually(all_assigned, f"all {len(tickets)} requests assigned", timeout)
        except AssertionError as exc:
            missing = sorted(tickets - self.assigned.keys())
            seen = {t: self.kinds.get(t, []) for t in missing[:5]}
            raise AssertionError(f"{exc}; {len(missing)} unassigned, e.g. {seen}") from None


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=PARTITIONS,
        state_dir=tmp_path,
    )


@pytest.fixture
def group(settings: Settings, kafka_bootstrap: str) -> Iterator[RouterGroup]:
    asyncio.run(ensure_topics(kafka_bootstrap, settings.topic_prefix, PARTITIONS, 1))
    with RouterGroup(settings, kafka_bootstrap) as started:
        yield started


def bursts(sizes: tuple[int, ...]) -> list[list[tuple[bytes, bytes]]]:
    """Distinct requests (no two at one place and category, so none is a repeat)."""
    tag = uuid.uuid4().hex[:8]
    events = encoded(requests(load_policy(None, 1.0), sum(sizes), tag=tag))
    out, start = [], 0
    for size in sizes:
        out.append(events[start : start + size])
        start += size
    return out


async def wait_members(
    group: RouterGroup, count: int, killed: frozenset[int] = frozenset()
) -> None:
    async def formed() -> bool:
        group.check_alive(killed)
        return await members(group.settings, group.bootstrap) == count

    await eventually(formed, f"a stable group of {count} routers", JOIN_S)


async def rejected_count(settings: Settings, bootstrap: str) -> int:
    """``dispatch.input.rejected`` on the dead-letter topic, read to its end."""
    topic = Topics(settings.topic_prefix)(topics.DEADLETTER)
    consumer = make_consumer(bootstrap, group=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        count = 0
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=200)
            count += sum(b'"dispatch.input.rejected"' in r.value for p in batch.values() for r in p)
        return count
    finally:
        await consumer.stop()


def assert_decided_once(
    decided: Decided,
    burst: Sequence[tuple[bytes, bytes]],
    among: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Every request of ``burst`` assigned; none of ``burst`` or ``among`` assigned twice
    differently (copies of one decision, same id, are what at-least-once allows)."""
    tickets = {key.decode() for key, _ in burst}
    assert tickets <= decided.assigned.keys(), "a request without its assignment"
    tickets |= {key.decode() for key, _ in among}
    twice = {t: ids for t, ids in decided.assigned.items() if t in tickets and len(ids) > 1}
    assert not twice, f"decided differently twice: {list(twice.items())[:3]}"


async def test_a_router_killed_mid_burst_leaves_every_request_decided_once(
    settings: Settings, group: RouterGroup, kafka_bootstrap: str
) -> None:
    first, second = bursts((600, 600))
    requests_topic = Topics(settings.topic_prefix)(topics.REQUESTS)
    decided = Decided(kafka_bootstrap, Topics(settings.topic_prefix)(topics.DECISIONS))
    await decided.consumer.start()
    try:
        group.add()
        group.add()
        await wait_members(group, 2)
        await produce_all(kafka_bootstrap, requests_topic, first)

        async def started() -> bool:
            await decided.poll()
            return decided.copies > 0

        await eventually(started, "the first assignments", 60)
        group.kill(0)
        await produce_all(kafka_bootstrap, requests_topic, second)
        await decided.until({key.decode() for key, _ in first + second})
        group.check_alive(killed=frozenset({0}))
        assert group.alive() == [1]
    finally:
        await decided.consumer.stop()
    assert_decided_once(decided, first + second)
    assert await rejected_count(settings, kafka_bootstrap) == 0


async def test_a_router_joining_mid_burst_grows_the_group_and_nothing_is_decided_twice(
    settings: Settings, group: RouterGroup, kafka_bootstrap: str
) -> None:
    await joining_mid_burst(settings, group, kafka_bootstrap)


async def joining_mid_burst(settings: Settings, group: RouterGroup, kafka_bootstrap: str) -> None:
    first, second, third = bursts((500, 500, 500))
    requests_topic = Topics(settings.topic_prefix)(topics.REQUESTS)
    decided = Decided(kafka_bootstrap, Topics(settings.topic_prefix)(topics.DECISIONS))
    await decided.consumer.start()
    try:
        group.add()
        group.add()
        await wait_members(group, 2)
        await produce_all(kafka_bootstrap, requests_topic, first)
        group.add()  # joins while the first part is being decided
        await produce_all(kafka_bootstrap, requests_topic, second)
        await wait_members(group, 3)
        await produce_all(kafka_bootstrap, requests_topic, third)
        await decided.until({key.decode() for key, _ in first + second + third})
        group.check_alive()
        assert group.alive() == [0, 1, 2]
    finally:
        await decided.consumer.stop()
    assert_decided_once(decided, first + second + third)
    assert await rejected_count(settings, kafka_bootstrap) == 0
