"""Who may do what, on the broker with the intake, router, notifier and console running: API keys
for upstream systems, signed tokens for handlers and operators, the permission table of the
contract, what a caller may see, and residents' numbers masked in GET, Open311, SSE and logs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dispatch.stack import Stack
from services.common.identity import mint
from tests.kafka import eventually
from tests.stacks import assigned, assigned_view, bearer, handler, operator, running, token

HOTLINE = bearer("demo-hotline-12345")
VOLUNTEER = bearer("demo-volunteer")
PROBLEM = "application/problem+json"
# Every writing of one resident's mobile, and an ID number: their middle digits never show.
WRITINGS = (
    "13905981234",
    "139-0598-1234",
    "139 0598 1234",
    "+86 139 0598 1234",
    "１３９０５９８１２３４",
)
ID_NUMBER = "350402198001011234"
HIDDEN = ("0598", "０５９８", "19800101")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(kafka_bootstrap, tmp_path_factory.mktemp("permissions")) as started:
        yield started


def submit(stack: Stack, description: str, who: dict[str, str] = HOTLINE, **extra: Any) -> str:
    body = {"external_id": f"perm-{uuid.uuid4().hex[:10]}", "description": description, **extra}
    response = httpx.post(f"{stack.intake_url}/v1/requests", json=body, headers=who)
    assert response.status_code == 202, response.text
    ticket_id: str = response.json()["ticket_id"]
    return ticket_id


def post(stack: Stack, ticket: str, body: dict[str, Any], who: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{stack.intake_url}/v1/tickets/{ticket}/updates", json=body, headers=who)


def get(stack: Stack, ticket: str, who: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{stack.intake_url}/v1/tickets/{ticket}", headers=who)


@pytest.fixture(scope="module")
def ticket(stack: Stack) -> str:
    return submit(stack, "城北新村南区5幢楼道灯坏了,晚上看不见")


@pytest.fixture(scope="module")
def unit(stack: Stack, ticket: str) -> str:
    found: str = assigned(stack, ticket)["assignee"]["id"]
    return found


CLAIM = {"action": "claim", "actor": "赖清香"}
RESOLVE = {"action": "resolve", "actor": "赖清香"}
FEEDBACK = {"action": "feedback", "actor": "回访", "satisfaction": 5}


@pytest.mark.parametrize("body", [CLAIM, RESOLVE, FEEDBACK], ids=["claim", "resolve", "feedback"])
def test_a_volunteer_key_cannot_act_on_a_hotline_ticket(
    stack: Stack, ticket: str, unit: str, body: dict[str, Any]
) -> None:
    response = post(stack, ticket, body, VOLUNTEER)
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM


def test_a_source_key_cannot_claim_even_its_own_ticket(
    stack: Stack, ticket: str, unit: str
) -> None:
    response = post(stack, ticket, CLAIM, HOTLINE)
    assert response.status_code == 403
    assert "handler" in response.json()["detail"]


def test_an_operator_cannot_claim_for_a_handler(stack: Stack, ticket: str, unit: str) -> None:
    assert post(stack, ticket, CLAIM, operator(stack)).status_code == 403


def test_a_handler_of_another_unit_cannot_claim_nor_see_it(
    stack: Stack, ticket: str, unit: str
) -> None:
    other = handler(stack, "DEP-SW", "水务")  # a department, not on the ticket's path
    assert post(stack, ticket, CLAIM, other).status_code == 403
    assert get(stack, ticket, other).status_code == 404


async def test_a_handler_of_the_assigned_unit_claims_and_the_event_names_it(
    stack: Stack, ticket: str, unit: str
) -> None:
    mine = handler(stack, unit, "赖清香")
    response = post(stack, ticket, CLAIM, mine)
    assert response.status_code == 202, response.text
    shown = get(stack, ticket, mine)
    assert shown.status_code == 200
    entry = next(e for e in shown.json()["timeline"] if e["id"] == response.json()["event_id"])
    assert entry["by"] == f"handler:赖清香@{unit}"


async def test_reassign_is_an_operators_and_names_a_unit_of_the_policy(
    stack: Stack, ticket: str, unit: str
) -> None:
    body = {"action": "reassign", "actor": "值班长", "to": "DEP-SW"}
    refused = post(stack, ticket, body, handler(stack, unit))
    assert refused.status_code == 403
    unknown = post(stack, ticket, {**body, "to": "DEP-NOWHERE"}, operator(stack))
    assert unknown.status_code == 422 and unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["errors"][0]["pointer"] == "#/to"
    passed = post(stack, ticket, body, operator(stack))
    assert passed.status_code == 202, passed.text
    shown = get(stack, ticket, operator(stack))
    entry = next(e for e in shown.json()["timeline"] if e["id"] == passed.json()["event_id"])
    assert entry["by"].startswith("operator:")


def test_who_may_read_a_ticket(stack: Stack, ticket: str, unit: str) -> None:
    assert get(stack, ticket, HOTLINE).status_code == 200  # the submitting source
    assert get(stack, ticket, operator(stack)).status_code == 200
    assert get(stack, ticket, handler(stack, unit)).status_code == 200
    missing = get(stack, ticket, VOLUNTEER)  # another source: as if there were none
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert get(stack, ticket, bearer(token(stack, "helper"))).status_code == 404


def test_tokens_that_cannot_be_trusted_are_401(stack: Stack, ticket: str) -> None:
    now = datetime.now(UTC)
    secret = stack.settings.token_secret
    assert secret is not None
    expired = mint(secret, "operator", "x", None, timedelta(seconds=1), now - timedelta(hours=1))
    forged = mint("another-secret-of-32-bytes-or-more!!", "operator", "x", None,
                  timedelta(hours=1), now)  # fmt: skip
    for credential in (expired, forged, "eyJ.not.a-token"):
        response = get(stack, ticket, bearer(credential))
        assert response.status_code == 401 and response.headers["content-type"] == PROBLEM


def test_a_person_does_not_submit_requests(stack: Stack) -> None:
    body = {"external_id": "by-a-person", "description": "路灯坏了"}
    response = httpx.post(f"{stack.intake_url}/v1/requests", json=body, headers=operator(stack))
    assert response.status_code == 403


def test_a_known_external_id_with_another_body_is_409(stack: Stack) -> None:
    body = {"external_id": f"perm-{uuid.uuid4().hex[:10]}", "description": "井盖丢了"}
    url = f"{stack.intake_url}/v1/requests"
    assert httpx.post(url, json=body, headers=HOTLINE).status_code == 202
    assert httpx.post(url, json=body, headers=HOTLINE).status_code == 200
    changed = httpx.post(url, json={**body, "description": "井盖丢了,有人掉下去"}, headers=HOTLINE)
    assert changed.status_code == 409 and changed.headers["content-type"] == PROBLEM
    batch = {"requests": [body, {**body, "urgent": True}]}
    answers = httpx.post(f"{url}:batch", json=batch, headers=HOTLINE).json()["results"]
    assert [a["status"] for a in answers] == [200, 409]


async def test_an_update_the_router_refused_changes_nothing_in_get(stack: Stack) -> None:
    ticket = submit(stack, "金城嘉园3幢楼道灯坏了")
    unit = (await assigned_view(stack, ticket))["assignee"]["id"]
    early = post(stack, ticket, RESOLVE, handler(stack, unit))  # resolve before claim
    assert early.status_code == 202
    event_id = early.json()["event_id"]

    async def refused() -> bool:
        shown = get(stack, ticket, operator(stack)).json()
        return any(e["id"] == event_id and e["refused"] for e in shown["timeline"])

    await eventually(refused, "the router's refusal reaches the ticket's view")
    assert get(stack, ticket, operator(stack)).json()["status"] in ("assigned", "escalated")


def masked_description() -> str:
    return "家里电话" + ",".join(WRITINGS) + f",身份证{ID_NUMBER},翠竹小区12幢下水道堵了"


def assert_hidden(text: str) -> None:
    for digits in HIDDEN:
        assert digits not in text, f"{digits} shows in {text[:200]}"


@pytest.fixture(scope="module")
async def sse(stack: Stack) -> AsyncIterator[list[str]]:
    """The console's live stream, read from before the masked request is posted."""
    frames: list[str] = []
    url = f"{stack.console_url}/api/stream"
    bearer_token = token(stack, "operator")

    async def read() -> None:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("GET", url, params={"token": bearer_token}) as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                frames.append(line)

    task = asyncio.create_task(read())
    await eventually(lambda: _connected(frames), "the console's stream answers")
    yield frames
    task.cancel()


async def _connected(frames: list[str]) -> bool:
    return any(line.startswith(": connected") for line in frames)


async def test_every_writing_of_a_number_is_masked_in_get_open311_sse_and_logs(
    stack: Stack, sse: list[str]
) -> None:
    reporter = {"name": "赖秀英", "phone": "+86 139 0598 1234"}
    ticket = submit(
        stack,
        masked_description(),
        reporter=reporter,
        location={"address": f"翠竹小区12幢 联系{WRITINGS[1]}"},
    )
    shown = await assigned_view(stack, ticket)
    assert_hidden(orjson.dumps(shown).decode())
    assert "139****1234" in shown["description"] and "350402********1234" in shown["description"]

    async with httpx.AsyncClient() as client:
        public = await client.get(f"{stack.intake_url}/open311/v2/requests/{ticket}.json")
    assert public.status_code == 200
    text = public.text
    assert_hidden(text)
    assert "赖秀英" not in text and "reporter" not in text

    async def streamed() -> bool:
        return any(ticket in line for line in sse)

    await eventually(streamed, "the assignment reaches the console's stream")
    assert_hidden("\n".join(line for line in sse if ticket in line))

    assert_hidden(await asyncio.to_thread(every_log, stack.log_dir))


def every_log(logs: Path) -> str:
    return "\n".join(log.read_text(errors="replace") for log in sorted(logs.glob("*.log")))


def test_the_console_apis_need_an_operators_token(stack: Stack) -> None:
    url = f"{stack.console_url}/api/kpis"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=handler(stack, "MG-CB-01-01")).status_code == 403
    assert httpx.get(url, headers=HOTLINE).status_code == 401  # an API key is no person
    assert httpx.get(url, headers=operator(stack)).status_code == 200


def test_review_inputs_are_4xx_not_500(stack: Stack) -> None:
    old = httpx.get(f"{stack.intake_url}/open311/v2/requests.json?end_date=0001-01-01")
    assert old.status_code == 400
    deep = ("[" * 1000) + ("]" * 1000)
    nested = httpx.post(
        f"{stack.intake_url}/v1/requests",
        content=f'{{"external_id": "deep", "description": "x", "attachments": {deep}}}',
        headers={**HOTLINE, "content-type": "application/json"},
    )
    assert nested.status_code == 422 and nested.headers["content-type"] == PROBLEM

    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b"x" * 65536

    chunked = httpx.post(
        f"{stack.intake_url}/v1/requests",
        content=chunks(),
        headers={**HOTLINE, "content-type": "application/json"},
    )
    assert chunked.status_code == 413 and chunked.headers["content-type"] == PROBLEM
