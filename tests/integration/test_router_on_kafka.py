"""The router's shell on the real broker: bad input is dead-lettered, redelivery changes nothing."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import orjson

from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.words import CHINA
from services.common.bus import partition_of
from services.intake.models import RequestIn, received_event
from tests.kafka import produce, read_until, with_type


def request_bytes(external_id: str, description: str = "城北新村南区7幢楼梯灯不亮"):  # type: ignore[no-untyped-def]
    event = received_event(
        RequestIn(external_id=external_id, description=description),
        "grid-patrol",
        datetime(2026, 3, 1, 9, 0, tzinfo=CHINA),
    )
    return event.subject.encode(), encode(event)


async def test_undecodable_input_is_dead_lettered_and_later_input_still_routed(
    stack: Stack,
) -> None:
    names = stack.settings.topic_prefix
    junk = b"\x00\x01 this is not a CloudEvent"
    await produce(stack.bootstrap, f"{names}dispatch.requests", junk, key=b"junk-key")
    key, good = request_bytes(f"after-junk-{uuid.uuid4().hex[:6]}")
    await produce(stack.bootstrap, f"{names}dispatch.requests", good, key=key, headers=HEADERS)

    letters = await read_until(
        stack.bootstrap,
        f"{names}dispatch.deadletter",
        lambda rs: bool(with_type(rs, "dispatch.input.rejected")),
    )
    letter = orjson.loads(with_type(letters, "dispatch.input.rejected")[0].value)
    assert base64.b64decode(letter["data"]["original"]) == junk
    assert base64.b64decode(letter["data"]["original_key"]) == b"junk-key"
    assert letter["data"]["reason"].startswith("not JSON")
    origin = letter["data"]["origin"]
    assert origin["topic"] == f"{names}dispatch.requests"
    assert origin["service"] == "router"
    assert isinstance(origin["partition"], int) and isinstance(origin["offset"], int)

    await read_until(
        stack.bootstrap,
        f"{names}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", key.decode())),
    )


async def test_a_redelivered_request_emits_no_second_assignment(stack: Stack) -> None:
    names = stack.settings.topic_prefix
    partitions = stack.settings.partitions
    key, value = request_bytes(f"redeliver-{uuid.uuid4().hex[:6]}", "府前9幢门口的路灯不亮")
    # A later request on the same partition: once it is assigned, the copy before it was seen.
    n = 0
    while True:
        sentinel_key, sentinel = request_bytes(
            f"sentinel-{n}-{uuid.uuid4().hex[:6]}", f"洋坊新村第{n}号楼下水道堵塞"
        )
        if partition_of(sentinel_key, partitions) == partition_of(key, partitions):
            break
        n += 1
    for payload, k in ((value, key), (value, key), (sentinel, sentinel_key)):
        await produce(stack.bootstrap, f"{names}dispatch.requests", payload, key=k, headers=HEADERS)
    decisions = await read_until(
        stack.bootstrap,
        f"{names}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", sentinel_key.decode())),
    )
    assert len(with_type(decisions, "dispatch.ticket.assigned", key.decode())) == 1
    assert len(with_type(decisions, "dispatch.ticket.classified", key.decode())) == 1
