"""The dashboard in a real browser: Debian's chromium driven by Playwright (pip package, sync API).

Starts the dashboard on a free port of 127.0.0.1, changes a control (patrol units, a timeline event), runs two
replications of a short small-district horizon, checks that the summary, the chart and the table appear, and saves
a screenshot (tests/artifacts/dashboard.png, or the folder in CRISIS_SIM_ARTIFACTS). Skipped when chromium or
playwright is missing (.ci/run installs chromium).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from crisis_sim.dashboard import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("CRISIS_SIM_ARTIFACTS") or Path(__file__).parent / "artifacts")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (.ci/run installs it)"),
]


def test_dashboard_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    srv = make_server(port=0, workers=2)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as pw:
            # A fresh profile folder per run (Playwright takes it as user_data_dir, not as a flag).
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=CHROMIUM,
                args=FLAGS,
                viewport={"width": 1400, "height": 1000},
            )
            try:
                page = browser.new_page()
                page.goto(srv.url)
                page.wait_for_selector("#base option[value='small_district.toml']", state="attached")
                page.select_option("#base", "small_district.toml")
                page.fill("#reps", "2")
                page.fill("#days", "60")
                page.fill("[data-staff='city.districts.0.patrol_units.day']", "2")  # the control changed
                page.select_option("#event-kind", "lose_patrol")
                page.click("#add-event")
                page.click("#run")
                page.wait_for_selector("#summary li", timeout=180_000)
                summary = page.inner_text("#summary")
                assert "What changed:" in summary
                assert "patrol_units.day = 2" in summary and "patrol posts stand vacant" in summary
                assert page.locator("#chart").get_attribute("src").startswith("data:image/png;base64,")
                assert page.locator("#outcomes tr").count() > 5
                assert page.inner_text("#error") == ""
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
                assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
