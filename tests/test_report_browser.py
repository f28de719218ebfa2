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


def _with_groups(runs):
    """Synthetic by_group.<attribute>.<value>.<metric> in each run's summary (the groups mechanism lands on
    another branch): the second option halves one group's arrests."""
    import json

    out = runs.copy()
    extras = []
    for s, r, text in zip(out["scenario_index"], out["replication"], out["extra"], strict=True):
        extra = json.loads(text)
        extra["by_group"] = {"neighbourhood income": {
            "lower": {"mh_calls": 400 + r, "arrests": (40 if s != 1 else 20) + r % 2},
            "higher": {"mh_calls": 300 + r, "arrests": 15 + r % 2}}}  # fmt: skip
        extras.append(json.dumps(extra))
    out["extra"] = extras
    return out


def test_report_sections_in_chromium(tmp_path):
    """Goals from a scenario file, planner weights, a patrol vacancy, coverage by hour, the coverage curve and
    disparities, at 1400 px and at phone width (screenshots report-staffing-1400.png, report-goals-1400.png,
    report-disparities-1400.png, report-staffing-phone.png)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from crisis_sim.experiments.spec import build_spec, parse_scenario_arg
    from crisis_sim.report.curve import curve_data, curve_spec
    from crisis_sim.report.decision import option_names, parse_weights
    from crisis_sim.report.html import build_report_with_data, write_report
    from crisis_sim.report.run import run_experiment

    city = tmp_path / "mobile_with_goals.toml"
    city.write_text(f'base = "{SCENARIOS / "mobile_crisis.toml"}"\n[[goals]]\nmetric = "arrests"\nchange = -0.05\n'
                    'by_month = 3\n[[goals]]\nmetric = "specialized_coverage"\nat_least = 0.8\n'
                    'label = "80% of eligible calls served"\n')  # fmt: skip
    small = SCENARIOS / "small_district.toml"
    args = [str(small), str(city),
            f"{small}::patrol_loss:timeline=[{{type='vacancy',day=0,role='patrol',share=0.3}}]"]  # fmt: skip
    spec = build_spec([parse_scenario_arg(a) for a in args], 2, 0, 90)
    outcome = run_experiment(spec, None, "processes", 1, progress=False)
    names = option_names(spec)
    plan, index = curve_spec(spec, names, "programs.mobile_crisis.teams", [1, 2])
    curve = curve_data(plan, index, run_experiment(plan, None, "processes", 1, progress=False).runs,
                       "programs.mobile_crisis.teams", 365 / 90)  # fmt: skip
    text, data = build_report_with_data(spec, _with_groups(outcome.runs), outcome.series,
                                        weights=parse_weights("arrests=3"), weights_source="--weights",
                                        coverage_curve=curve)  # fmt: skip
    out = write_report(tmp_path / "sections.html", text)
    assert data["goals"][0]["source"] == "scenario file mobile_with_goals.toml"
    assert data["decision"][2]["patrol_vacancy"] and data["disparities"]["neighbourhood income"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(out.resolve().as_uri())
            for alt in ("eligible MH calls and the share served by hour of day, with each program's hours",
                        "coverage of eligible calls against mobile crisis team: teams"):  # fmt: skip
                img = page.locator(f'img[alt="{alt}"]')
                assert img.count() == 1 and img.evaluate("i => i.naturalWidth") > 300
            assert "arrests × 3" in page.locator("#ranking-rule").inner_text()
            assert page.locator("table.decision .vacancy").count() in (0, 1)
            assert page.locator("table.goals").inner_text().count("scenario file mobile_with_goals.toml") == 2
            assert page.locator("table.disparities td.better").count() >= 1
            for anchor, name in (("staffing", "report-staffing-1400.png"), ("goals", "report-goals-1400.png"),
                                 ("disparities", "report-disparities-1400.png")):  # fmt: skip
                page.evaluate(f"document.getElementById('{anchor}').scrollIntoView()")
                page.screenshot(path=str(ARTIFACTS / name))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1400, f"the page overflows sideways at 1400 px ({width} px)"
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(out.resolve().as_uri())
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, f"the page overflows sideways at phone width ({width} px)"
            phone.evaluate("document.getElementById('coverage-by-hour').scrollIntoView()")
            phone.screenshot(path=str(ARTIFACTS / "report-staffing-phone.png"))
        finally:
            browser.close()
