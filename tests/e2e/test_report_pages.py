"""The report pages of a simulated quarter open in headless Chromium, offline, with their charts
drawn (Playwright drives the system's /usr/bin/chromium; ``make browser`` installs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
DRAWN = """() => [...document.querySelectorAll('canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted += 1;
  return painted;
})"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make browser` installs it (apt-get)"
)


def dispatch(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dispatch", *args], capture_output=True, text=True, timeout=170
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    dispatch("simulate", "--days", "60", "--start", "2026-05-01", "--out", str(out))
    history = str(out / "history.jsonl")
    period = ["--from", "2026-06-01", "--to", "2026-06-30", "--out", str(out)]
    dispatch("report", "assess", *period, "--by", "community", "--history", history)
    dispatch("report", "hotspots", *period, "--history", history)
    return out


@pytest.mark.parametrize("name", ["assessment", "hotspots"])
def test_report_page_draws_its_charts_offline_in_chromium(pages: Path, name: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1100})
            page.route("http*://**", lambda route: route.abort())  # offline: nothing fetched
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto((pages / f"{name}.html").as_uri())
            page.wait_for_function("document.body.dataset.charts === '2'", timeout=15_000)
            painted = page.evaluate(DRAWN)
            shot = pages / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            heading = page.inner_text("h1")
        finally:
            browser.close()
    assert errors == []
    assert len(painted) == 2 and all(n > 2_000 for n in painted), painted
    assert shot.stat().st_size > 20_000
    assert ("三率考核" if name == "assessment" else "每月一题") in heading
