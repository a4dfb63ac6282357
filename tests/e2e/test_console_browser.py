"""The operators' console in a real browser (Debian's Chromium driven by Playwright) over the
whole stack on the session broker: sign in, see a new request arrive live, open it, act on it,
see its timeline change; no JavaScript error on any page. Screenshots go to a temporary folder,
or to docs/screenshots/ with DISPATCH_SCREENSHOTS=1 (`make screenshots`), so a test run leaves
the tree clean."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.stack import Stack
from services.common.identity import mint
from services.console.reports import this_month
from tests.conftest import ROOT
from tests.kafka import eventually
from tests.stacks import assignee_of, bearer, handler, operator, running, token

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make browser` installs it (as root)"
    ),
]
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is a dev dependency"
)

SECRET = "browser-test-token-secret-of-32-bytes"
HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("DISPATCH_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dispatch-screenshots"
)
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUESTS = [
    ("城北新村南区5幢没有路灯,晚上回家不安全,电话13905981234", "沙县城北新村南区5幢"),
    ("金城嘉园3幢楼上邻居半夜拖椅子,噪音很大", "沙县区金城嘉园3幢"),
    ("城北新村南区6幢有老人倒地叫不醒,快来人", "沙县城北新村南区6幢"),
    ("城北新村南区7幢化粪池外溢,臭味很大", "沙县城北新村南区7幢"),
]


def operator_token() -> str:
    return mint(SECRET, "operator", "值班员王", None, timedelta(hours=1), datetime.now(UTC))


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("console-browser")
    with running(kafka_bootstrap, state, token_secret=SECRET) as started:
        yield started


async def post(stack: Stack, description: str, address: str) -> str:
    body = {
        "external_id": f"12345-{uuid.uuid4().hex[:10]}",
        "description": description,
        "location": {"address": address},
        "reporter": {"name": "张三", "phone": "13905981234"},
    }
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.post(f"{stack.intake_url}/v1/requests", json=body, headers=HOTLINE)
    assert answer.status_code == 202, answer.text
    ticket_id: str = answer.json()["ticket_id"]
    return ticket_id


async def in_browser(stack: Stack, walk: Any) -> None:
    """``walk(page, stack)`` in a fresh Chromium page; no JavaScript error or warning on it."""
    problems: list[str] = []
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on(
                "console",
                lambda msg: (
                    problems.append(f"console.{msg.type}: {msg.text}")
                    if msg.type in ("error", "warning")
                    else None
                ),
            )
            await walk(page, stack)
        finally:
            await browser.close()
    assert problems == []


async def test_an_operator_sees_a_request_arrive_opens_it_and_acts_on_it(stack: Stack) -> None:
    await in_browser(stack, walk_through)


async def test_the_report_pages_show_the_reports_figures(stack: Stack) -> None:
    """After the walk-through (same stack): a ticket claimed, resolved and rated, and a repeat
    report; /assessment and /hotspots show, row by row, what the console's APIs say."""
    await rated_ticket(stack)
    await in_browser(stack, read_reports)


async def walk_through(page_: Any, stack: Stack) -> None:
    """Every step an operator takes, on ``page_`` (a Playwright page)."""
    expect = playwright_api.expect
    SHOTS.mkdir(parents=True, exist_ok=True)

    await page_.goto(stack.console_url + "/")
    await expect(page_.locator("#figures")).to_contain_text("请先登录")
    await page_.fill("#token", operator_token())
    await page_.click("#signin button")
    await expect(page_.locator("#operator")).to_contain_text("值班员王", timeout=10_000)
    await expect(page_.locator("#live")).to_have_text("实时", timeout=15_000)

    ticket_id = await post(stack, *REQUESTS[0])
    live_row = page_.locator(f'#feed tr.fresh:has(a:text-is("{ticket_id}"))')
    await expect(live_row.first).to_be_visible(timeout=30_000)  # arrived by the live stream
    for description, address in REQUESTS[1:]:
        await post(stack, description, address)
    await expect(page_.locator(".urgent-list li.emergency").first).to_be_visible(timeout=30_000)
    await expect(page_.locator(".figure.received b")).to_have_text("4", timeout=15_000)
    await page_.screenshot(path=str(SHOTS / "console-overview.png"))

    await live_row.first.locator("a").click()
    await page_.wait_for_url(f"**/tickets/{ticket_id}")
    timeline = page_.locator("#timeline")
    await expect(timeline).to_contain_text("派单 →", timeout=15_000)
    await expect(timeline).to_contain_text("系统日志", timeout=30_000)  # notified, no gateway
    body = await page_.locator("main").inner_text()
    assert "13905981234" not in body and "张三" not in body

    # 驳回 with nothing awaiting review: the intake answers with its problem document, and
    # the operator reads its detail and field errors, not only its status
    refuse = page_.locator("form.act:has(button[data-action=refuse])")
    await refuse.locator("input[name=request]").fill("no-such-request")
    await refuse.locator("button").click()
    verdict = page_.locator("#verdict")
    await expect(verdict).to_contain_text("驳回未被受理:422", timeout=15_000)
    await expect(verdict.locator(".problem-detail")).to_contain_text("invalid field")
    await expect(verdict.locator(".problem-errors")).to_contain_text("#/request")
    await expect(verdict.locator(".problem-errors")).to_contain_text("没有待审核的申请")

    # 改派 goes to the intake with the operator's token: the router moves the ticket to the
    # chosen unit, and the timeline shows it
    reassign = page_.locator("form.act:has(button[data-action=reassign])")
    await reassign.locator("select[name=to]").select_option("CM-CB")
    await reassign.locator("button").click()
    await expect(verdict).to_contain_text("改派已提交", timeout=15_000)
    moved = timeline.locator("li[data-type='dispatch.ticket.assigned']").last
    await expect(moved).to_contain_text("改派 → 城北社区", timeout=20_000)

    # the new unit's handler claims (through the intake, with a handler's token): the
    # operator's open page shows it, with who and the note
    async with httpx.AsyncClient(timeout=10) as client:
        unit = await assignee_of(client, stack, ticket_id)
        assert unit == "CM-CB"
        answer = await client.post(
            f"{stack.intake_url}/v1/tickets/{ticket_id}/updates",
            json={"action": "claim", "actor": "网格长", "note": "电话确认,今晚到场"},
            headers=handler(stack, unit, "网格长林"),
        )
        assert answer.status_code == 202, answer.text
    claimed = timeline.locator("li[data-type='dispatch.ticket.claimed']")
    await expect(claimed).to_contain_text("网格长", timeout=20_000)
    await expect(claimed).to_contain_text("今晚到场")
    await expect(page_.locator("#status")).to_have_text("已签收")
    await page_.screenshot(path=str(SHOTS / "console-ticket.png"), full_page=True)

    await page_.goto(f"{stack.console_url}/tickets?q={ticket_id}")
    await expect(page_.locator("#list tbody tr")).to_have_count(1, timeout=10_000)
    await expect(page_.locator("#list")).to_contain_text(ticket_id)
    await page_.goto(f"{stack.console_url}/tickets?status=open")
    await expect(page_.locator("#list tbody tr")).to_have_count(len(REQUESTS), timeout=10_000)
    await page_.check("input[name=emergency]")
    await expect(page_.locator("#list tbody tr")).to_have_count(1, timeout=10_000)
    await expect(page_.locator("#list tbody tr.emergency")).to_have_count(1)
    await page_.uncheck("input[name=emergency]")
    await expect(page_.locator("#list tbody tr")).to_have_count(len(REQUESTS), timeout=10_000)
    await page_.screenshot(path=str(SHOTS / "console-tickets.png"))

    await page_.goto(stack.console_url + "/grid")
    await expect(page_.locator(".tree-panel")).to_contain_text("五级网格", timeout=10_000)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(
            f"{stack.console_url}/api/grid",
            headers={"Authorization": f"Bearer {operator_token()}"},
        )
    loads = answer.json()
    held = loads["grid"]["open"]  # the rest are with departments, listed beside the tree
    assert held + sum(d["open"] for d in loads["departments"]) == len(REQUESTS)
    district = page_.locator(".unit.district > .cell .counts b").first
    await expect(district).to_have_text(str(held))
    await page_.screenshot(path=str(SHOTS / "console-grid.png"))

    await page_.set_viewport_size({"width": 390, "height": 844})  # a phone
    pages = ("/", f"/tickets/{ticket_id}", "/tickets", "/grid", "/assessment", "/hotspots")
    for path in (*pages, "/shelf", "/volunteers"):
        await page_.goto(stack.console_url + path)
        await expect(page_.locator("#operator")).to_contain_text("值班员王", timeout=10_000)
        await expect(page_.locator(".view").first).not_to_contain_text("请先登录", timeout=10_000)
        wide = await page_.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert wide <= 1, f"{path} is {wide}px wider than a phone"
    await page_.set_viewport_size({"width": 1600, "height": 1000})

    await page_.click("#signout")
    await expect(page_.locator("#signin")).to_be_visible()


async def rated_ticket(stack: Stack) -> None:
    """A ticket claimed, resolved and given feedback (solved, satisfied), and a repeat report of
    another (in another building: the repeat raises that one, not the rated one); waits until
    the console's reports count all of it."""
    async with httpx.AsyncClient(timeout=10) as client:
        before = (await report_json(client, stack, "hotspots"))["total"]
    ticket_id = await post(stack, "城北新村南区9幢楼道灯坏了,晚上很黑", "沙县城北新村南区9幢")
    light = ("城北新村南区11幢楼道灯不亮", "沙县城北新村南区11幢")
    first = await post(stack, *light)
    async with httpx.AsyncClient(timeout=10) as client:
        await assignee_of(client, stack, first)  # open at its place: the next one repeats it
        await post(stack, *light)
        unit = await assignee_of(client, stack, ticket_id)
        who = handler(stack, unit, "网格员陈")
        for update, headers in (
            ({"action": "claim", "actor": "网格员陈"}, who),
            ({"action": "resolve", "actor": "网格员陈", "note": "已更换灯泡"}, who),
            (
                {
                    "action": "feedback",
                    "actor": "12345回访员",
                    "satisfaction": 5,
                    "solved": True,
                    "contacted": True,
                },
                operator(stack),
            ),
        ):
            answer = await client.post(
                f"{stack.intake_url}/v1/tickets/{ticket_id}/updates", json=update, headers=headers
            )
            assert answer.status_code == 202, answer.text

        async def counted() -> bool:
            assessed = await report_json(client, stack, "assessment", by="community")
            hot = await report_json(client, stack, "hotspots")
            every = hot["total"] == before + 3 and hot["repeats"] >= 1
            return every and bool(assessed["total"]["with_feedback"])

        await eventually(counted, "the feedback and the repeat in the console's reports", 30.0)


async def report_json(client: httpx.AsyncClient, stack: Stack, name: str, **query: str) -> Any:
    """The console's /api/assessment or /api/hotspots for this month so far."""
    first, last = this_month()
    answer = await client.get(
        f"{stack.console_url}/api/{name}",
        params={"from": first.isoformat(), "to": last.isoformat(), **query},
        headers={"Authorization": f"Bearer {operator_token()}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


async def read_reports(page_: Any, stack: Stack) -> None:
    expect = playwright_api.expect
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page_.goto(stack.console_url + "/assessment")
    await expect(page_.locator("#report")).to_contain_text("请先登录")
    await page_.fill("#token", operator_token())
    await page_.click("#signin button")
    await expect(page_.locator("#operator")).to_contain_text("值班员王", timeout=10_000)
    await expect(page_.locator("nav a.here")).to_have_text("三率考核")

    async with httpx.AsyncClient(timeout=10) as client:
        by_street = await report_json(client, stack, "assessment", by="street")
        by_community = await report_json(client, stack, "assessment", by="community")
        hot = await report_json(client, stack, "hotspots")
    assert by_community["total"]["received"] >= 2
    assert by_community["total"]["with_feedback"] >= 1  # the figures rest on real work
    first, last = this_month()
    assert await page_.input_value("input[name=from]") == first.isoformat()
    assert await page_.input_value("input[name=to]") == last.isoformat()

    rows = page_.locator("#assessment tbody tr")
    await expect(rows).to_have_count(len(by_street["rows"]), timeout=10_000)
    await page_.select_option("select[name=by]", "community")
    await expect(page_.locator("#assessment th").nth(1)).to_have_text("社区", timeout=10_000)
    await expect(rows).to_have_count(len(by_community["rows"]))
    for i, row in enumerate(by_community["rows"]):
        shown = rows.nth(i)
        await expect(shown).to_have_attribute("data-unit", row["unit_id"])
        await expect(shown.locator(".rank")).to_have_text(str(row["rank"]))
        await expect(shown.locator(".unit")).to_have_text(row["unit_name"])
        await expect(shown.locator(".received")).to_have_text(str(row["received"]))
        for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
            await expect(shown.locator(f".{rate}")).to_have_text(percent(row[rate]))
        score = "—" if row["score"] is None else f"{row['score']:.2f}"
        await expect(shown.locator(".score b")).to_have_text(score)
    total = page_.locator("#assessment-total")
    await expect(total.locator("[data-key=received]")).to_have_text(
        str(by_community["total"]["received"])
    )
    await expect(total.locator("[data-key=satisfaction_rate]")).to_have_text(
        percent(by_community["total"]["satisfaction_rate"])
    )
    await page_.screenshot(path=str(SHOTS / "console-assessment.png"), full_page=True)

    # a period the report cannot answer: the page says why (a 422 view), no script error
    await page_.fill("input[name=to]", "2020-01-01")
    await page_.dispatch_event("input[name=to]", "change")
    await expect(page_.locator("#report-error")).to_contain_text("无法生成报表", timeout=10_000)

    await page_.goto(stack.console_url + "/hotspots")
    await expect(page_.locator("nav a.here")).to_have_text("热点")
    clusters = page_.locator("#hotspots tbody tr")
    await expect(clusters).to_have_count(len(hot["rows"]), timeout=10_000)
    assert hot["total"] >= 3 and hot["repeats"] >= 1
    for i, row in enumerate(hot["rows"]):
        shown = clusters.nth(i)
        await expect(shown).to_have_attribute("data-key", f"{row['category']}|{row['place_id']}")
        await expect(shown.locator(".where")).to_have_text(
            f"{row['place_name']} · {row['category_name']}"
        )
        await expect(shown.locator(".count")).to_have_text(str(row["count"]))
        await expect(shown.locator(".previous")).to_have_text(str(row["previous"]))
        await expect(shown.locator(".change")).to_contain_text(f"{row['change']:+d}")
        await expect(shown.locator(".repeat_share")).to_have_text(percent(row["repeat_share"]))
    await expect(page_.locator("#hotspots-total [data-key=total]")).to_have_text(str(hot["total"]))
    await page_.screenshot(path=str(SHOTS / "console-hotspots.png"), full_page=True)


async def test_the_shelf_and_the_volunteers_pages_show_what_the_intake_answers(
    stack: Stack,
) -> None:
    """After the other walks (same stack): two 解忧超市 worries from the mini-program, one adopted
    by a helper; a volunteer's 随手拍 resolved and rated, earning 五闪 points. /shelf and
    /volunteers show what the intake's GET /v1/shelf and /v1/volunteers/ranking say."""
    seeds = await shelf_and_points(stack)
    await in_browser(stack, lambda page_, stack_: read_seeds(page_, stack_, seeds))


async def shelf_and_points(stack: Stack) -> dict[str, Any]:
    keys = stack.settings.keys_by_source()
    helper = bearer(token(stack, "helper", sub="城北党员志愿者老陈"))
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        worries = []
        for text in (
            "城北新村南区5幢独居老人家水龙头坏了,想找人帮忙修",
            "金城嘉园门口想放几张长椅",
        ):
            body = {"external_id": f"jy-{uuid.uuid4().hex[:8]}", "description": text,
                    "reporter": {"name": "赖秀英", "phone": "13905981234"}}  # fmt: skip
            posted = await client.post("/v1/requests", json=body,
                                       headers=bearer(keys["miniprogram"]))  # fmt: skip
            assert posted.status_code == 202, posted.text
            worries.append(posted.json()["ticket_id"])

        async def on_shelf() -> bool:
            page = (await client.get("/v1/shelf", headers=helper)).json()
            return set(worries) <= {i["ticket_id"] for i in page["items"]}

        await eventually(on_shelf, "both worries on the shelf", 30.0)
        adopt = {"action": "adopt", "actor": "老陈", "note": "我会修水龙头"}
        answer = await client.post(f"/v1/tickets/{worries[0]}/updates", json=adopt, headers=helper)
        assert answer.status_code == 202, answer.text

        volunteer = bearer(keys["volunteer"])
        report = {"external_id": f"ws-{uuid.uuid4().hex[:8]}", "volunteer_id": "WS-RIDER-0777",
                  "kind": "photo", "description": "城北新村南区8幢路灯不亮,随手拍上报",
                  "location": {"address": "沙县城北新村南区8幢"},
                  "reporter": {"name": "黄明", "phone": "13905981234"}}  # fmt: skip
        posted = await client.post("/v1/requests", json=report, headers=volunteer)
        assert posted.status_code == 202, posted.text
        ticket = posted.json()["ticket_id"]
        unit = await assignee_of(client, stack, ticket)
        who = handler(stack, unit, "网格员陈")
        for update, by in (
            ({"action": "claim", "actor": "网格员陈"}, who),
            ({"action": "resolve", "actor": "网格员陈", "note": "已修好"}, who),
            ({"action": "feedback", "actor": "回访员", "satisfaction": 5, "solved": True},
             volunteer),
        ):  # fmt: skip
            answer = await client.post(f"/v1/tickets/{ticket}/updates", json=update, headers=by)
            assert answer.status_code == 202, answer.text

        async def adopted_and_awarded() -> bool:
            page = (await client.get("/v1/shelf", headers=helper)).json()
            ranked = (await client.get("/v1/volunteers/ranking", headers=volunteer)).json()
            left = {i["ticket_id"] for i in page["items"]}
            ids = {v["volunteer_id"] for v in ranked["volunteers"]}
            return worries[0] not in left and worries[1] in left and "WS-RIDER-0777" in ids

        await eventually(adopted_and_awarded, "the adoption and the points", 60.0)
        shelf = (await client.get("/v1/shelf", headers=helper)).json()
        ranking = (await client.get("/v1/volunteers/ranking", headers=volunteer)).json()
    return {"worries": worries, "shelf": shelf, "ranking": ranking}


async def read_seeds(page_: Any, stack: Stack, seeds: dict[str, Any]) -> None:
    expect = playwright_api.expect
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page_.goto(stack.console_url + "/shelf")
    await expect(page_.locator("#report")).to_contain_text("请先登录")
    await page_.fill("#token", operator_token())
    await page_.click("#signin button")
    await expect(page_.locator("nav a.here")).to_have_text("解忧超市", timeout=10_000)

    adopted, waiting = seeds["worries"]
    shelf = seeds["shelf"]
    rows = page_.locator("#shelf tbody tr[data-ticket]")
    await expect(rows).to_have_count(shelf["total"], timeout=15_000)
    await expect(page_.locator("#shelf-total [data-key=total]")).to_have_text(str(shelf["total"]))
    for item in shelf["items"]:
        row = page_.locator(f'#shelf tr[data-ticket="{item["ticket_id"]}"]')
        await expect(row.locator(".type")).to_have_text(item["type_name"])
    await expect(page_.locator(f'#adopted tr[data-ticket="{adopted}"] .adopter')).to_contain_text(
        "城北党员志愿者老陈", timeout=15_000
    )
    kind = next(i["type"] for i in shelf["items"] if i["ticket_id"] == waiting)
    other = next(k for k in ("government", "market", "charity") if k != kind)
    await page_.select_option("select[name=type]", other)
    await expect(page_.locator(f'#shelf tr[data-ticket="{waiting}"]')).to_have_count(0)
    await page_.select_option("select[name=type]", kind)
    await expect(page_.locator(f'#shelf tr[data-ticket="{waiting}"]')).to_have_count(1)
    body = await page_.locator("main").inner_text()
    assert "13905981234" not in body and "赖秀英" not in body
    await page_.screenshot(path=str(SHOTS / "console-shelf.png"), full_page=True)

    await page_.goto(stack.console_url + "/volunteers")
    await expect(page_.locator("nav a.here")).to_have_text("五闪志愿者")
    ranked = page_.locator("#volunteers tbody tr[data-volunteer]")
    await expect(ranked).to_have_count(len(seeds["ranking"]["volunteers"]), timeout=15_000)
    for standing in seeds["ranking"]["volunteers"]:
        row = page_.locator(f'#volunteers tr[data-volunteer="{standing["volunteer_id"]}"]')
        await expect(row.locator(".rank")).to_have_text(str(standing["rank"]))
        await expect(row.locator(".points")).to_have_text(str(standing["points"]))
        await expect(row.locator(".name")).to_have_text(standing["name"] or "—")
    body = await page_.locator("main").inner_text()
    assert "黄明" not in body and "13905981234" not in body
    await page_.screenshot(path=str(SHOTS / "console-volunteers.png"), full_page=True)
