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
from tests.conftest import ROOT
from tests.stacks import assignee_of, handler, running

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


async def test_an_operator_sees_a_request_arrive_opens_it_and_acts_on_it(stack: Stack) -> None:
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
            await walk_through(page, stack)
        finally:
            await browser.close()
    assert problems == []


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

    # 改派 goes to the intake with the operator's token; the intake takes the operator's
    # permission and answers that the action is not carried out yet: its problem is shown
    reassign = page_.locator("form.act:has(button[data-action=reassign])")
    await reassign.locator("select[name=to]").select_option("CM-CB")
    await reassign.locator("button").click()
    verdict = page_.locator("#verdict")
    await expect(verdict).to_contain_text("改派未被受理:422", timeout=15_000)

    # the assigned unit's handler claims (through the intake, with a handler's token): the
    # operator's open page shows it, with who and the note
    async with httpx.AsyncClient(timeout=10) as client:
        unit = await assignee_of(client, stack, ticket_id)
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
    for path in ("/", f"/tickets/{ticket_id}", "/tickets", "/grid"):
        await page_.goto(stack.console_url + path)
        await expect(page_.locator("#operator")).to_contain_text("值班员王", timeout=10_000)
        await expect(page_.locator(".view").first).not_to_contain_text("请先登录", timeout=10_000)
        wide = await page_.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert wide <= 1, f"{path} is {wide}px wider than a phone"
    await page_.set_viewport_size({"width": 1600, "height": 1000})

    await page_.goto(stack.console_url + "/shelf")
    await expect(page_.locator("main")).to_contain_text("尚未启用")
    await page_.click("#signout")
    await expect(page_.locator("#signin")).to_be_visible()
