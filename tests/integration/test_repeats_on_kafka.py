"""Repeat reports on the real broker: the router merges what its category's rule calls one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.events import Location
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from tests.kafka import Record, produce, read_until, with_type
from tests.stacks import running

T0 = datetime.now(CHINA)  # the router's clock is the wall clock: no deadline passes meanwhile


@pytest.fixture(scope="module")
def router(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(kafka_bootstrap, Path(tmp_path_factory.mktemp("repeats")), ("router",)) as s:
        yield s


async def send(stack: Stack, text: str, location: Location | None, minutes: int = 0) -> str:
    """One request, then its decisions seen on the broker: the ticket id."""
    body = RequestIn(external_id=f"rp-{uuid.uuid4().hex[:8]}", description=text, location=location)
    event = received_event(body, "grid-patrol", T0 + timedelta(minutes=minutes), channel="kafka")
    names = stack.settings.topic_prefix
    await produce(
        stack.bootstrap,
        f"{names}dispatch.requests",
        encode(event),
        key=event.subject.encode(),
        headers=HEADERS,
    )
    ticket = event.subject
    await decisions(stack, ticket)
    return ticket


def decided(records: list[Record], ticket: str) -> bool:
    return bool(
        with_type(records, "dispatch.ticket.assigned", ticket)
        or with_type(records, "dispatch.ticket.closed", ticket)
    )


async def decisions(stack: Stack, *tickets: str) -> list[Record]:
    """Every decision so far, once each of ``tickets`` is assigned or merged."""
    return await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: all(decided(rs, t) for t in tickets),
    )


def merged_into(records: list[Record], ticket: str) -> str | None:
    closed = with_type(records, "dispatch.ticket.closed", ticket)
    return orjson.loads(closed[0].value)["data"]["merged_into"] if closed else None


async def test_three_buildings_of_one_community_are_three_tickets(router: Stack) -> None:
    tickets = [
        await send(
            router, f"{b}楼道灯不亮了", Location(address=f"府前社区{b}", community="府前社区")
        )
        for b in ("5栋", "6栋", "7栋")
    ]
    records = await decisions(router, *tickets)
    assert [merged_into(records, t) for t in tickets] == [None, None, None]
    assert all(with_type(records, "dispatch.ticket.assigned", t) for t in tickets)
    escalated = [r for t in tickets for r in with_type(records, "dispatch.ticket.escalated", t)]
    assert not [r for r in escalated if b"repeat_report" in r.value]


async def test_one_buildings_light_reported_twice_is_one_ticket_raised_once(router: Stack) -> None:
    where = Location(address="府前10栋", community="府前社区")
    first = await send(router, "10栋楼道灯不亮", where)
    again = [await send(router, "十栋的楼道灯还是坏的", where, n) for n in (5, 10)]
    names = router.settings.topic_prefix
    links = await read_until(
        router.bootstrap,
        f"{names}dispatch.links",
        lambda rs: len(with_type(rs, "dispatch.ticket.linked", first)) == 2,
    )
    assert {
        orjson.loads(r.value)["data"]["repeat"] for r in links if r.key == first.encode()
    } >= set(again)
    records = await read_until(
        router.bootstrap,
        f"{names}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.escalated", first)),
    )
    assert [merged_into(records, t) for t in again] == [first, first]
    escalated = [
        r
        for r in with_type(records, "dispatch.ticket.escalated", first)
        if orjson.loads(r.value)["data"]["reason"] == "repeat_report"
    ]
    assert len(escalated) == 1  # one level, once in the window, however many repeats
    data = orjson.loads(escalated[0].value)["data"]
    assert (data["reason"], data["from_level"], data["to_level"]) == (
        "repeat_report",
        "microgrid",
        "areagrid",
    )
    classified = orjson.loads(with_type(records, "dispatch.ticket.classified", first)[0].value)
    assert classified["logicversion"] and classified["policyversion"]


async def test_two_power_outages_in_one_micro_grid_are_one_ticket(router: Stack) -> None:
    first = await send(router, "家里突然停电了", Location(address="城北新村北区1幢"))
    second = await send(router, "我们楼停电了", Location(address="城北新村北区2号楼"), 3)
    assert merged_into(await decisions(router, second), second) == first


async def test_reports_without_a_location_are_never_merged(router: Stack) -> None:
    tickets = [await send(router, "楼道的灯坏了没人修", None, n) for n in range(3)]
    records = await decisions(router, *tickets)
    assert [merged_into(records, t) for t in tickets] == [None, None, None]
