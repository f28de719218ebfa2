"""The dashboard in a real browser: Debian's chromium driven by Playwright (pip package, sync API).

Starts the dashboard on a free port of 127.0.0.1, changes a control (patrol units, a timeline event), runs two
replications of a short small-district horizon, checks that the summary, the chart and the table appear, and saves
a screenshot (tests/artifacts/dashboard.png, or the folder in CRISIS_SIM_ARTIFACTS). Then starts a long run, clicks
Cancel while it runs (screenshots dashboard-running.png and dashboard-cancelled.png) and checks that the job is
cancelled on the server and its worker processes are gone. Skipped when chromium or playwright is missing (.ci/run
installs chromium).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
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
                page.fill("#years", "0.25")
                page.fill("[data-staff='city.districts.0.patrol_units.day']", "2")  # the control changed
                page.select_option("#event-kind", "lose_patrol")
                page.click("#add-event")
                page.fill("[data-f='month']", "1")
                page.click("#run")
                page.wait_for_selector("#summary li", timeout=180_000)
                summary = page.inner_text("#summary")
                assert "What changed:" in summary
                assert "north, day shift patrol units set to 2" in summary and "patrol posts" in summary
                assert page.locator("#charts figure").count() == 6  # MH and other response times, monthly
                assert page.locator("#outcomes tr").count() > 5
                assert page.inner_text("#error") == ""
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
                assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000

                # A long run (20 replications of ten years), cancelled from the page while it runs.
                before = {p.pid for p in mp.active_children()}
                page.fill("#reps", "20")
                page.fill("#years", "10")
                page.click("#run")
                page.wait_for_selector("#cancel", state="visible", timeout=30_000)
                sync_api.expect(page.locator("#status")).to_have_text(re.compile("^running: "), timeout=30_000)
                assert page.is_disabled("#run")
                page.screenshot(path=str(ARTIFACTS / "dashboard-running.png"), full_page=True)
                workers = {p.pid for p in mp.active_children()} - before
                page.click("#cancel")
                sync_api.expect(page.locator("#status")).to_have_text(re.compile("^cancelled after "), timeout=30_000)
                assert page.is_hidden("#cancel") and page.is_enabled("#run")
                assert page.inner_text("#error") == ""
                job = max(srv.app.jobs.values(), key=lambda j: int(j.id))
                assert job.state == "cancelled" and job.done < job.total == 40
                assert not any(p.is_alive() for p in mp.active_children() if p.pid in workers)
                page.screenshot(path=str(ARTIFACTS / "dashboard-cancelled.png"), full_page=True)
            finally:
                browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
