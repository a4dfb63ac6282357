"""The console's pages and read APIs in process: sign-in, fragments, JSON, action bodies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.broker import free_port
from schemas.envelope import CloudEvent, derive_id
from schemas.events import PointsAwarded, PointsAwardedData
from schemas.policy import load_policy
from schemas.words import CHINA
from services.common.identity import Role, mint
from services.common.settings import Settings
from services.console.actions import ActionError, update_body, verdict
from services.console.kpis import Kpis
from services.console.pages import mount_pages
from services.console.reports import this_month
from services.console.signin import operator_from
from services.console.tickets import Tickets
from services.console.volunteers import Volunteers
from services.intake.models import RequestIn, received_event
from services.reports import Ledger, Period, assessment, hotspots
from services.router.kernel.core import step
from tests.conftest import SMALL_POLICY
from tests.unit.test_console_tickets import T0, request

SECRET = "console-test-secret-of-32-bytes-or-more"
SMALL = load_policy(SMALL_POLICY, Settings().sla_scale)


def token(role: Role = "operator", ttl: float = 3600, secret: str = SECRET) -> str:
    """A token of the deployment's own kind (services/common/identity.py); a past ``ttl``
    makes it expired."""
    now = datetime.now(UTC)
    if ttl < 0:
        return mint(
            secret, role, "值班员王", "DIST", timedelta(seconds=1), now + timedelta(seconds=ttl)
        )
    return mint(secret, role, "值班员王", "DIST", timedelta(seconds=ttl), now)


@dataclass
class Board:
    kpis: Kpis = field(default_factory=Kpis)
    tickets: Tickets = field(default_factory=Tickets)
    history: Ledger = field(default_factory=Ledger)
    volunteers: Volunteers = field(default_factory=Volunteers)
    listeners: set[asyncio.Queue[bytes]] = field(default_factory=set)


@pytest.fixture
def board() -> Board:
    made = Board()
    for event in request("V-1", "城北新村南区7幢楼梯灯不亮,回电13905981234"):
        made.tickets.fold(event)
        made.kpis.fold(event)
        made.history.add(event)
    return made


@pytest.fixture
def client(board: Board) -> TestClient:
    app = FastAPI()
    mount_pages(app, board, Settings(token_secret=SECRET, policy=SMALL_POLICY))
    return TestClient(app)


def auth(value: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {value or token()}"}


def test_only_a_valid_unexpired_operator_token_signs_in() -> None:
    settings = Settings(token_secret=SECRET)
    who = operator_from(f"Bearer {token()}", settings)
    assert who is not None and (who.sub, who.role, who.unit) == ("值班员王", "operator", "DIST")
    for bad in (
        token(role="handler"),
        token(ttl=-10),
        token(secret="another-secret-of-32-bytes-or-longer"),
        "not-a-jwt",
    ):
        assert operator_from(f"Bearer {bad}", settings) is None, bad
    assert operator_from(None, settings) is None
    assert operator_from(f"Bearer {token()}", Settings()) is None  # no secret: nobody


def test_console_apis_refuse_without_a_token_with_a_problem_document(client: TestClient) -> None:
    for path in (
        "/api/tickets",
        "/api/view/overview",
        "/api/grid",
        "/api/me",
        "/api/view/grid",
        "/api/view/assessment",
        "/api/view/hotspots",
    ):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
        assert client.get(path, headers=auth(token(role="handler"))).status_code == 401
    refused = client.post("/api/view/tickets/X/actions", data={"action": "remind"})
    assert refused.status_code == 401


def test_the_signed_in_operator_is_who_the_token_names(client: TestClient) -> None:
    me = client.get("/api/me", headers=auth())
    assert me.status_code == 200
    assert me.json() == {"sub": "值班员王", "role": "operator", "unit": "DIST"}


def test_a_console_without_a_token_secret_says_why_nobody_signs_in(board: Board) -> None:
    app = FastAPI()
    mount_pages(app, board, Settings(policy=SMALL_POLICY))
    answer = TestClient(app).get("/api/me", headers=auth())
    assert answer.status_code == 401
    assert "DISPATCH_TOKEN_SECRET" in answer.json()["detail"]


def test_pages_are_shells_that_hold_no_ticket_data(client: TestClient, board: Board) -> None:
    [ticket] = board.tickets.all()
    pages = ("/", "/tickets", f"/tickets/{ticket.ticket_id}", "/grid", "/assessment", "/hotspots")
    for path in (*pages, "/shelf", "/volunteers"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "楼梯灯" not in page.text and 'lang="zh-CN"' in page.text
        assert "尚未启用" not in page.text
    assert client.get("/static/htmx.min.js").status_code == 200


def test_ticket_views_show_the_timeline_masked(client: TestClient, board: Board) -> None:
    [ticket] = board.tickets.all()
    view = client.get(f"/api/view/tickets/{ticket.ticket_id}", headers=auth())
    assert view.status_code == 200
    assert "受理诉求" in view.text and "派单 →" in view.text
    assert "139****1234" in view.text and "13905981234" not in view.text
    data = client.get(f"/api/tickets/{ticket.ticket_id}", headers=auth()).json()
    assert data["status"] == "assigned" and len(data["timeline"]) == 3
    assert client.get("/api/tickets/NOPE", headers=auth()).status_code == 404
    listed = client.get("/api/tickets", params={"q": "楼梯灯"}, headers=auth()).json()
    assert [t["ticket_id"] for t in listed["items"]] == [ticket.ticket_id]
    assert client.get("/api/tickets", params={"tier": "city"}, headers=auth()).json()["total"] == 0
    overview = client.get("/api/view/overview", headers=auth())
    assert "受理" in overview.text and "趋势" in overview.text
    recent = client.get("/api/view/recent", headers=auth())
    assert ticket.ticket_id in recent.text


def test_the_grid_shows_the_open_ticket_at_its_unit(client: TestClient, board: Board) -> None:
    [ticket] = board.tickets.all()
    tree = client.get("/api/grid", headers=auth()).json()["grid"]
    assert tree["level"] == "district" and tree["open"] == 1

    def find(node: dict, unit: str) -> dict | None:  # type: ignore[type-arg]
        if node["id"] == unit:
            return node
        return next((f for c in node["children"] if (f := find(c, unit))), None)

    held = find(tree, ticket.assignee_id)
    assert held is not None and held["open"] == 1
    assert "五级网格" in client.get("/api/view/grid", headers=auth()).text


def test_an_action_form_becomes_the_intakes_update_body() -> None:
    form = {"action": "reassign", "to": "CM-CB", "note": " 属地不符 ", "nonce": "n", "tier": "x"}
    assert update_body(form, "值班员王") == {
        "action": "reassign",
        "actor": "值班员王",
        "note": "属地不符",
        "to": "CM-CB",
    }
    rated = update_body({"action": "feedback", "satisfaction": "4", "solved": "on"}, "王")
    assert rated == {"action": "feedback", "actor": "王", "satisfaction": 4, "solved": True}
    with pytest.raises(ActionError):
        update_body({"action": "delete"}, "王")


def test_the_intakes_refusal_is_shown_with_its_detail_masked() -> None:
    shown = verdict(
        422,
        {
            "title": "Unprocessable Content",
            "detail": "1 invalid field(s)",
            "errors": [{"pointer": "#/action", "detail": "not one of claim… (13905981234)"}],
        },
    )
    assert shown["ok"] is False and shown["status"] == 422
    assert shown["errors"] == ["#/action not one of claim… (139****1234)"]
    assert verdict(202, {"event_id": "e1"}) == {"ok": True, "status": 202, "event_id": "e1"}


def test_the_report_pages_default_to_this_month_so_far(client: TestClient) -> None:
    first, last = this_month()
    assert first.day == 1 and first <= last
    for path in ("/assessment", "/hotspots", "/volunteers"):
        page = client.get(path).text
        assert f'name="from" value="{first}"' in page and f'name="to" value="{last}"' in page
    assert 'value="microgrid"' in client.get("/assessment").text
    assert 'name="by"' not in client.get("/hotspots").text


def test_the_report_views_show_the_reports_figures(client: TestClient, board: Board) -> None:
    [ticket] = board.tickets.all()
    received = ticket.received_at.astimezone(CHINA).date().isoformat()
    span = {"from": received, "to": received}
    period = Period.parse(received, received)
    expected = assessment(board.history.facts(), period, "community", SMALL)
    [row] = expected["rows"]
    view = client.get("/api/view/assessment", params=span | {"by": "community"}, headers=auth())
    assert view.status_code == 200
    assert f'data-unit="{row["unit_id"]}"' in view.text and row["unit_name"] in view.text
    assert f"{row['score']:.2f}" in view.text and "0.0%" in view.text  # not claimed yet
    hot = hotspots(board.history.facts(), period, SMALL)
    [cluster] = hot["rows"]
    view = client.get("/api/view/hotspots", params=span, headers=auth())
    assert view.status_code == 200
    assert f"{cluster['place_name']} · {cluster['category_name']}" in view.text
    assert '<td class="count">1</td>' in view.text and '<td class="change up">+1</td>' in view.text


def test_a_report_view_says_why_it_cannot_answer(client: TestClient) -> None:
    for path, params in (
        ("/api/view/assessment", {"from": "2026-03-09", "to": "2026-03-01"}),
        ("/api/view/assessment", {"from": "2026-03-01", "to": "2026-03-09", "by": "city"}),
        ("/api/view/hotspots", {"from": "March", "to": "x"}),
        ("/api/view/hotspots", {}),
    ):
        answer = client.get(path, params=params, headers=auth())
        assert answer.status_code == 200, (path, params)  # a view: its content is the answer
        assert "无法生成报表" in answer.text and "<table" not in answer.text


def test_a_submitted_action_shows_the_verdict_and_reloads_the_timeline(board: Board) -> None:
    app = FastAPI()
    nowhere = f"http://127.0.0.1:{free_port()}"  # no intake listens there
    mount_pages(app, board, Settings(token_secret=SECRET, policy=SMALL_POLICY, intake_url=nowhere))
    client = TestClient(app)
    [ticket] = board.tickets.all()
    url = f"/api/view/tickets/{ticket.ticket_id}/actions"
    assert "HX-Trigger" not in client.get(url, headers=auth()).headers
    # the verdict says the intake cannot be reached; the page reloads the timeline anyway
    acted = client.post(url, data={"action": "remind", "nonce": "n1"}, headers=auth())
    assert acted.status_code == 200 and acted.headers["HX-Trigger"] == "acted"
    assert "催办未被受理:502 受理服务不可达" in acted.text


def shelved(external_id: str, description: str) -> list[CloudEvent]:
    """A mini-program request (the small policy shelves those) and the router's decisions."""
    body = RequestIn(external_id=external_id, description=description)
    event = received_event(body, "miniprogram", T0)
    _, decisions = step(None, event, SMALL)
    return [event, *decisions]


def awarded(ticket_id: str, volunteer: str, points: int, kind: str = "photo") -> CloudEvent:
    made: CloudEvent = PointsAwarded(
        id=derive_id("points", ticket_id),
        source="/dispatch/router",
        time=T0 + timedelta(hours=3),
        subject=ticket_id,
        causationid="c",
        correlationid="c",
        policyversion="small@1",
        ticketversion=5,
        data=PointsAwardedData(
            ticket_id=ticket_id,
            volunteer_id=volunteer,
            kind=kind,
            points=points,  # type: ignore[arg-type]
        ),
    )
    return made


def test_the_shelf_view_lists_the_worries_waiting_by_type_masked(
    client: TestClient, board: Board
) -> None:
    events = shelved("M-1", "小区门口有棵树需要修剪,联系13905981234")
    assert any(e.type == "dispatch.ticket.shelved" for e in events)
    for event in events:
        board.tickets.fold(event)
    [worry] = board.tickets.shelved()
    assert worry.status == "shelved" and worry.shelf and worry.shelf_until is not None
    view = client.get("/api/view/shelf", headers=auth())
    assert view.status_code == 200
    assert f'data-ticket="{worry.ticket_id}"' in view.text and "修剪" in view.text
    assert "139****1234" in view.text and "13905981234" not in view.text
    assert '<b data-key="total">1</b>' in view.text
    others = {"government", "market", "charity"} - {worry.shelf}
    for kind in others:
        listed = client.get("/api/view/shelf", params={"type": kind}, headers=auth()).text
        assert f'data-ticket="{worry.ticket_id}"' not in listed and "货架上没有" in listed
    assert "货架上没有" not in client.get("/api/view/shelf", params={"type": worry.shelf},
                                          headers=auth()).text  # fmt: skip


def test_the_volunteers_view_ranks_the_periods_awards_with_masked_names(
    client: TestClient, board: Board
) -> None:
    report = RequestIn(external_id="W-1", description="路灯不亮", volunteer_id="WS-7",
                       kind="photo", reporter={"name": "黄明", "phone": "13905981234"})  # fmt: skip
    received = received_event(report, "volunteer", T0)
    for event in (received, awarded(received.data.ticket_id, "WS-7", 2),
                  awarded("other", "WS-9", 10, "report")):  # fmt: skip
        board.volunteers.fold(event)
        board.volunteers.fold(event)  # a redelivery counts once
    day = T0.date().isoformat()
    view = client.get("/api/view/volunteers", params={"from": day, "to": day}, headers=auth())
    assert view.status_code == 200
    rows = view.text.split('<tr data-volunteer="')[1:]
    assert [r.split('"')[0] for r in rows] == ["WS-9", "WS-7"]
    assert (
        "黄*" in rows[1] and "黄明" not in view.text and '<b data-key="points">12</b>' in view.text
    )
    before = client.get("/api/view/volunteers", params={"from": "2026-01-01", "to": "2026-01-31"},
                        headers=auth()).text  # fmt: skip
    assert "统计期内没有得分的志愿者" in before
    wrong = client.get("/api/view/volunteers", params={"from": day}, headers=auth()).text
    assert "无法生成报表" in wrong
