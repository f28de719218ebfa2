"""`crisis-sim report --design DIR --robustness DIR`: the design and robustness sections read from the folders of
`crisis-sim design` and `crisis-sim robustness` (report/exploration.py): plain words, the numbers in report.json,
one-line refusals of a bad folder (exit 2, nothing written, nothing run), and the sections in a browser."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import SCENARIOS
from hypothesis import given
from hypothesis import strategies as st

from crisis_sim.cli import main
from crisis_sim.report.exploration import (
    ExplorationError,
    box_words,
    goal_words,
    load_design,
    load_robustness,
    robustness_html,
    value,
)

SMALL = str(SCENARIOS / "small_district.toml")
MORE = f"{SMALL}::more_patrol:city.districts.north.patrol_units.day=6"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CRISIS_SIM_ARTIFACTS") or Path(__file__).parent / "artifacts")

LEVERS = """
constraints = ["specialized_coverage >= 0.2"]
[[levers]]
name = "mobile_teams"
path = "programs.mobile_crisis.teams"
type = "int"
low = 1
high = 3
unit_cost = 1000.0
[[levers]]
name = "start_hour"
path = "programs.mobile_crisis.start_hour"
type = "real"
low = 8.0
high = 14.0
[[objectives]]
metric = "annual_cost"
direction = "minimize"
[[objectives]]
metric = "specialized_coverage"
direction = "maximize"
"""

UNC = """
goals = ["p90_response_min <= 30"]
[events.vacancy]
type = "vacancy"
role = "patrol"
day = 0
share = 0.0
[[uncertainties]]
name = "patrol_vacancy"
event = "vacancy"
field = "share"
low = 0.0
high = 0.5
[[uncertainties]]
name = "officers"
path = "police.officers_per_unit"
type = "int"
low = 1
high = 2
"""


# --- plain words -------------------------------------------------------------------------------------------------
def test_goals_and_values_read_as_words_with_units():
    assert goal_words("specialized_coverage >= 0.8") == "coverage of eligible MH calls at least 80%"
    assert goal_words("p90_response_min <= 30") == "90th-percentile response time at most 30.0 min"
    assert goal_words("annual_cost < 2000000") == "annual cost less than $2.00M"
    assert value("arrests", 12.0) == "12" and value("annual_cost", float("nan")) == "n/a"


@given(lo=st.floats(0.0, 1.0), width=st.floats(0.01, 1.0), open_lo=st.booleans(), open_hi=st.booleans())
def test_a_box_side_at_the_edge_of_the_sample_is_left_out(lo, width, open_lo, open_hi):
    sampled = {"patrol_vacancy": (lo - (0 if open_lo else 0.1), lo + width + (0 if open_hi else 0.1))}
    text = box_words({"limits": {"patrol_vacancy": [lo, lo + width]}}, sampled)
    assert text.startswith("patrol vacancy ") and "_" not in text
    if open_lo and not open_hi:
        assert " at most " in text
    elif open_hi and not open_lo:
        assert " at least " in text
    else:
        assert " between " in text


# --- refusals ----------------------------------------------------------------------------------------------------
def _report(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "r.html"
    code = main(["report", SMALL, "-R", "2", "--days", "20", "--workers", "1", "--no-progress", "--out", str(out),
                 *extra])  # fmt: skip
    return code, out


def _robustness_doc() -> dict:
    box = {"limits": {"patrol_vacancy": [0.1, 0.5]}, "coverage": 0.9, "density": 0.95, "mass": 0.7}
    return {"policies": {"a": {"experiments": 20, "failure_share": 0.7, "satisficing": 0.3, "boxes": [box],
                               "regret": 5.0, "regret_p90": 2.0, "regret_metric": "p90_response_min"},
                         "b": {"experiments": 20, "failure_share": 0.0, "satisficing": 1.0, "boxes": [],
                               "regret": 0.0, "regret_p90": 0.0, "regret_metric": "p90_response_min"}},
            "uncertainties": [{"name": "patrol_vacancy", "low": 0.0, "high": 0.5}], "goals": ["p90_response_min <= 30"],
            "regret_metric": "p90_response_min", "experiments": 20, "replications": 2, "days": 60}  # fmt: skip


@pytest.mark.parametrize(
    "option, setup, message",
    [
        ("--design", None, r"--design .*missing: expected a folder written by crisis-sim design \(with pareto.json\), "
         "found no such folder"),
        ("--design", lambda d: None, r"found no pareto.json in it"),
        ("--design", lambda d: (d / "pareto.json").write_text("{not json"), r"found an unreadable pareto.json"),
        ("--design", lambda d: (d / "pareto.json").write_text(json.dumps({"scenario": "x", "pareto": []})),
         r"pareto.json: objectives: expected what crisis-sim design writes"),
        ("--robustness", lambda d: (d / "robustness.json").write_text("[1, 2]"),
         r"found a robustness.json that is not a JSON object"),
        ("--robustness", lambda d: (d / "robustness.json").write_text(json.dumps(
            {**_robustness_doc(), "policies": {"a": {**_robustness_doc()["policies"]["a"], "failure_share": "x"}}})),
         r"robustness.json: policies.a.failure_share: expected what crisis-sim robustness writes"),
        ("--robustness", lambda d: (d / "robustness.json").write_text(json.dumps(
            {**_robustness_doc(), "uncertainties": [{"name": "other", "low": 0, "high": 1}]})),
         r"policies.a.boxes.0.limits: expected a declared uncertainty, found 'patrol_vacancy'"),
        ("--robustness", lambda d: ((d / "robustness.json").write_text(json.dumps(_robustness_doc())),
                                    (d / "robustness.csv").write_text("policy,failed\na,True\n")),
         r"robustness.csv: expected a column 'patrol_vacancy'"),
    ],
)  # fmt: skip
def test_a_bad_folder_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, monkeypatch, option, setup, message):
    import crisis_sim.report.run as run_mod

    monkeypatch.setattr(run_mod, "run_experiment", lambda *a, **k: pytest.fail("simulated before checking"))
    folder = tmp_path / ("missing" if setup is None else "study")
    if setup is not None:
        folder.mkdir()
        setup(folder)
    code, out = _report(tmp_path, option, str(folder))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and re.search(message, lines[0]), lines
    assert "Traceback" not in lines[0]
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_robustness_section_in_words_from_a_written_folder(tmp_path):
    (tmp_path / "robustness.json").write_text(json.dumps(_robustness_doc()))
    rows = ["policy,patrol_vacancy,failed"]
    rows += [f"a,{v / 20:.3f},{v >= 3}" for v in range(10)] + [f"b,{v / 20:.3f},False" for v in range(10)]
    (tmp_path / "robustness.csv").write_text("\n".join(rows) + "\n")
    data = load_robustness(tmp_path)
    # the box [0.1, 0.5] holds 0.10-0.45 (8 combinations); outside it 0.00 and 0.05 (2, neither fails)
    assert data["policies"]["a"]["outside_boxes"] == {"experiments": 2, "failure_share": 0.0}
    html = robustness_html(data, str)
    assert "a fails a goal in 70% of the combinations, mostly when patrol vacancy at least 0.1" in html
    assert "Only 2 combinations fell outside that range: too few to say what it tolerates." in html
    assert "b never fails in these ranges" in html
    with pytest.raises(ExplorationError, match="expected a folder written by crisis-sim design"):
        load_design(tmp_path)


# --- end to end --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("exploration")
    (d / "levers.toml").write_text(LEVERS)
    (d / "unc.toml").write_text(UNC)
    fast = ["--days", "30", "--no-progress", "--workers", "1", "-R", "2", "--no-plots"]
    assert main(["design", SMALL, "--levers", str(d / "levers.toml"), "--trials", "3", "--population", "2",
                 "--confirm-replications", "2", "--out", str(d / "design"), *fast]) == 0  # fmt: skip
    assert main(["robustness", SMALL, MORE, "--uncertainties", str(d / "unc.toml"), "--experiments", "5",
                 "--out", str(d / "robust"), *fast]) == 0  # fmt: skip
    out = d / "r.html"
    assert main(["report", SMALL, MORE, "-R", "2", "--days", "30", "--workers", "1", "--no-progress",
                 "--design", str(d / "design"), "--robustness", str(d / "robust"), "--out", str(out)]) == 0  # fmt: skip
    return d, out, out.with_suffix(".json")


def test_report_carries_the_design_and_robustness_numbers(studies, capsys):
    d, out, data_path = studies
    capsys.readouterr()
    data = json.loads(data_path.read_text())
    pareto = json.loads((d / "design" / "pareto.json").read_text())
    robust = json.loads((d / "robust" / "robustness.json").read_text())
    assert [p["trial"] for p in data["design"]["pareto"]] == [p["trial"] for p in pareto["pareto"]]
    assert data["design"]["trials"] == 3 and data["design"]["goals"] == ["specialized_coverage >= 0.2"]
    best = pareto["best_feasible"]
    assert (data["design"]["best_feasible"] or {}).get("trial") == (best or {}).get("trial")
    if best:
        conf = data["design"]["best_feasible"]["confirmation"]["metrics"]["annual_cost"]
        assert conf["mean"] == pytest.approx(best["confirmation"]["metrics"]["annual_cost"]["mean"])
    assert set(data["robustness"]["policies"]) == {"small_district", "more_patrol"}
    for name, info in robust["policies"].items():
        got = data["robustness"]["policies"][name]
        assert got["failure_share"] == info["failure_share"] and got["regret"] == pytest.approx(info["regret"])
        assert [b["limits"] for b in got["boxes"]] == [b["limits"] for b in info["boxes"]]
        assert got["outside_boxes"]["experiments"] <= 5
    assert len(data["robustness"]["points"]) == 10  # 5 experiments x 2 policies


def test_sections_are_in_plain_words_and_show_in_a_browser(studies):
    _d, out, _data = studies
    html = out.read_text()
    design_at, robust_at = html.index("<h2 id=design>"), html.index("<h2 id=robustness>")
    assert html.index("id=decision") < design_at < robust_at < html.index("id=staffing")
    sections = html[design_at:html.index("id=staffing")]
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>|<summary>(.*?)</summary>|<th[^>]*>(.*?)</th>", sections)
    for text in ("".join(h) for h in headings):
        assert "." not in text.replace("90th pct", "") and "_" not in text, text  # no schema paths or metric keys
    assert "How much of each program: the designs searched" in sections
    assert "Where each option breaks" in sections
    assert "coverage of eligible MH calls at least 20%" in sections
    assert 'alt="designs searched: coverage of eligible MH calls against annual cost" src="data:image/png' in html
    assert 'alt="stressor combinations each option fails, with its breaking range" src="data:image/png' in html
    if Path(CHROMIUM).exists():
        _screenshot(out)


def _screenshot(out: Path) -> None:
    """Both sections in Chromium: the figures load; a screenshot of the two sections is saved."""
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(out.resolve().as_uri())
            for alt in ("designs searched: coverage of eligible MH calls against annual cost",
                        "stressor combinations each option fails, with its breaking range"):  # fmt: skip
                assert page.locator(f'img[alt="{alt}"]').evaluate("i => i.naturalWidth") > 100
            top = page.locator("#design").bounding_box()["y"]
            end = page.locator("#staffing").bounding_box()["y"]
            page.screenshot(path=str(ARTIFACTS / "report-exploration.png"), full_page=True,
                            clip={"x": 0, "y": top - 10, "width": 1400, "height": end - top})  # fmt: skip
        finally:
            browser.close()


def _design_doc(best: bool) -> dict:
    def design(trial: int, cost: float, cov: float, feasible: bool) -> dict:
        return {"trial": trial, "levers": {"mobile_teams": trial}, "feasible": feasible,
                "objectives": {"annual_cost": cost, "specialized_coverage": cov},
                "metrics": {"annual_cost": cost, "specialized_coverage": cov, "p90_response_min": 31.0}}  # fmt: skip

    front = [design(1, 1.5e6, 0.7, False), design(2, 2.5e6, 0.85, best)]
    return {"scenario": "scenarios/mixed_city.toml", "objectives": [{"metric": "annual_cost", "direction": "minimize"},
            {"metric": "specialized_coverage", "direction": "maximize"}],
            "constraints": ["specialized_coverage >= 0.8", "p90_response_min <= 30"], "cheapest_by": "annual_cost",
            "replications": 3, "trials": 12, "feasible_trials": int(best), "pareto": front,
            "best_feasible": front[1] if best else None, "closest": [] if best else front[::-1],
            "confirmation": None}  # fmt: skip


@pytest.mark.parametrize("best", [True, False])
def test_design_section_names_the_cheapest_feasible_design_or_the_closest_ones(tmp_path, best):
    from crisis_sim.report.exploration import design_html

    (tmp_path / "pareto.json").write_text(json.dumps(_design_doc(best)))
    data = load_design(tmp_path)
    assert data["trial_points"] == []  # no trials.csv: the figure shows the front only
    html = design_html(data, str)
    assert "tried 12 program designs of <b>mixed_city</b>" in html
    assert "coverage of eligible MH calls at least 80%; 90th-percentile response time at most 30.0 min" in html
    assert "their annual cost runs from $1.50M to $2.50M" in html
    if best:
        assert "Cheapest design meeting every goal</b> (by annual cost): design 2: <b>mobile teams 2</b>" in html
        assert "It was not re-run to confirm it." in html
    else:
        assert "No design met every goal" in html
        assert ("<li>design 2: mobile teams 2: coverage of eligible MH calls 85%, 90th-percentile response time "
                "31.0 min</li>") in html
        assert html.index("<li>design 2") < html.index("<li>design 1")
