"""Test helpers that talk to the real broker: read a topic until what a test waits for is there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

Record = ConsumerRecord[bytes, bytes]
POLL_S = 0.05
T = TypeVar("T")


async def first(
    check: Callable[[], Awaitable[T | None]], what: Callable[[], str], timeout: float = 30.0
) -> T:
    """``await check()``'s first truthy answer, polling; fails with ``what()`` after
    ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what()}")
        await asyncio.sleep(POLL_S)
    return found


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    """Wait until ``check()`` holds, polling, failing with ``what`` after ``timeout``."""
    await first(check, lambda: what, timeout)


def settled(check: Callable[[], T | None], what: Callable[[], str], timeout: float = 30.0) -> T:
    """``check()``'s first truthy answer, for synchronous tests that watch HTTP views (no event
    loop is running there): ``first`` on a loop of its own; fails with ``what()``."""

    async def asked() -> T | None:
        return check()

    return asyncio.run(first(asked, what, timeout))


async def read_until(
    bootstrap: str, topic: str, done: Callable[[list[Record]], bool], timeout: float = 60.0
) -> list[Record]:
    """Every record of ``topic`` from the beginning, once ``done(records)`` holds."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Record] = []
    try:
        async with asyncio.timeout(timeout):
            while not done(records):
                batch = await consumer.getmany(timeout_ms=200)
                for part in batch.values():
                    records.extend(part)
    except TimeoutError as exc:
        raise AssertionError(
            f"{topic}: condition not met within {timeout}s; {len(records)} records seen"
        ) from exc
    finally:
        await consumer.stop()
    return records


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    **options: Any,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **options)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


def with_type(records: list[Record], kind: str, subject: str | None = None) -> list[Record]:
    import orjson

    out = []
    for record in records:
        try:
            document = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            continue
        if document.get("type") == kind and (subject is None or document.get("subject") == subject):
            out.append(record)
    return out
