"""Handlers' and reporters' updates: checked, written to ``dispatch.updates`` (acks=all) and
answered with the event id; the same ``Idempotency-Key`` is the same event. Each is posted by
the credential the permission table asks for (tests/integration/test_intake_permissions.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from dispatch.stack import Stack
from schemas import topics
from tests.kafka import first, read_until
from tests.stacks import assigned, assigned_view, handler, operator, running

HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    services = ("intake", "router")  # a handler acts on what the router assigned to its unit
    with running(kafka_bootstrap, tmp_path_factory.mktemp("updates"), services) as started:
        yield started


@pytest.fixture(scope="module")
def ticket(intake: Stack) -> str:
    body = {
        "external_id": f"12345-{uuid.uuid4().hex[:8]}",
        "description": "城北新村南区5幢楼道灯坏了,请回电13905981234",
        "reporter": {"name": "赖女士", "phone": "13905981234"},
    }
    response = httpx.post(f"{intake.intake_url}/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 202
    ticket_id: str = response.json()["ticket_id"]
    return ticket_id


@pytest.fixture(scope="module")
def unit(intake: Stack, ticket: str) -> str:
    """The unit the router assigned the ticket to."""
    found: str = assigned(intake, ticket)["assignee"]["id"]
    return found


@pytest.fixture(scope="module")
def mine(intake: Stack, unit: str) -> dict[str, str]:
    """A handler of the assigned unit."""
    return handler(intake, unit, "赖清香")


def update(
    intake: Stack,
    ticket_id: str,
    body: dict[str, Any],
    who: dict[str, str],
    key: str | None = None,
) -> httpx.Response:
    """Posted by ``who``."""
    headers = {**who, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(
        f"{intake.intake_url}/v1/tickets/{ticket_id}/updates", json=body, headers=headers
    )


async def on_updates(intake: Stack, event_id: str) -> list[dict[str, Any]]:
    topic = f"{intake.settings.topic_prefix}{topics.UPDATES}"
    records = await read_until(
        intake.bootstrap, topic, lambda rs: any(orjson.loads(r.value)["id"] == event_id for r in rs)
    )
    return [orjson.loads(r.value) for r in records if orjson.loads(r.value)["id"] == event_id]


async def test_a_claim_lands_on_dispatch_updates_and_in_the_ticket_timeline(
    intake: Stack, ticket: str, unit: str, mine: dict[str, str]
) -> None:
    claim = {"action": "claim", "actor": "赖清香", "note": "今晚去看"}
    response = update(intake, ticket, claim, mine)
    assert response.status_code == 202
    event_id = response.json()["event_id"]
    [event] = await on_updates(intake, event_id)
    assert event["type"] == "dispatch.ticket.claimed" and event["subject"] == ticket
    assert event["data"] == {
        "ticket_id": ticket,
        "actor": "赖清香",
        "note": "今晚去看",
        "principal": {"kind": "handler", "name": "赖清香", "unit": unit},
    }
    async with httpx.AsyncClient(base_url=intake.intake_url) as http:
        shown = (await http.get(f"/v1/tickets/{ticket}", headers=HOTLINE)).json()
    assert shown["status"] == "claimed"
    assert shown["timeline"][-1]["summary"] == "签收:赖清香"
    assert shown["timeline"][-1]["by"] == f"handler:赖清香@{unit}"
    assert "13905981234" not in str(shown) and shown["reporter"]["phone"] == "139****1234"


async def test_the_same_idempotency_key_is_the_same_event_answered_200(
    intake: Stack, ticket: str, mine: dict[str, str]
) -> None:
    body = {"action": "resolve", "actor": "赖清香", "note": "已更换楼道灯"}
    first = update(intake, ticket, body, mine, key="resolve-001")
    second = update(intake, ticket, body, mine, key="resolve-001")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json()
    clash = update(
        intake,
        ticket,
        {"action": "reject", "actor": "x", "reason_code": "not_our_duty"},
        mine,
        key="resolve-001",
    )
    assert clash.status_code == 409 and clash.headers["content-type"] == PROBLEM
    assert len(await on_updates(intake, first.json()["event_id"])) == 1


async def test_feedback_and_whistle_carry_their_fields(
    intake: Stack, ticket: str, mine: dict[str, str]
) -> None:
    rating = {"action": "feedback", "actor": "回访员", "satisfaction": 5}
    rated = update(intake, ticket, rating, who=HOTLINE)  # the submitting source, for its caller
    assert rated.status_code == 202
    [event] = await on_updates(intake, rated.json()["event_id"])
    assert event["type"] == "dispatch.ticket.feedback" and event["data"]["satisfaction"] == 5
    whistle = {"action": "whistle", "actor": "城北社区书记", "department": "DEP-SW"}
    called = update(intake, ticket, whistle, mine)
    assert called.status_code == 202
    [event] = await on_updates(intake, called.json()["event_id"])
    assert event["type"] == "dispatch.ticket.whistled"
    assert event["data"]["department"] == "DEP-SW"


async def test_a_whistled_committee_member_is_summoned_and_only_it_may_report_in(
    intake: Stack,
) -> None:
    body = {
        "external_id": f"jz-{uuid.uuid4().hex[:8]}",
        "description": "城北新村南区6幢楼道堆满杂物,物业不清理",
    }
    async with httpx.AsyncClient(base_url=intake.intake_url, timeout=10) as client:
        posted = await client.post("/v1/requests", json=body, headers=HOTLINE)
        assert posted.status_code == 202
        ticket = posted.json()["ticket_id"]
        unit = (await assigned_view(intake, ticket, client=client))["assignee"]["id"]
    assert unit.startswith("MG-CB-")
    community = handler(intake, "CM-CB", "城北社区书记")
    whistle = {"action": "whistle", "actor": "城北社区书记", "member": "JZ-CB-01"}
    assert update(intake, ticket, whistle, community).status_code == 202
    url = f"{intake.intake_url}/v1/tickets/{ticket}"

    async def summoned() -> dict[str, Any] | None:
        async with httpx.AsyncClient(timeout=10) as client:
            shown = (await client.get(url, headers=operator(intake))).json()
        return next((e for e in shown["timeline"] if e["type"].endswith(".summoned")), None)

    entry = await first(summoned, lambda: "the router summons JZ-CB-01")
    assert entry["member"] == "JZ-CB-01" and entry["report_by"]
    report = {"action": "report_in", "actor": "物业项目经理", "note": "已到场"}
    stranger = update(intake, ticket, report, handler(intake, "JZ-CB-02"))
    assert stranger.status_code == 403 and stranger.headers["content-type"] == PROBLEM
    member = handler(intake, "JZ-CB-01", "物业经理")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(url, headers=member)).status_code == 200  # whistled in: sees it
    answered = update(intake, ticket, report, member)
    assert answered.status_code == 202
    [event] = await on_updates(intake, answered.json()["event_id"])
    assert event["type"] == "dispatch.ticket.reported_in"
    assert event["data"]["principal"]["unit"] == "JZ-CB-01"


async def test_a_meeting_that_does_not_settle_it_hands_it_to_a_department(
    intake: Stack,
) -> None:
    """近邻恳谈会: the convener schedules it (its claim) and records the outcome; the handoff
    assigns the ticket to the department named."""
    text = "城北新村南区5幢楼上邻居装修噪音扰民,多次协商不成"
    body = {"external_id": f"meet-{uuid.uuid4().hex[:8]}", "description": text}
    async with httpx.AsyncClient(base_url=intake.intake_url, timeout=10) as client:
        posted = await client.post("/v1/requests", json=body, headers=HOTLINE)
        assert posted.status_code == 202
        ticket = posted.json()["ticket_id"]
        convener = (await assigned_view(intake, ticket, client=client))["assignee"]["id"]
        assert convener.endswith(":convener")
        url = f"/v1/tickets/{ticket}/updates"
        meeting = datetime.now(UTC) + timedelta(hours=2)
        scheduled = {"action": "schedule", "actor": "召集人", "at": meeting.isoformat(),
                     "place": "城北社区议事厅"}  # fmt: skip
        grid = handler(intake, "MG-CB-01-01")
        assert (await client.post(url, json=scheduled, headers=grid)).status_code == 403
        mine = handler(intake, convener, "召集人")
        past = {**scheduled, "at": (meeting - timedelta(hours=4)).isoformat()}
        refused = await client.post(url, json=past, headers=mine)
        assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#/at"
        assert (await client.post(url, json=scheduled, headers=mine)).status_code == 202

        async def shown(holds: Any) -> dict[str, Any] | None:
            got = await client.get(f"/v1/tickets/{ticket}", headers=operator(intake))
            view = got.json()
            return view if holds(view) else None

        claimed = await first(
            lambda: shown(lambda v: v["status"] == "claimed"), lambda: "the meeting is its claim"
        )
        assert claimed["timeline"][-1]["place"] == "城北社区议事厅"
        held = {"action": "hold", "actor": "召集人", "outcome": "not_agreed",
                "minutes": "双方各执一词,涉及违规装修,移交住建", "handoff": "DEP-ZJ"}  # fmt: skip
        assert (await client.post(url, json=held, headers=mine)).status_code == 202
        handed = await first(
            lambda: shown(lambda v: v["assignee"]["id"] == "DEP-ZJ"),
            lambda: "the handoff assigns it to 住建",
        )
        assert handed["status"] == "assigned"
        assert [e["type"] for e in handed["timeline"]][-2:] == [
            "dispatch.ticket.meeting_held",
            "dispatch.ticket.assigned",
        ]


async def test_a_volunteers_resolved_report_earns_points_and_an_invalid_one_none(
    intake: Stack,
) -> None:
    """五闪积分: awarded on dispatch.points when the report's ticket closes resolved; the
    ranking counts it; the same volunteer's invalid report earns nothing."""
    rider = f"WS-{uuid.uuid4().hex[:8]}"
    volunteer = {"Authorization": "Bearer demo-volunteer"}

    async def report(client: httpx.AsyncClient, text: str) -> str:
        body = {"external_id": f"ws-{uuid.uuid4().hex[:8]}", "description": text,
                "reporter": {"name": "黄明", "phone": "18805988182"},
                "volunteer_id": rider, "kind": "remove"}  # fmt: skip
        posted = await client.post("/v1/requests", json=body, headers=volunteer)
        assert posted.status_code == 202, posted.text
        ticket: str = posted.json()["ticket_id"]
        await assigned_view(intake, ticket, client=client)
        return ticket

    async def act(client: httpx.AsyncClient, ticket: str, body: dict[str, Any], who: Any) -> None:
        answer = await client.post(f"/v1/tickets/{ticket}/updates", json=body, headers=who)
        assert answer.status_code == 202, answer.text

    async def status(
        client: httpx.AsyncClient, ticket: str, wanted: str = "closed"
    ) -> dict[str, Any] | None:
        view = (await client.get(f"/v1/tickets/{ticket}", headers=operator(intake))).json()
        return view if view["status"] == wanted else None

    async with httpx.AsyncClient(base_url=intake.intake_url, timeout=10) as client:
        hotline = {"Authorization": "Bearer demo-hotline-12345"}
        wrong = {
            "external_id": "ws-x",
            "description": "灯坏了",
            "volunteer_id": rider,
            "kind": "help",
        }
        refused = await client.post("/v1/requests", json=wrong, headers=hotline)
        assert refused.status_code == 422  # only the volunteer source reports for a volunteer
        good = await report(client, "城北新村北区2幢墙上小广告贴满了,闪除后请社区复核")
        unit = (await assigned_view(intake, good, client=client))["assignee"]["id"]
        mine = handler(intake, unit, "网格员")
        await act(client, good, {"action": "claim", "actor": "网格员"}, mine)
        await first(lambda: status(client, good, "claimed"), lambda: "the claim is applied")
        await act(client, good, {"action": "resolve", "actor": "网格员"}, mine)
        await first(lambda: status(client, good, "resolved"), lambda: "the resolve is applied")
        rating = {"action": "feedback", "actor": "回访员", "satisfaction": 5}
        await act(client, good, rating, volunteer)
        view = await first(lambda: status(client, good), lambda: "the feedback closes it")
        assert [e["points"] for e in view["timeline"] if e["type"] == "dispatch.points.awarded"]
        bad = await report(client, "城北新村北区1幢有人乱贴广告(重复刷单测试)")
        invalid = {"action": "invalidate", "actor": "值班长", "reason_code": "malicious_repeat"}
        await act(client, bad, invalid, operator(intake))
        await first(lambda: status(client, bad), lambda: "the invalidation closes it")

        async def standing() -> dict[str, Any] | None:
            got = await client.get("/v1/volunteers/ranking", headers=operator(intake))
            assert got.status_code == 200, got.text
            return next((v for v in got.json()["volunteers"] if v["volunteer_id"] == rider), None)

        mine_now = await first(standing, lambda: f"{rider} in the ranking")
        assert (mine_now["points"], mine_now["reports"]) == (2, 1)  # the sample: 闪除 2
        assert mine_now["name"] == "黄*"
        later = await client.get(
            "/v1/volunteers/ranking", params={"from": "2099-01-01"}, headers=volunteer
        )
        assert later.status_code == 200 and later.json()["volunteers"] == []
        backwards = {"from": "2026-03-02", "to": "2026-03-01"}
        answer = await client.get("/v1/volunteers/ranking", params=backwards, headers=volunteer)
        assert answer.status_code == 422


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"action": "feedback", "actor": "回访员", "note": "operator"}, "#/satisfaction"),
        ({"action": "claim", "actor": "赖清香", "satisfaction": 5}, "#/satisfaction"),
        ({"action": "whistle", "actor": "书记"}, "#/department"),
        ({"action": "whistle", "actor": "书记", "member": "JZ-NO-99"}, "#/member"),
        ({"action": "close", "actor": "书记"}, "#/action"),
        ({"action": "claim"}, "#/actor"),
    ],
)
def test_invalid_update_is_a_422_naming_the_field(
    intake: Stack, ticket: str, body: dict[str, Any], pointer: str, mine: dict[str, str]
) -> None:
    who = operator(intake) if body["action"] == "feedback" else mine
    response = update(intake, ticket, body, who=who)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in response.json()["errors"]] == [pointer]


def test_update_of_an_unknown_ticket_is_a_404_problem(intake: Stack) -> None:
    claim = {"action": "claim", "actor": "赖清香"}
    response = update(intake, "TNOSUCHTICKET0", claim, who=handler(intake, "MG-CB-01-01"))
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    missing = httpx.get(f"{intake.intake_url}/v1/tickets/TNOSUCHTICKET0", headers=HOTLINE)
    assert missing.status_code == 404


def test_reading_a_ticket_needs_a_key(intake: Stack, ticket: str) -> None:
    assert httpx.get(f"{intake.intake_url}/v1/tickets/{ticket}").status_code == 401
