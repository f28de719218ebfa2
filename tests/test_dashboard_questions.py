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
PATROL = ["median_response_mh_min", "p90_response_mh_min", "median_response_other_min", "p90_response_other_min",
          "patrol_on_duty", "open_calls"]  # fmt: skip


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


# --- every timeline event, a base with its own event, goals and what we don't know --------------------------------
EVENT_ROWS = {  # kind -> (base, a field and a bad value, the sentence the page must show beside it)
    "consent_change": ("outreach_echinops.toml", "consent_percent", "100",
                       "people who consent at average trust (%): a number from 1 to 99, found 100"),
    "demand_surge": ("small_district.toml", "percent", "0", "more calls (%): a number from 1 to 100, found 0"),
    "turnover": ("small_district.toml", "hiring_months", "30",
                 "months to hire a replacement: a whole number from 0 to 24, found 30"),
    "ed_boarding": ("small_district.toml", "percent", "5", "how much longer (%): a number from 10 to 200, found 5"),
    "launch_program": ("small_district.toml", "ramp_months", "13",
                       "months until dispatch sends every eligible call: a whole number from 0 to 12, found 13"),
    "add_patrol_units": ("small_district.toml", "count", "0", "how many units: a whole number from 1 to 100, found 0"),
    "lose_patrol_units": ("small_district.toml", "count", "", "how many units: a whole number from 1 to 200; the "
                          "field is blank"),
    "absence": ("small_district.toml", "percent", "60",
                "share of days each person is away (%): a number from 1 to 50, found 60"),
    "cit_training": ("cit.toml", "seats", "0", "officers trained each quarter: a whole number from 1 to 200, found 0"),
    "scale_program": ("mobile_crisis.toml", "percent", "100", "cut (%): a number from 1 to 99, found 100"),
    "champion_strength": ("outreach_echinops.toml", "strength_percent", "120",
                          "drive (% of the strongest champion): a whole number from 0 to 100, found 120"),
    "demand_trend": ("small_district.toml", "percent", "-60", "change each year (%): a number from -50 to 100, "
                     "found -60"),
}  # fmt: skip


def _open(srv, page, base, years="1"):
    page.goto(srv.url)
    page.wait_for_selector(f"#base option[value='{base}']", state="attached")
    page.select_option("#base", base)
    page.fill("#years", years)
    page.dispatch_event("#years", "change")


@pytest.mark.parametrize("kind", list(EVENT_ROWS))
def test_each_event_has_its_fields_checked_in_words(browser_page, kind):
    srv, page = browser_page
    base, f, bad, message = EVENT_ROWS[kind]
    _open(srv, page, base)
    if kind == "launch_program":
        page.select_option("#event-kind", kind)
        page.click("#add-event")
        page.select_option("[data-f='program']", "mobile_crisis")  # the one program with a dispatch ramp-up
    else:
        page.select_option("#event-kind", kind)
        page.click("#add-event")
    page.fill(f"[data-f='{f}']", bad)
    page.dispatch_event(f"[data-f='{f}']", "input")
    assert message in page.inner_text("#events")
    jobs = len(srv.app.jobs)
    page.click("#run")
    assert page.inner_text("#error") == "Fix the fields marked in red first." and len(srv.app.jobs) == jobs


def test_a_launch_then_an_expansion(browser_page):
    """The launch switches an absent program on in one district; the expansion brings it to the other. The events
    panel with its plain controls is saved (dashboard-events.png)."""
    srv, page = browser_page
    _open(srv, page, "small_district.toml", "0.5")
    page.fill("#reps", "1")
    page.select_option("#event-kind", "expand_program")
    page.click("#add-event")
    assert "first add" in page.inner_text("#events")  # no launch yet: the row says what to do
    page.click("[data-remove='0']")
    page.select_option("#event-kind", "launch_program")
    page.click("#add-event")
    page.select_option("[data-f='program']", "mobile_crisis")
    page.select_option("[data-i='0'][data-f='district']", "north")
    page.fill("[data-i='0'][data-f='month']", "2")
    page.dispatch_event("[data-i='0'][data-f='month']", "change")
    page.select_option("#event-kind", "expand_program")
    page.click("#add-event")
    page.fill("[data-i='1'][data-f='month']", "4")
    page.dispatch_event("[data-i='1'][data-f='month']", "change")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("main > div").first.screenshot(path=str(ARTIFACTS / "dashboard-events.png"))
    page.click("#run")
    page.wait_for_selector("#headline", timeout=300_000)
    assert page.inner_text("#error") == ""
    headline = page.inner_text("#headline")
    assert "starts in month 2 in north only" in headline and "starts working in south in month 4" in headline
    charted = [el.get_attribute("data-metric") for el in page.locator("#charts figure").all()]
    assert charted[:2] == ["mobile_crisis_calls", "specialized_coverage"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-launch.png"), full_page=True)


def test_a_base_with_its_own_cut_shows_what_the_cut_does(browser_page):
    """nurse_post_cut ran its own cut on both sides ("no change"); now the baseline runs without it."""
    srv, page = browser_page
    _open(srv, page, "nurse_post_cut.toml", "1")
    assert "start in about month 36" in page.inner_text("#own-late") and page.is_hidden("#own-box")
    page.fill("#years", "3.5")
    page.dispatch_event("#years", "change")
    assert page.is_visible("#own-box") and page.is_checked("#without-builtin")
    assert "already part of this scenario" in page.inner_text("#not-offered")
    page.fill("#reps", "1")
    page.click("#run")
    page.wait_for_selector("#headline", timeout=600_000)
    headline = page.inner_text("#headline")
    assert headline.startswith("What this scenario's own event (nurse post eliminated after three years (month 36))"
                               " does, against the same scenario without it: outreach referrals"), headline
    assert "[echinops_study]" not in headline and "$" in headline
    page.screenshot(path=str(ARTIFACTS / "dashboard-own-event.png"), full_page=True)


def test_goals_and_what_we_dont_know(browser_page):
    srv, page = browser_page
    _open(srv, page, "small_district.toml", "0.5")
    page.fill("#reps", "1")
    page.select_option("#event-kind", "lose_patrol")
    page.click("#add-event")
    page.fill("[data-f='month']", "2")
    page.dispatch_event("[data-f='month']", "change")
    page.click("#add-goal")
    page.select_option("[data-g='0'][data-f='metric']", "median_response_mh_min")
    page.fill("[data-g='0'][data-f='value']", "")
    page.dispatch_event("[data-g='0'][data-f='value']", "input")
    assert "the field is blank" in page.inner_text("#goals")  # a blank goal level is not 0
    page.fill("[data-g='0'][data-f='value']", "12")
    page.dispatch_event("[data-g='0'][data-f='value']", "change")
    page.fill("[data-g='0'][data-f='by_month']", "6")
    page.dispatch_event("[data-g='0'][data-f='by_month']", "change")
    page.click("#add-goal")
    page.fill("[data-g='1'][data-f='value']", "5")
    page.dispatch_event("[data-g='1'][data-f='value']", "change")
    page.check("#psa")
    page.dispatch_event("#psa", "input")
    assert "18 runs instead of 2" in page.inner_text("#psa-cost")
    page.click("#run")
    page.wait_for_selector("#psa-table", timeout=600_000)
    assert page.inner_text("#error") == ""
    goals = page.inner_text("#goal-table")
    assert "median response time, mental-health calls at most 12 min by month 6" in goals
    assert "5% fewer arrests than the baseline by month 6" in goals and "% of runs" in goals
    psa = page.inner_text("#psa-table")
    assert "over what we don't know" in psa and "chance worse" in psa
    summary = page.inner_text("#summary")
    assert "Including what we don't know (8 draws of the evidence × 1 replications)" in summary
    page.screenshot(path=str(ARTIFACTS / "dashboard-goals-psa.png"), full_page=True)


def test_absent_nurses_and_a_weaker_champion(browser_page):
    """Two of the events added for the rest of the schema (issue 14 item 2): outreach nurses away 30% of their days
    and the community-relations officer of a district championing at 0%, on the outreach scenario. The answer charts
    the nurses in post and outreach's outcomes, leads with them in the headline, and is saved
    (dashboard-absence-champion.png)."""
    srv, page = browser_page
    _open(srv, page, "outreach_echinops.toml", "1")
    page.fill("#reps", "2")
    page.select_option("#event-kind", "absence")
    page.click("#add-event")
    page.select_option("[data-i='0'][data-f='staff']", "outreach:nurse")
    page.fill("[data-i='0'][data-f='percent']", "30")
    page.dispatch_event("[data-i='0'][data-f='percent']", "change")
    page.fill("[data-i='0'][data-f='month']", "2")
    page.dispatch_event("[data-i='0'][data-f='month']", "change")
    assert page.locator("[data-i='0'][data-f='district']").count() == 0  # the nurses serve the whole program
    page.select_option("#event-kind", "champion_strength")
    page.click("#add-event")
    page.fill("[data-i='1'][data-f='strength_percent']", "0")
    page.dispatch_event("[data-i='1'][data-f='strength_percent']", "change")
    page.fill("[data-i='1'][data-f='month']", "2")
    page.dispatch_event("[data-i='1'][data-f='month']", "change")
    assert "(now 100%)" in page.inner_text("#events")
    page.click("#run")
    page.wait_for_selector("#headline", timeout=300_000)
    assert page.inner_text("#error") == ""
    headline = page.inner_text("#headline")
    assert "outreach nurses are away (sick, on leave) 30% of their days" in headline
    assert "champions outreach at 0% of the strongest champion's drive" in headline and "$" in headline
    charted = [el.get_attribute("data-metric") for el in page.locator("#charts figure").all()]
    job = max(srv.app.jobs.values(), key=lambda j: int(j.id))
    assert charted == job.result["charts"]
    assert charted[0] == "staff_in_post_nurse" and {"outreach_referrals", "officer_awareness"} <= set(charted)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-absence-champion.png"), full_page=True)


def test_patrol_units_added_in_a_district_and_shift(browser_page):
    """add_post on the page: two evening units for north from month 2; the headline names them and the charts are
    the response times (dashboard-add-patrol.png)."""
    srv, page = browser_page
    _open(srv, page, "small_district.toml", "0.5")
    page.fill("#reps", "2")
    page.select_option("#event-kind", "add_patrol_units")
    page.click("#add-event")
    page.fill("[data-i='0'][data-f='count']", "2")
    page.dispatch_event("[data-i='0'][data-f='count']", "change")
    page.select_option("[data-i='0'][data-f='shift']", "evening")
    page.select_option("[data-i='0'][data-f='district']", "north")
    page.fill("[data-i='0'][data-f='month']", "2")
    page.dispatch_event("[data-i='0'][data-f='month']", "change")
    page.click("#run")
    page.wait_for_selector("#headline", timeout=300_000)
    assert page.inner_text("#error") == ""
    assert "2 new patrol units on the evening shift in north from month 2" in page.inner_text("#headline")
    charted = [el.get_attribute("data-metric") for el in page.locator("#charts figure").all()]
    assert charted[:2] == ["median_response_mh_min", "p90_response_mh_min"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-add-patrol.png"), full_page=True)
