"""Open311 GeoReport v2 against the running engine (intake, router, notifier, console): what a
GeoReport client posts is dispatched, and what it reads validates against the GeoReport v2
JSON Schemas; errors come in Open311's own format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from dispatch.stack import Stack
from tests.kafka import eventually

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "open311"  # copied from shared/open311
BASE = "/open311/v2"


def validate(document: Any, name: str) -> None:
    resources = [
        (f, Resource(contents=json.loads((SCHEMAS / f).read_text()), specification=DRAFT7))
        for f in ("service.json", "services.json", "request.json", "requests.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft7Validator(schema, registry=registry).validate(document)


def client(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.intake_url, timeout=30)


def post_form(stack: Stack, **fields: str) -> httpx.Response:
    with client(stack) as http:
        return http.post(f"{BASE}/requests.json", data=fields)


def test_services_are_the_policy_categories_in_chinese(stack: Stack) -> None:
    with client(stack) as http:
        response = http.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.json()
    validate(services, "services.json")
    assert {"service_code": "streetlight", "service_name": "路灯照明"}.items() <= next(
        s for s in services if s["service_code"] == "streetlight"
    ).items()


async def test_a_posted_request_is_dispatched_and_reads_back_with_its_agency_and_deadline(
    stack: Stack,
) -> None:
    created = post_form(
        stack,
        api_key="demo-volunteer",
        service_code="streetlight",
        address_string="沙县区城北新村南区5幢",
        lat="26.39",
        long="117.79",
        description="城北新村南区5幢门口路灯不亮,晚上太黑",
        first_name="明",
        last_name="黄",
        phone="18805988182",
        external_id="SSP-OPEN311-0001",
    )
    assert created.status_code == 201, created.text
    [posted] = created.json()
    ticket_id = posted["service_request_id"]
    form = {
        "api_key": "demo-volunteer",
        "service_code": "streetlight",
        "address_string": "沙县区城北新村南区5幢",
        "lat": "26.39",
        "long": "117.79",
        "description": "城北新村南区5幢门口路灯不亮,晚上太黑",
        "first_name": "明",
        "last_name": "黄",
        "phone": "18805988182",
        "external_id": "SSP-OPEN311-0001",
    }
    again = post_form(stack, **form)
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == ticket_id
    changed = post_form(stack, **{**form, "description": "城北新村南区5幢门口路灯又不亮了"})
    assert changed.status_code == 409 and changed.json()[0]["code"] == 409

    seen: dict[str, Any] = {}

    async def assigned() -> bool:
        with client(stack) as http:
            response = http.get(f"{BASE}/requests/{ticket_id}.json")
        assert response.status_code == 200
        seen["request"] = response.json()
        return seen["request"][0]["agency_responsible"] is not None

    await eventually(assigned, "the router assigned the Open311 request", timeout=60)
    document = seen["request"]
    validate(document, "requests.json")
    [request] = document
    assert request["status"] == "open"
    assert request["service_code"] == "streetlight" and request["service_name"] == "路灯照明"
    assert request["expected_datetime"] is not None
    assert request["status_notes"].startswith("派单:")
    assert "18805988182" not in json.dumps(document, ensure_ascii=False)

    with client(stack) as http:
        listed = http.get(f"{BASE}/requests.json", params={"service_code": "streetlight"})
        by_id = http.get(f"{BASE}/requests.json", params={"service_request_id": ticket_id})
        closed = http.get(f"{BASE}/requests.json", params={"status": "closed"})
        mine = http.get(
            f"/v1/tickets/{ticket_id}", headers={"Authorization": "Bearer demo-volunteer"}
        )
    validate(listed.json(), "requests.json")
    assert ticket_id in [r["service_request_id"] for r in listed.json()]
    assert [r["service_request_id"] for r in by_id.json()] == [ticket_id]
    assert ticket_id not in [r["service_request_id"] for r in closed.json()]
    assert mine.json()["status"] in ("assigned", "classified")
    assert mine.json()["reporter"] == {"name": "黄 明", "phone": "188****8182"}


def test_errors_are_in_open311_format(stack: Stack) -> None:
    with client(stack) as http:
        no_key = http.post(f"{BASE}/requests.json", data={"service_code": "streetlight"})
        bad_key = http.post(
            f"{BASE}/requests.json", data={"api_key": "wrong", "service_code": "streetlight"}
        )
        missing = http.post(f"{BASE}/requests.json", data={"api_key": "demo-ehu"})
        unknown_code = http.post(
            f"{BASE}/requests.json",
            data={"api_key": "demo-ehu", "service_code": "ufo", "description": "x", "lat": "1"},
        )
        no_such = http.get(f"{BASE}/requests/TNOSUCHTICKET0.json")
        bad_status = http.get(f"{BASE}/requests.json", params={"status": "pending"})
    for response, status in (
        (no_key, 403),
        (bad_key, 403),
        (missing, 400),
        (unknown_code, 404),
        (no_such, 404),
        (bad_status, 400),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        [error] = response.json()
        assert error["code"] == status and error["description"]
    assert "service_code" in missing.json()[0]["description"]


def test_bearer_header_is_accepted_in_place_of_api_key(stack: Stack) -> None:
    with client(stack) as http:
        response = http.post(
            f"{BASE}/requests.json",
            data={
                "service_code": "garbage",
                "address_string": "长泰花园南门",
                "description": "垃圾没人清运",
            },
            headers={"Authorization": "Bearer demo-miniprogram"},
        )
    assert response.status_code == 201
