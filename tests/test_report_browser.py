"""The report in a real browser (Debian's chromium driven by Playwright): the decision table is on the first
screen at 1400 px, the page does not overflow sideways at phone width (the table scrolls inside its box with the
option names pinned), and screenshots are saved (tests/artifacts/report-1400.png, report-phone.png, or the folder
in CRISIS_SIM_ARTIFACTS). Skipped when chromium or playwright is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("CRISIS_SIM_ARTIFACTS") or Path(__file__).parent / "artifacts")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (.ci/run installs it)"),
]


def test_report_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "report.html"
    city = SCENARIOS / "small_district.toml"
    assert main(["report", str(city), f"{city}::cit:programs.cit={{}}", str(SCENARIOS / "mobile_crisis.toml"),
                 "-R", "3", "--days", "90", "--workers", "1", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(out.resolve().as_uri())
            table = page.locator("table.decision")
            box = table.bounding_box()
            assert box is not None and box["y"] < 300 and box["y"] + box["height"] < 900  # first screen
            assert box["x"] + box["width"] <= 1400
            rows = table.locator("tr")
            assert rows.count() == 4  # header + 3 options
            assert "Police as usual" in rows.nth(1).inner_text() and "CIT training" in rows.nth(2).inner_text()
            assert table.locator("td.better").count() + table.locator("td.worse").count() >= 1
            assert page.locator("details").count() >= 5 and not page.locator("details[open]").count()
            page.screenshot(path=str(ARTIFACTS / "report-1400.png"))
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(out.resolve().as_uri())
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, f"the page overflows sideways at phone width ({width} px)"
            assert phone.locator("p.phone").is_visible()
            phone.screenshot(path=str(ARTIFACTS / "report-phone.png"))
        finally:
            browser.close()
