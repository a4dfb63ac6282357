"""The event contract: envelope attributes, codec, ids derived from causes, generated copies."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

import orjson
import pytest

from schemas import generate
from schemas.codec import EventDecodeError, decode, encode, key_of
from schemas.envelope import derive_id, ticket_id_for
from schemas.events import (
    DECISION_TYPES,
    EVENT_TYPES,
    UPDATE_TYPES,
    Event,
    RequestReceived,
    RequestReceivedData,
    Update,
)
from schemas.words import CHINA

WHEN = datetime(2026, 2, 10, 19, 20, tzinfo=CHINA)


def received(description: str = "城北新村南区5幢没有路灯") -> RequestReceived:
    ticket = ticket_id_for("hotline-12345", "12345-20260210-0042")
    return RequestReceived(
        id=derive_id("urn:x", "received"),
        source="/dispatch/intake/hotline-12345",
        time=WHEN,
        subject=ticket,
        causationid="urn:x",
        correlationid="urn:x",
        data=RequestReceivedData(
            ticket_id=ticket,
            source="hotline-12345",
            external_id="12345-20260210-0042",
            description=description,
            received_at=WHEN,
        ),
    )


def test_derived_ids_are_stable_and_depend_on_cause_and_purpose() -> None:
    assert derive_id("a", "assigned:1") == derive_id("a", "assigned:1")
    assert derive_id("a", "assigned:1") != derive_id("a", "assigned:2")
    assert derive_id("a", "x") != derive_id("b", "x")


def test_ticket_id_is_the_same_for_the_same_upstream_request_and_readable() -> None:
    first = ticket_id_for("ehu", "E-1")
    assert first == ticket_id_for("ehu", "E-1")
    assert first != ticket_id_for("shopfront", "E-1")
    assert first.startswith("T") and len(first) == 14
    assert not set(first[1:]) & set("ILOU")


def test_event_round_trips_through_the_wire_format() -> None:
    event = received()
    wire = encode(event)
    document = orjson.loads(wire)
    assert document["specversion"] == "1.0"
    assert document["datacontenttype"] == "application/json"
    assert document["time"] == "2026-02-10T19:20:00+08:00"
    assert {"causationid", "correlationid", "subject", "id", "source", "type"} <= set(document)
    assert decode(wire) == event
    assert key_of(event) == event.data.ticket_id.encode()


def test_chinese_text_survives_encoding_as_utf8() -> None:
    wire = encode(received("9幢20号店的咖啡店污水管堵塞"))
    assert "9幢20号店的咖啡店污水管堵塞".encode() in wire


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"type": "dispatch.request.received"}', "invalid dispatch.request.received event"),
        (b'{"type": "something.else", "id": "x"}', "invalid"),
    ],
)
def test_undecodable_bytes_raise_a_reason_a_person_can_act_on(wire: bytes, reason: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode(wire)
    assert reason in caught.value.reason


def test_unknown_fields_are_refused() -> None:
    document = orjson.loads(encode(received()))
    document["data"]["surprise"] = 1
    with pytest.raises(EventDecodeError) as caught:
        decode(orjson.dumps(document))
    assert any("surprise" in line for line in caught.value.errors)


def test_checked_in_json_schemas_and_asyncapi_match_the_models() -> None:
    expected = generate.render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in generate.GENERATED.iterdir()}
    stale = sorted(name for name in expected if on_disk.get(name) != expected[name])
    extra = sorted(set(on_disk) - set(expected))
    assert not stale and not extra, f"run `make schemas`: stale {stale}, extra {extra}"


def test_asyncapi_names_every_contract_topic_and_the_extensions() -> None:
    document = generate.asyncapi()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses >= {
        "dispatch.intake.raw",
        "dispatch.requests",
        "dispatch.updates",
        "dispatch.decisions",
        "dispatch.notifications",
        "dispatch.deadletter",
    }


def test_the_typed_unions_name_exactly_the_registered_event_types() -> None:
    """``Update`` and ``Event`` are spelled out for the type checker; they must not drift from
    the tuples the topics, the codec and the generated schemas are built from."""
    assert get_args(Update) == UPDATE_TYPES
    union, _ = get_args(Event)
    assert set(get_args(union)) == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) and set(DECISION_TYPES) < set(EVENT_TYPES)
