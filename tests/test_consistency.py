"""Honest validation (crisis_sim.analysis.consistency): a target whose statistic follows one input of the model
is a consistency check, never held-out validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.analysis import calibration as cal
from crisis_sim.analysis import consistency as cc
from crisis_sim.cli import main

T = cal.Target("t", "validation", "metric", 0.5, sd=0.1, metric="arrest_rate", source="s")


def check(x: np.ndarray, y: np.ndarray, other: np.ndarray) -> cc.TargetCheck:
    return cc.TargetCheck(T, list(y), {"a": cc._spearman(x, y), "b": cc._spearman(other, y)})


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([np.log1p, np.sqrt, lambda v: -v, lambda v: v**3]))
def test_a_statistic_that_follows_one_input_monotonically_is_a_consistency_check(seed, f):
    rng = np.random.default_rng(seed)
    x, other = rng.uniform(0.1, 3.0, 20), rng.uniform(0, 1, 20)
    c = check(x, f(x), other)
    assert c.label() == "consistency check (tracks a)" and c.tracks() == "a"


def test_an_unrelated_or_constant_statistic_is_not_a_consistency_check():
    rng = np.random.default_rng(3)
    x, other = rng.uniform(0, 1, 30), rng.uniform(0, 1, 30)
    noisy = check(x, x + rng.normal(0, 1.0, 30), other)  # related, but mostly noise: not tracking
    assert noisy.label() == cc.INDEPENDENT and noisy.tracks() is None
    flat = check(x, np.full(30, 0.2), other)
    assert flat.label() == cc.NOT_VARYING and math.isnan(flat.strongest[1])


def test_misplaced_names_validation_targets_that_track_an_input():
    x = np.linspace(0, 1, 12)
    tracked = cc.TargetCheck(T, list(x), {"a": 1.0})
    free = cc.TargetCheck(cal.Target("u", "consistency", "metric", 1, sd=1, metric="m", source="s"), list(x),
                          {"a": 0.1})  # fmt: skip
    res = cc.ConsistencyResult([tracked, free], __import__("pandas").DataFrame({"a": x}), 1, 30, 0, 0.9, "e")
    notes = cc.misplaced(res)
    assert notes == ["t: filed as validation but tracks a; move it to [[consistency]]",
                     "u: filed as consistency but tracks no single input"]  # fmt: skip


def test_the_cit_arrest_ratio_tracks_its_input_and_the_mh_share_does_not(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        "[[validation]]\nname = 'cit_ratio'\nstatistic = 'ratio'\nmetric = 'arrest_rate'\n"
        f"scenario = '{SCENARIOS / 'cit.toml'}'\nreference = '{SCENARIOS / 'small_district.toml'}'\n"
        "value = 1.0\nsd = 0.15\nsource = 's'\n\n"
        "[[consistency]]\nname = 'share'\nstatistic = 'mh_share'\nvalue = 0.065\nrange = [0.05, 0.08]\nsource = 's'\n"
    )  # fmt: skip
    out = tmp_path / "out"
    argv = ["calibrate", "small_district", "--targets", str(targets), "--check-consistency", "--draws", "10",
            "-R", "2", "--days", "60", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((out / "consistency_check.json").read_text())
    rows = {r["target"]: r for r in doc["targets"]}
    assert rows["cit_ratio"]["tracks"] == "cit_arrest_or" and rows["cit_ratio"]["spearman"] > 0.9
    assert rows["share"]["tracks"] is None
    assert "co_response_arrest_or" not in doc["correlations"]["share"]  # only inputs of the target's scenarios
    assert doc["draws"] == 10 and doc["provenance"]["crisis_sim_version"]
    md = (out / "consistency_check.md").read_text()
    assert "cit_ratio: filed as validation but tracks cit_arrest_or" in md
    assert "share: filed as consistency but tracks no single input" in md


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--draws", "5"], "at least 10 draws"),
        (["--trials", "3"], "runs alone"),
        (["--evidence", "nope.toml"], "nope.toml"),
    ],
)
def test_bad_check_options_give_one_line_and_exit_2(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    argv = ["calibrate", "small_district", "--targets", str(ROOT / "calibration" / "targets.toml"),
            "--check-consistency", "--days", "10", "-R", "1", "--workers", "1", "--out", str(out), *extra]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_one_at_a_time_design_varies_each_input_alone_and_correlates_per_input(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        "[[validation]]\nname = 'cit_ratio'\nstatistic = 'ratio'\nmetric = 'arrest_rate'\n"
        f"scenario = '{SCENARIOS / 'cit.toml'}'\nreference = '{SCENARIOS / 'small_district.toml'}'\n"
        "value = 1.0\nsd = 0.15\nsource = 's'\n\n"
        "[[consistency]]\nname = 'share'\nstatistic = 'mh_share'\nvalue = 0.065\nrange = [0.05, 0.08]\nsource = 's'\n"
    )  # fmt: skip
    evidence = tmp_path / "ev.toml"
    evidence.write_text(
        '[[entries]]\nname = "cit_arrest_or"\npath = "programs.cit.arrest_or"\ndistribution = "lognormal"\n'
        'median = 1.0\nsigma_log = 0.48\nsource = "assumption"\nwhy = "test"\n\n'
        '[[entries]]\nname = "police_on_scene_scale"\npath = "dispositions.mh_on_scene"\napply = "multiply"\n'
        'distribution = "uniform"\nlow = 0.8\nhigh = 1.45\nsource = "assumption"\nwhy = "test"\n'
    )  # fmt: skip
    out = tmp_path / "out"
    argv = ["calibrate", "small_district", "--targets", str(targets), "--check-consistency", "--consistency-design",
            "oat", "--draws", "7", "--evidence", str(evidence), "-R", "2", "--days", "45", "--workers", "1",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((out / "consistency_check.json").read_text())
    assert doc["design_key"] == "oat" and doc["draws"] == 14 and doc["design"].startswith("one at a time: 2 inputs")
    rows = {r["target"]: r for r in doc["targets"]}
    assert rows["cit_ratio"]["tracks"] == "cit_arrest_or" and rows["cit_ratio"]["spearman"] > 0.9
    assert set(doc["correlations"]["cit_ratio"]) == {"cit_arrest_or", "police_on_scene_scale"}
    assert doc["correlations"]["share"] == {"police_on_scene_scale": doc["correlations"]["share"][
        "police_on_scene_scale"]}  # the CIT effect does not reach the share's scenario
    assert rows["share"]["tracks"] is None
    assert "One at a time" in (out / "consistency_check.md").read_text()


def test_oat_needs_at_least_7_points(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["calibrate", "small_district", "--targets", str(ROOT / "calibration" / "targets.toml"),
            "--check-consistency", "--consistency-design", "oat", "--draws", "5", "--days", "10", "-R", "1",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "at least 7 points per input" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_one_at_a_time_ties_go_to_the_input_that_moves_the_statistic_most():
    c = cc.TargetCheck(T, [0.1, 0.2], {"a": 1.0, "b": -0.95, "c": 0.3}, swings={"a": 0.01, "b": 0.5, "c": 0.9})
    assert c.strongest == ("b", -0.95) and c.tracks() == "b" and c.also_past() == ["a"]
    row = c.row()
    assert row["swing"] == 0.5 and row["also_tracks"] == ["a"]
    flat = cc.TargetCheck(T, [0.1], {"a": 0.5, "b": -0.5}, swings={"a": 0.1, "b": 0.2})
    assert flat.strongest == ("b", -0.5) and flat.tracks() is None  # tie on |rho| below the threshold: the swing
    joint = cc.TargetCheck(T, [0.1], {"a": 1.0, "b": -0.95})  # the joint design keeps the largest |rho|
    assert joint.strongest == ("a", 1.0) and joint.row()["swing"] is None
