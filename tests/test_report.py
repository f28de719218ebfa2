"""crisis-sim report: one self-contained HTML file, narrative and tables, written atomically."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main
from crisis_sim.report.narrative import describe_event, describe_scenario, difference_sentences
from crisis_sim.scenario import load_scenario


@pytest.fixture(scope="module")
def report_files(tmp_path_factory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("report") / "r.html"
    code = main([
        "report", str(SCENARIOS / "small_district.toml"), str(SCENARIOS / "mobile_crisis.toml"),
        f"{SCENARIOS / 'small_district.toml'}::cit:programs.cit={{}}",
        "-R", "3", "--days", "75", "--workers", "1", "--no-progress", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.html", "r.json"]  # no temporary file left
    return out.read_text(), json.loads(out.with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def report_html(report_files) -> str:
    return report_files[0]


def test_report_is_self_contained(report_html):
    # Nothing is fetched from elsewhere: no src/href to http(s) hosts, images are data: URIs, CSS inline.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', report_html, re.I)
    assert "<link" not in report_html.lower() and "<script" not in report_html.lower()
    images = re.findall(r'<img[^>]*src="([^"]+)"', report_html)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def test_report_has_narrative_tables_and_sources(report_html):
    for heading in ("Decision table", "Staffing and sizing", "Month by month: change against Police as usual",
                    "In short", "The scenarios", "Key outcomes", "Costs", "Month by month: levels",
                    "Coverage and unserved calls", "Assumptions and their sources"):  # fmt: skip
        assert heading in report_html
    # The decision table comes first; the details are folded
    assert report_html.index("Decision table") < report_html.index("Staffing and sizing") < report_html.index(
        "<details>")
    assert "A city of 100,000 residents in 2 district(s)" in report_html
    assert "mobile crisis team" in report_html  # the programs in words
    assert "difference vs Police as usual" in report_html and "95% CI (paired)" in report_html
    assert "Mobile crisis team + stabilisation centre against Police as usual" in report_html  # summary sentence
    assert "programs.cit = {}" not in report_html.split("<details>")[0]  # no schema paths on the first screen
    assert "demand.mh_share" in report_html and '<a href="#ref-kane2021">[kane2021]</a>' in report_html  # sources
    assert '<li id="ref-kane2021">' in report_html and "Criminal Behaviour and Mental Health" in report_html


def test_bad_scenario_exit_2_one_line_and_nothing_written(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[city]\npopulation = -5\n')
    out = tmp_path / "out" / "r.html"
    code = main(["report", str(SCENARIOS / "small_district.toml"), str(bad), "-R", "1", "--days", "10",
                 "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and all("bad.toml" in line for line in err)
    assert not out.exists() and not (tmp_path / "out").exists()


def test_out_must_be_html(tmp_path, capsys):
    assert (
        main(["report", str(SCENARIOS / "small_district.toml"), "-R", "1", "--out", str(tmp_path / "r.txt")])
        == 2
    )
    assert "expected a file name ending in .html" in capsys.readouterr().err


def test_narrative_sentences():
    sc = load_scenario(SCENARIOS / "nurse_post_cut.toml")
    text = " ".join(describe_scenario(sc))
    assert "proactive outreach" in text and "nurse post" in text and "day 1095" in text
    assert describe_event({"type": "vacancy", "day": 60, "role": "patrol", "share": 0.2}).startswith(
        "On day 60 (month 2 of the run), 20% of patrol posts stand vacant"
    )
    result = {"scenarios": ["a", "b"], "metrics": {"arrests": {
        "a": {"diff": 0.0, "diff_ci_low": 0.0, "diff_ci_high": 0.0, "significant": False},
        "b": {"diff": -6.0, "diff_ci_low": -9.0, "diff_ci_high": -3.0, "significant": True}}}}  # fmt: skip
    assert difference_sentences(result) == ["b against a: −6 arrests (95% CI −9 to −3)."]


def test_report_json_carries_the_decision_table(report_files):
    html_text, data = report_files
    rows = data["decision"]
    assert [r["option"] for r in rows] == ["Police as usual", "Mobile crisis team + stabilisation centre",
                                           "CIT training"]  # fmt: skip
    for r in rows:
        assert r["annual_cost"]["mean"] > 0 and isinstance(r["fte"], dict) and r["rank"] in (1, 2, 3)
        for m in ("arrests", "ed_transports", "involuntary_holds", "connected_to_services"):
            v = r["metrics"][m]
            assert {"diff", "low", "high"} <= set(v)
        assert r["option"] in html_text and r["reason"]
    mobile = rows[1]
    assert set(mobile["fte"]) == {"social worker", "EMT"} and mobile["fte"]["EMT"] > 0
    assert 0 < mobile["coverage"] <= 1 and f"{mobile['coverage']:.0%}" in html_text
    assert set(mobile["cost_per_averted"]) == {"arrests", "ed_transports", "involuntary_holds",
                                               "connected_to_services"}  # fmt: skip
    for m, v in mobile["cost_per_averted"].items():  # a cost per outcome only where the change is clear
        assert (v["value"] is not None) == (mobile["metrics"][m]["clear"] and mobile["metrics"][m]["verdict"] ==
                                            "better")  # fmt: skip
    assert rows[0]["coverage"] is None and rows[0]["metrics"]["arrests"]["diff"] == 0
    assert data["provenance"]["crisis_sim_version"] and "run-to-run noise" in data["interval"]
    assert data["outcomes"]["scenarios"] == [r["option"] for r in rows]


def test_report_weights_coverage_by_hour_and_curve(tmp_path, capsys):
    out = tmp_path / "w.html"
    base = ["report", str(SCENARIOS / "small_district.toml"), str(SCENARIOS / "mobile_crisis.toml"), "-R", "2",
            "--days", "60", "--workers", "1", "--no-progress"]  # fmt: skip
    assert main([*base, "--out", str(out), "--weights", "arrests=3", "--rank-by", "size",
                 "--coverage-curve", "programs.mobile_crisis.teams=1,3"]) == 0  # fmt: skip
    data = json.loads(out.with_suffix(".json").read_text())
    text = out.read_text()
    assert data["ranking_weights"]["arrests"] == 3 and "arrests × 3" in data["ranking_rule"]
    assert data["ranking_by"] == "size" and "by size" in data["ranking_rule"]
    assert "--weights" in data["ranking_rule"] and "arrests × 3" in text
    hourly = data["decision"][1]["coverage_by_hour"]
    assert len(hourly["eligible_per_year"]) == 24 and set(hourly["served_per_year"]) >= {"mobile_crisis"}
    assert sum(hourly["eligible_outside_hours"].values()) > 0  # the team is not on duty round the clock
    # served never exceeds eligible in any hour
    assert all(sum(v[h] for v in hourly["served_per_year"].values()) <= hourly["eligible_per_year"][h] + 1e-9
               for h in range(24))  # fmt: skip
    assert data["decision"][0]["coverage_by_hour"] is None or not data["decision"][0]["coverage_by_hour"]["served_per_year"]
    assert "id=coverage-by-hour" in text and "id=coverage-curve" in text
    curve = data["coverage_curve"]
    [(name, points)] = curve["options"].items()
    assert name.startswith("Mobile crisis team") and [p["value"] for p in points] == [1, 3]
    assert points[1]["fte_total"] > points[0]["fte_total"]
    assert [p["as_configured"] for p in points] == [True, False]  # the shipped scenario has one team
    assert points[1]["coverage"] >= points[0]["coverage"] - 0.05  # more teams do not serve clearly fewer
    assert "calibration_check" in data
    bad = tmp_path / "bad.html"
    for extra, expected in ((["--weights", "arests=2"], "--weights: arests: unknown outcome"),
                            (["--coverage-curve", "programs.co_response.units=1,2"], "no option has this setting"),
                            (["--coverage-curve", "programs.mobile_crisis.teams=1"], "expected 2 to 12 values"),
                            (["--coverage-curve", "programs.mobile_crisis.teams=1,-2"], "teams")):  # fmt: skip
        assert main([*base, "--out", str(bad), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
        assert not bad.exists()
