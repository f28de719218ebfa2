"""The calibration-target warning: the first option's statistics against published ranges, measured as the
calibration measures them."""

from __future__ import annotations

import json

import pandas as pd

from crisis_sim.report.checks import DEFAULT_TARGETS, calibration_check

TARGETS = """
[[fit]]
name = "arrest"
statistic = "arrest_rate"
value = 0.075
range = [0.05, 0.10]
population = "MH calls attended by police"
source = "[seattle_monitor] test"

[[validation]]
name = "mh_share"
statistic = "mh_share"
value = 0.065
range = [0.05, 0.08]
source = "[kane2021] test"

[[validation]]
name = "by_responder"
statistic = "by_responder.patrol.arrest_rate"
value = 0.1
sd = 0.01
source = "[seattle_monitor] test"
"""


def _runs(arrest_rates, mh_share=0.06):
    return pd.DataFrame([{"scenario_index": 0, "replication": r, "arrest_rate": a,
                          "extra": json.dumps({"mh_share": mh_share + 0.001 * r})}
                         for r, a in enumerate(arrest_rates)])  # fmt: skip


def test_a_target_outside_its_range_is_warned(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(TARGETS)
    out = calibration_check(_runs([0.20, 0.21, 0.22]), False, "Police as usual", path)
    assert [w["target"] for w in out["warnings"]] == ["arrest"]
    w = out["warnings"][0]
    assert w["kind"] == "calibration target outside its range" and "outside the published range 0.05 to 0.1" in w["text"]
    assert {r["target"] for r in out["checked"]} == {"arrest", "mh_share"}
    assert [s["target"] for s in out["skipped"]] == ["by_responder"]  # needs the ledger


def test_inside_the_range_no_warning_and_fit_targets_skipped_with_programs(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(TARGETS)
    assert not calibration_check(_runs([0.07, 0.08, 0.075]), False, "A", path)["warnings"]
    out = calibration_check(_runs([0.20, 0.21, 0.22]), True, "A", path)
    assert not out["warnings"] and any(s["target"] == "arrest" for s in out["skipped"])


def test_missing_file_checks_nothing(tmp_path):
    assert calibration_check(_runs([0.2]), False, "A", tmp_path / "none.toml")["file"] is None
    assert DEFAULT_TARGETS.name == "targets.toml"


def test_report_warns_on_a_target_outside_its_range_and_refuses_a_bad_targets_file(tmp_path, capsys):
    from conftest import SCENARIOS

    from crisis_sim.cli import main

    targets = tmp_path / "targets.toml"
    targets.write_text('[[fit]]\nname = "far"\nstatistic = "arrest_rate"\nvalue = 0.55\nrange = [0.5, 0.6]\n'
                       'population = "MH calls"\nsource = "[seattle_monitor] test"\n')  # fmt: skip
    out = tmp_path / "r.html"
    args = ["report", str(SCENARIOS / "small_district.toml"), "-R", "2", "--days", "40", "--workers", "1",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main([*args, "--targets", str(targets)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    [w] = [w for w in data["warnings"] if w["kind"] == "calibration target outside its range"]
    assert w["target"] == "far" and "outside the published range 0.5 to 0.6" in w["text"]
    assert "calibration target far" in out.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("[[fit]]\nname = 'x'\n")
    out2 = tmp_path / "r2.html"
    assert main([*args[:-1], str(out2), "--targets", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--targets: " in err[0] and "bad.toml" in err[0] and not out2.exists()
