"""Open311 GeoReport v2 documents validate against the published JSON Schemas."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from schemas.policy import load_policy
from schemas.words import CHINA
from services.intake.open311 import (
    Open311Error,
    Query,
    Service,
    form_request,
    parse_query,
    request_document,
    select,
    services_document,
)
from services.intake.views import TicketState, apply, view
from tests.unit.test_intake_views import fold, lifecycle, received

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "open311"  # copied from shared/open311


def validator(name: str) -> jsonschema.Draft7Validator:
    """A validator of ``name`` that resolves the schemas' relative ``$ref`` to each other."""
    resources = [
        (f, Resource(contents=json.loads((SCHEMAS / f).read_text()), specification=DRAFT7))
        for f in ("service.json", "services.json", "request.json", "requests.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft7Validator(schema, registry=registry)


def test_services_of_the_policy_validate_and_carry_chinese_names() -> None:
    policy = load_policy(None)
    services = services_document(
        Service(c.code, c.name, c.description, c.tier, c.keywords) for c in policy.categories
    )
    validator("services.json").validate(services)
    named = {s["service_code"]: s["service_name"] for s in services}
    assert named["streetlight"] == "路灯照明"
    assert {s["group"] for s in services} <= {"大事", "中事", "小事", "杂事"}


def test_a_ticket_at_every_stage_validates_as_a_service_request() -> None:
    events = lifecycle()
    names = {"corridor_light": "楼道照明"}
    for stop in range(1, len(events) + 1):
        shown = view(fold(events[:stop]))
        assert shown is not None
        document = request_document(shown, names, "other")
        validator("requests.json").validate([document])
    assert document["status"] == "closed"
    assert document["agency_responsible"] == "赖清香"
    assert document["expected_datetime"] == "2026-02-13T19:20:00+08:00"
    assert document["status_notes"] == "结案:按期办结"
    assert "13905981234" not in json.dumps(document, ensure_ascii=False)


def test_an_unclassified_ticket_is_open_with_the_default_service_code() -> None:
    shown = view(apply(TicketState(ticket_id=received().subject), received()))
    assert shown is not None
    document = request_document(shown, {}, "other")
    assert document["status"] == "open" and document["service_code"] == "other"
    validator("request.json").validate(document)


def test_form_needs_service_code_location_and_description() -> None:
    codes = ["streetlight"]
    with pytest.raises(Open311Error, match="service_code") as missing:
        form_request({}, codes)
    assert missing.value.status == 400
    with pytest.raises(Open311Error) as unknown:
        form_request({"service_code": "nope"}, codes)
    assert unknown.value.status == 404
    with pytest.raises(Open311Error, match="需要位置"):
        form_request({"service_code": "streetlight", "description": "x"}, codes)
    with pytest.raises(Open311Error, match="lat"):
        form_request({"service_code": "streetlight", "lat": "north", "long": "1"}, codes)


def test_the_same_form_twice_is_the_same_request_and_external_id_wins() -> None:
    form = {"service_code": "streetlight", "address_string": "城北新村", "description": "路灯坏了"}
    first, again = form_request(form, ["streetlight"]), form_request(dict(form), ["streetlight"])
    assert first.external_id == again.external_id
    own = form_request({**form, "external_id": "APP-77"}, ["streetlight"])
    assert own.external_id == "APP-77"
    assert first.location is not None and first.location.address == "城北新村"


def test_query_filters_follow_georeport() -> None:
    shown = view(fold(lifecycle()))
    assert shown is not None
    now = datetime(2026, 2, 20, tzinfo=CHINA)
    assert select([shown], Query(), now) == [shown]
    assert select([shown], parse_query(None, None, "open", None, None), now) == []
    assert select([shown], parse_query(None, "corridor_light", "closed", None, None), now)
    assert select([shown], Query(), now + timedelta(days=91)) == []
    assert select([shown], parse_query(shown.ticket_id, "x", "open", None, None), now)
    with pytest.raises(Open311Error, match="status"):
        parse_query(None, None, "pending", None, None)
    with pytest.raises(Open311Error, match="start_date"):
        parse_query(None, None, None, "yesterday", None)
