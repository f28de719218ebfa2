"""The three coordinator questions asked in a real browser (Debian's chromium driven by Playwright): what if the
nurse post is cut, what if the champion retires, what if we lose 20% of patrol? Each answer must lead with one
headline that names the cost, chart exactly the outcomes the question is about, and be saved as a screenshot
(tests/artifacts/dashboard-<question>.png, or the folder in CRISIS_SIM_ARTIFACTS). Also: a blank field is
refused where it is entered, and a stopped server gets a sentence, not a hang. Skipped without chromium/playwright.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from crisis_sim.dashboard import make_server
from tests.test_dashboard_browser import ARTIFACTS, CHROMIUM, FLAGS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (.ci/run installs it)"),
]
OUTREACH = ["outreach_referrals", "outreach_consents", "outreach_visits", "connected_to_services", "repeat_calls"]
PATROL = ["median_response_min", "p90_response_min", "patrol_on_duty", "open_calls"]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    srv = make_server(port=0, workers=2)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM,
                                                    args=FLAGS, viewport={"width": 1400, "height": 1000})  # fmt: skip
        try:
            yield srv, ctx.new_page()
        finally:
            ctx.close()
            srv.shutdown()
            srv.server_close()


def _ask(srv, page, base, kind, fill, name):
    page.goto(srv.url)
    page.wait_for_selector(f"#base option[value='{base}']", state="attached")
    page.select_option("#base", base)
    page.fill("#reps", "2")
    page.fill("#years", "0.5")
    page.dispatch_event("#years", "change")
    page.select_option("#event-kind", kind)
    page.click("#add-event")
    for selector, value in fill.items():
        page.fill(selector, value)
        page.dispatch_event(selector, "change")
    page.click("#run")
    page.wait_for_selector("#headline", timeout=300_000)
    assert page.inner_text("#error") == ""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
    charted = [el.get_attribute("data-metric") for el in page.locator("#charts figure").all()]
    job = max(srv.app.jobs.values(), key=lambda j: int(j.id))
    assert charted == job.result["charts"]
    return page.inner_text("#headline"), charted


def test_what_if_the_nurse_post_is_cut(browser_page):
    srv, page = browser_page
    headline, charted = _ask(srv, page, "outreach_echinops.toml", "cut_nurse", {"[data-f='month']": "3"}, "nurse-cut")
    assert headline.startswith("If the outreach nurse post is cut in month 3, for good:")
    assert "$" in headline and "over the 0.5-year run" in headline
    assert charted == OUTREACH


def test_what_if_the_champion_retires(browser_page):
    srv, page = browser_page
    headline, charted = _ask(srv, page, "outreach_echinops.toml", "champion_retires",
                             {"[data-f='month']": "3", "[data-f='successor_months']": "2"}, "champion")  # fmt: skip
    assert "retires in month 3; a successor (50% of the leaver's drive) arrives 2 months later" in headline
    assert "$" in headline
    assert charted == OUTREACH


def test_what_if_we_lose_a_fifth_of_patrol(browser_page):
    srv, page = browser_page
    headline, charted = _ask(srv, page, "small_district.toml", "lose_patrol", {"[data-f='month']": "2"}, "patrol")
    assert headline.startswith("If 20% of patrol posts in every district stand vacant from month 2, for good:")
    assert "$" in headline
    assert charted == PATROL
    with page.expect_download() as download:
        page.click("#csv")
    csv = Path(download.value.path()).read_text()
    assert csv.splitlines()[0].startswith("metric,outcome,unit,month,baseline_mean")
    assert {line.split(",")[0] for line in csv.splitlines()[1:]} == set(PATROL)
    with page.expect_download() as download:
        page.click("#html")
    html = Path(download.value.path()).read_text()
    assert "If 20% of patrol posts" in html and "data:image/png;base64," in html


def test_a_stopped_server_gets_a_sentence(browser_page):
    """Every API request fails as it does when the server has stopped (connection refused): the page says so."""
    from playwright.sync_api import expect

    srv, page = browser_page
    page.goto(srv.url)
    page.wait_for_selector("#base option[value='small_district.toml']", state="attached")
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    try:
        page.click("#run")
        expect(page.locator("#error")).to_have_text(
            "The dashboard server stopped; restart it with crisis-sim dashboard (then reload this page).")
        assert page.is_enabled("#run")
    finally:
        page.unroute("**/api/**")


def test_events_offered_follow_the_base_and_blank_is_refused(browser_page):
    srv, page = browser_page
    page.goto(srv.url)
    page.wait_for_selector("#base option[value='outreach_echinops.toml']", state="attached")
    page.select_option("#base", "outreach_echinops.toml")
    page.select_option("#event-kind", "cut_nurse")
    page.click("#add-event")
    page.select_option("#event-kind", "lose_patrol")
    page.click("#add-event")
    page.select_option("#base", "small_district.toml")  # no outreach: the nurse cut cannot apply
    dropped = page.inner_text("#dropped")
    assert dropped == "Dropped (they do not apply to this scenario): the outreach nurse post is cut."
    assert page.locator("#events .ev").count() == 1 and "patrol posts stand vacant" in page.inner_text("#events")
    offered = page.locator("#event-kind option").all_inner_texts()
    assert not any("nurse" in o for o in offered)
    assert "which this scenario does not run" in page.inner_text("#not-offered")
    jobs = len(srv.app.jobs)
    page.fill("[data-staff='city.districts.0.patrol_units.day']", "")
    assert "north, day shift: a whole number from 0 to 200; the field is blank" in page.inner_text("#staffing")
    page.click("#run")
    assert page.inner_text("#error") == "Fix the fields marked in red first."
    assert len(srv.app.jobs) == jobs  # nothing was sent
