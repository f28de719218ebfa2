"""crisis-sim report: one self-contained HTML file, narrative and tables, written atomically."""

from __future__ import annotations

import re

import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main
from crisis_sim.report.narrative import describe_event, describe_scenario, difference_sentences
from crisis_sim.scenario import load_scenario


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "r.html"
    code = main([
        "report", str(SCENARIOS / "small_district.toml"), str(SCENARIOS / "mobile_crisis.toml"),
        "-R", "2", "--days", "45", "--workers", "1", "--no-progress", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left
    return out.read_text()


def test_report_is_self_contained(report_html):
    # Nothing is fetched from elsewhere: no src/href to http(s) hosts, images are data: URIs, CSS inline.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', report_html, re.I)
    assert "<link" not in report_html.lower() and "<script" not in report_html.lower()
    images = re.findall(r'<img[^>]*src="([^"]+)"', report_html)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def test_report_has_narrative_tables_and_sources(report_html):
    for heading in ("In short", "The scenarios", "Key outcomes", "Costs", "Month by month",
                    "Coverage and unserved calls", "Assumptions and their sources"):  # fmt: skip
        assert heading in report_html
    assert "A city of 100,000 residents in 2 district(s)" in report_html
    assert "mobile crisis team" in report_html  # the programs in words
    assert "difference vs small_district" in report_html and "95% CI (paired)" in report_html
    assert "mobile_crisis against small_district" in report_html  # the summary sentence
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
