"""``crisis-sim report --psa N``: the decision table carries the interval over what we don't know beside the
run-to-run one, and each option's chance of the fewest arrests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from crisis_sim.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CRISIS_SIM_ARTIFACTS") or Path(__file__).parent / "artifacts")


def test_report_with_psa_shows_both_intervals_and_the_chance_of_fewest_arrests(tmp_path):
    out = tmp_path / "r.html"
    goals = tmp_path / "goals.toml"
    goals.write_text("[[goals]]\nmetric = 'specialized_coverage'\nat_least = 0.01\n")
    argv = ["report", "small_district", "co_response", "-R", "2", "--days", "40", "--psa", "3", "--workers", "2",
            "--no-progress", "--out", str(out), "--goals", str(goals)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    rows = data["decision"]
    assert data["psa"] is True and "evppi" in data["psa_detail"] and data["psa_detail"]["draws"] == 3
    alt = rows[1]["metrics"]["arrests"]
    assert alt["psa_low"] is not None and alt["psa_low"] <= alt["psa_high"]
    assert "psa_low" not in rows[0]["metrics"]["arrests"]  # the baseline has no difference with itself
    chances = [r["prob_best"] for r in rows]
    assert all(0.0 <= p <= 1.0 for p in chances) and abs(sum(chances) - 1.0) < 1e-9
    html = out.read_text()
    assert "what we don't know" in html
    # each goal's probability over the draws (times their replications) beside the run-to-run one
    cell = data["goals"][0]["options"][data["options"][1]]
    assert cell["psa_draws"] == 3 and 0.0 <= cell["psa_probability"] <= 1.0
    assert data["goals"][0]["options"][data["options"][0]]["psa_probability"] == 0.0  # no program: no coverage
    assert "over what we don&#x27;t know</span>" in html or "over what we don't know</span>" in html
    # the rate used is said with the numbers it touches (default 3% a year)
    assert data["discount"]["rate"] == 0.03 and data["psa_detail"]["discount"]["rate"] == 0.03
    assert html.count("discounted at 3% a year") >= 2  # decision-table legend and the acceptability curves
    # the acceptability curves and the value-of-information ranking, after the decision table
    detail = data["psa_detail"]
    assert detail["ceac"]["arrests"] and {"wtp", "strategy", "probability"} <= set(detail["ceac"]["arrests"][0])
    assert [r["value"] for r in detail["evppi"]["arrests"]] == sorted(
        (r["value"] for r in detail["evppi"]["arrests"]), reverse=True
    )
    decision_at = html.index("id=decision")
    assert decision_at < html.index("id=value-for-money") < html.index("id=evidence-gaps")
    assert "Which evidence gap matters most for this choice" in html
    assert 'alt="cost-effectiveness acceptability curves" src="data:image/png;base64,' in html
    assert 'alt="value of information per input, for arrests" src="data:image/png;base64,' in html
    top = detail["evppi"]["arrests"][0]["parameter"]
    assert f"<td>1</td><td>{top}</td>" in html
    if Path(CHROMIUM).exists():
        _screenshot(out)


def _screenshot(out: Path) -> None:
    """The PSA sections in Chromium: both figures load (non-zero natural size); screenshot saved."""
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(out.resolve().as_uri())
            for alt in ("cost-effectiveness acceptability curves", "value of information per input, for arrests"):
                img = page.locator(f'img[alt="{alt}"]')
                assert img.evaluate("i => i.naturalWidth") > 100
            page.locator("#value-for-money").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "report-psa.png"), full_page=True)
        finally:
            browser.close()


def test_evidence_without_psa_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "small_district", "-R", "2", "--days", "20", "--evidence", "x.toml", "--out", str(out)]) == 2
    assert "--evidence needs --psa N" in capsys.readouterr().err
    assert not out.exists()
