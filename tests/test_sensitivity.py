"""Sensitivity pipeline without the simulator: SALib's Ishigami function through the same steps (sample, evaluate,
collect in sampler order, analyse), inputs-file validation, sample order, integer rounding, categories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SCENARIOS
from SALib.test_functions import Ishigami

from crisis_sim.analysis.sensitivity import (
    FunctionEvaluator,
    SensitivityError,
    analyse,
    collect_outputs,
    make_design,
    run_sensitivity,
    write_outputs,
)
from crisis_sim.analysis.sensitivity_inputs import (
    check_against_scenario,
    field_type,
    inputs_toml,
    load_inputs,
    parse_inputs,
)
from crisis_sim.cli import main
from crisis_sim.scenario import ScenarioError, load_scenario

PI = math.pi
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def ishigami_inputs(extra: int = 0) -> object:
    raw = {
        "metrics": ["y"],
        "inputs": [{"path": f"x{i}", "low": -PI, "high": PI} for i in range(1, 4 + extra)],
    }
    return parse_inputs(raw, "<ishigami>", check_paths=False)


def ishigami(X: np.ndarray) -> np.ndarray:
    return Ishigami.evaluate(X[:, :3])  # a 4th column, if any, is a dummy input the function ignores


def indices(result, index: str) -> pd.Series:
    t = result.table
    return t[(t["index"] == index)].set_index("input")["value"]


# --- Ishigami: known indices recovered through the pipeline ---------------------------------------------------
def test_ishigami_sobol_recovers_known_indices():
    result = run_sensitivity(ishigami_inputs(), "sobol", 1024, FunctionEvaluator(ishigami), seed=3)
    s1, st = indices(result, "S1"), indices(result, "ST")
    for k, name in enumerate(["x1", "x2", "x3"]):
        assert s1[name] == pytest.approx(ISHIGAMI_S1[k], abs=0.05), (name, s1[name])
        assert st[name] == pytest.approx(ISHIGAMI_ST[k], abs=0.05), (name, st[name])
    assert result.design.n_rows == 1024 * (3 + 2)
    assert not result.warnings  # N = 1024 is enough here: every CI half-width below 0.1


def test_ishigami_fast_recovers_first_order_and_total():
    result = run_sensitivity(ishigami_inputs(), "fast", 1000, FunctionEvaluator(ishigami), seed=3)
    s1, st = indices(result, "S1"), indices(result, "ST")
    for k, name in enumerate(["x1", "x2", "x3"]):
        assert s1[name] == pytest.approx(ISHIGAMI_S1[k], abs=0.05)
        assert st[name] == pytest.approx(ISHIGAMI_ST[k], abs=0.06)


def test_ishigami_morris_screens_the_dummy_out():
    result = run_sensitivity(ishigami_inputs(extra=1), "morris", 40, FunctionEvaluator(ishigami), seed=3)
    mu_star = indices(result, "mu_star")
    assert mu_star["x4"] == 0.0
    assert min(mu_star["x1"], mu_star["x2"], mu_star["x3"]) > 1.0


def test_input_that_cannot_matter_gets_total_index_zero_within_its_ci():
    result = run_sensitivity(ishigami_inputs(extra=1), "sobol", 512, FunctionEvaluator(ishigami), seed=5)
    t = result.table.set_index(["input", "index"])
    st, conf = t.loc[("x4", "ST"), "value"], t.loc[("x4", "ST"), "conf"]
    assert abs(st) <= conf + 1e-9
    assert abs(st) < 0.01
    assert t.loc[("x3", "ST"), "value"] > t.loc[("x3", "ST"), "conf"]  # while a real input is resolved


# --- sample order ---------------------------------------------------------------------------------------------
def test_outputs_arriving_shuffled_give_the_same_indices():
    spec = ishigami_inputs()
    ordered = run_sensitivity(spec, "sobol", 256, FunctionEvaluator(ishigami), seed=1)
    shuffled = run_sensitivity(spec, "sobol", 256, FunctionEvaluator(ishigami, shuffle=7), seed=1)
    pd.testing.assert_frame_equal(ordered.table, shuffled.table)
    # The check has teeth: the same outputs analysed in arrival order give other indices.
    runs = FunctionEvaluator(ishigami, shuffle=7)(ordered.design, [("", {})])
    wrong = analyse(ordered.design, runs["y"].to_numpy(), "y", seed=1)
    assert not np.allclose(wrong["value"].to_numpy(), ordered.table["value"].to_numpy(), atol=0.05)


def test_replications_are_averaged_per_row_and_missing_rows_refused():
    runs = pd.DataFrame({"case": 0, "row": [2, 0, 1, 0, 2, 1], "replication": [0, 0, 0, 1, 1, 1],
                         "y": [5.0, 1.0, 3.0, 2.0, 7.0, 3.0]})  # fmt: skip
    ys, noise = collect_outputs(runs, 1, 3, ["y"])
    assert ys[(0, "y")].tolist() == [1.5, 3.0, 6.0]
    # Row x replication interaction: residuals of the 3x2 grid after row and replication means.
    grid = np.array([[1.0, 2.0], [3.0, 3.0], [5.0, 7.0]])
    resid = grid - grid.mean(1, keepdims=True) - grid.mean(0, keepdims=True) + grid.mean()
    expected = (resid**2).sum() / (2 * 1) / 2 / np.var([1.5, 3.0, 6.0], ddof=1)
    assert noise[(0, "y")] == pytest.approx(expected)
    # A replication level shared by every row (common random numbers) is not noise.
    shifted = runs.assign(y=runs["y"] + 100.0 * runs["replication"])
    assert collect_outputs(shifted, 1, 3, ["y"])[1][(0, "y")] == pytest.approx(expected)
    with pytest.raises(SensitivityError, match="2 of 4 rows"):
        collect_outputs(runs[runs["row"] != 1], 1, 4, ["y"])


def test_metric_undefined_in_some_rows_is_reported_not_analysed():
    def f(X):
        y = Ishigami.evaluate(X)
        return {"y": y, "wait": np.where(X[:, 0] > 2.5, np.nan, y)}  # e.g. a wait nobody had in some rows

    spec = ishigami_inputs()
    spec = type(spec)(**{**spec.__dict__, "metrics": ("y", "wait")})
    result = run_sensitivity(spec, "sobol", 64, FunctionEvaluator(f), seed=0)
    t = result.table
    assert t[t["metric"] == "wait"]["value"].isna().all() and t[t["metric"] == "y"]["value"].notna().all()
    assert any(w.startswith("wait: undefined in ") and "not analysed" in w for w in result.warnings)


# --- the design -----------------------------------------------------------------------------------------------
def test_integer_fields_are_rounded_inside_their_bounds():
    spec = parse_inputs(
        {"metrics": ["arrests"], "inputs": [
            {"path": "programs.outreach.caseload_cap", "low": 10, "high": 40},
            {"path": "programs.outreach.nurse_fte", "distribution": "triangular", "low": 0.5, "mode": 1.0, "high": 2.0},
        ]},
        "<t>",
    )  # fmt: skip
    assert [i.kind for i in spec.inputs] == [int, float]
    design = make_design(spec, "sobol", 64, seed=0)
    frame = design.frame()
    caps = frame["caseload_cap"]
    assert all(
        isinstance(v, int) for v in (design.overrides(i)["programs.outreach.caseload_cap"] for i in range(5))
    )
    assert caps.between(10, 40).all() and set(caps) >= {10, 40}
    assert frame["nurse_fte"].between(0.5, 2.0).all()
    assert frame["row"].tolist() == list(range(design.n_rows))


def test_distributions_map_onto_salib():
    spec = parse_inputs(
        {"metrics": ["y"], "inputs": [
            {"path": "a", "distribution": "loguniform", "low": 1.0, "high": 100.0},
            {"path": "b", "distribution": "normal", "mean": 5.0, "sd": 1.0},
            {"path": "c", "distribution": "truncnormal", "low": 0.0, "high": 1.0, "mean": 0.2, "sd": 0.5},
            {"path": "d", "distribution": "triangular", "low": 0.0, "mode": 3.0, "high": 4.0},
        ]},
        "<t>", check_paths=False,
    )  # fmt: skip
    design = make_design(spec, "sobol", 1024, seed=2)
    assert design.problem["dists"] == ["logunif", "truncnorm", "truncnorm", "triang"]
    X = design.X
    assert np.median(np.log10(X[:, 0])) == pytest.approx(1.0, abs=0.1)  # log-uniform: median at 10
    assert X[:, 1].mean() == pytest.approx(5.0, abs=0.05) and X[:, 1].std() == pytest.approx(1.0, abs=0.05)
    assert X[:, 2].min() >= 0.0 and X[:, 2].max() <= 1.0
    assert np.median(X[:, 3]) == pytest.approx(
        math.sqrt(4 * 3 / 2), abs=0.1
    )  # triangular median (mode >= mid)
    morris = make_design(
        spec, "morris", 4, seed=2
    )  # Morris levels reach the 0/1 quantiles: finite (truncated)
    assert np.isfinite(morris.X).all()


def test_method_constraints_are_usage_errors():
    spec = ishigami_inputs()
    with pytest.raises(SensitivityError, match="power of 2"):
        make_design(spec, "sobol", 100)
    with pytest.raises(SensitivityError, match="N > 64"):
        make_design(spec, "fast", 64)
    with pytest.raises(SensitivityError, match="group key"):
        make_design(spec, "sobol", 64, groups=True)


def test_groups_are_analysed_together():
    raw = {"metrics": ["y"], "inputs": [
        {"path": "x1", "low": -PI, "high": PI, "group": "a"},
        {"path": "x2", "low": -PI, "high": PI, "group": "b"},
        {"path": "x3", "low": -PI, "high": PI, "group": "a"},
    ]}  # fmt: skip
    spec = parse_inputs(raw, "<g>", check_paths=False)
    result = run_sensitivity(spec, "sobol", 512, FunctionEvaluator(ishigami), seed=0, groups=True)
    st = indices(result, "ST")
    assert sorted(st.index) == ["a", "b"]
    assert st["a"] == pytest.approx(1 - ISHIGAMI_S1[1], abs=0.06)  # all but x2's own share
    with pytest.raises(SensitivityError, match="sobol or morris"):
        make_design(spec, "fast", 100, groups=True)


def test_categories_are_analysed_one_by_one(tmp_path: Path):
    raw = {"metrics": ["y"], "inputs": [{"path": f"x{i}", "low": -PI, "high": PI} for i in (1, 2, 3)],
           "categorical": [{"path": "mode", "values": [1, 2], "labels": ["one", "two"]}]}  # fmt: skip
    spec = parse_inputs(raw, "<c>", check_paths=False)
    assert spec.categories() == [("one", {"mode": 1}), ("two", {"mode": 2})]
    result = run_sensitivity(spec, "sobol", 256, FunctionEvaluator(ishigami), seed=0)
    assert sorted(set(result.table["case"])) == ["one", "two"]
    files = write_outputs(result, tmp_path)
    assert {"sensitivity.csv", "sensitivity.parquet", "sample.csv", "sensitivity.json"} <= set(files)
    assert {"plots/y__one.png", "plots/y__two.png", "plots/heatmap__one.png"} <= set(files)
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(table.columns[:8]) == [
        "case",
        "input",
        "metric",
        "index",
        "value",
        "conf",
        "ci_low",
        "ci_high",
    ]


def test_small_n_and_wide_intervals_are_warned():
    result = run_sensitivity(ishigami_inputs(), "sobol", 16, FunctionEvaluator(ishigami), seed=0)
    assert any("below 256" in w for w in result.warnings)
    assert any("CI half-width" in w and "more samples" in w for w in result.warnings)


# --- inputs files ---------------------------------------------------------------------------------------------
GOOD_INPUT = 'path = "programs.outreach.nurse_fte"\nlow = 0.5\nhigh = 2.0\n'
BAD_FILES = {
    "no_metrics": ("[[inputs]]\n" + GOOD_INPUT, "metrics: expected a list of metric names"),
    "bad_path": ('metrics = ["arrests"]\n[[inputs]]\npath = "programs.outreach.nurse_ftee"\nlow = 1\nhigh = 2\n',
                 "inputs[0] (programs.outreach.nurse_ftee).path: expected a path of the scenario schema"),
    "not_numeric": ('metrics = ["arrests"]\n[[inputs]]\npath = "programs.outreach.crpo_attends_visits"\nlow = 0\nhigh = 1\n',
                    "expected a numeric parameter (int or float), found a bool field"),
    "bad_dist": ('metrics = ["arrests"]\n[[inputs]]\n' + GOOD_INPUT + 'distribution = "beta"\n',
                 "distribution: expected one of uniform, loguniform, triangular, normal, truncnormal, found 'beta'"),
    "missing_param": ('metrics = ["arrests"]\n[[inputs]]\npath = "programs.outreach.nurse_fte"\n'
                      'distribution = "normal"\nmean = 1.0\n', "sd: expected a number (normal needs mean, sd)"),
    "low_above_high": ('metrics = ["arrests"]\n[[inputs]]\npath = "programs.outreach.nurse_fte"\nlow = 2.0\nhigh = 1.0\n',
                       "high: expected a number above low (2), found 1.0"),
    "unknown_key": ('metrics = ["arrests"]\n[[inputs]]\n' + GOOD_INPUT + "hgih = 3\n", "unknown key 'hgih'"),
    "bad_toml": ('metrics = ["arrests"\n', "expected valid TOML"),
    "bad_fixed": ('metrics = ["arrests"]\n[fixed]\n"police.officer_per_unit" = 2\n[[inputs]]\n' + GOOD_INPUT,
                  "fixed.police.officer_per_unit: expected a path of the scenario schema"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_inputs_files_give_one_line_errors(tmp_path: Path, case: str):
    text, message = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_inputs(path)
    assert len(err.value.lines) == 1
    assert err.value.lines[0].startswith(str(path))
    assert message in err.value.lines[0]


def test_bad_inputs_file_exits_2_with_one_line(tmp_path: Path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_FILES["bad_path"][0])
    scenario = str(SCENARIOS / "outreach_echinops.toml")
    code = main(["sensitivity", scenario, "--inputs", str(path), "--method", "morris", "--n", "2", "-R", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nurse_ftee" in err[0]
    code = main(["sensitivity", scenario, "--inputs", str(ROOT / "sensitivity" / "outreach.toml"),
                 "--method", "sobol", "--n", "10", "-R", "1"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "power of 2" in err[0]


def test_paths_of_absent_sections_and_rejected_ranges_are_refused(tmp_path: Path):
    small = load_scenario(SCENARIOS / "small_district.toml")
    spec = parse_inputs({"metrics": ["arrests"], "inputs": [{"path": "programs.outreach.nurse_fte", "low": 0.5,
                                                             "high": 2.0}]}, "f.toml")  # fmt: skip
    with pytest.raises(ScenarioError, match="switch the section on"):
        check_against_scenario(spec, small)
    spec = parse_inputs({"metrics": ["arrests"], "inputs": [{"path": "dispatch.mh_identification", "low": 0.5,
                                                             "high": 1.5}]}, "f.toml")  # fmt: skip
    with pytest.raises(
        ScenarioError, match=r"f.toml: inputs\[0\] \(dispatch.mh_identification\).*1.5 rejected"
    ):
        check_against_scenario(spec, small)


def test_shipped_inputs_files_are_valid_for_their_scenarios():
    for name in ("outreach", "citywide"):
        spec = load_inputs(ROOT / "sensitivity" / f"{name}.toml")
        assert spec.scenario and all(i.source for i in spec.inputs)
        check_against_scenario(spec, load_scenario(ROOT / spec.scenario, spec.fixed))


def test_schema_types_and_inputs_helper():
    assert field_type("city.districts.north.patrol_units.day") is int
    assert field_type("dispositions.mh_on_scene.median_min") is float
    assert field_type("programs.outreach.nurse_fte") is float
    assert field_type("programs.outreach.no_such") is None
    text = inputs_toml(["programs.outreach.caseload_cap", "dispatch.mh_identification"])
    spec = parse_inputs(__import__("tomllib").loads(text), "<helper>")
    assert [(i.params["low"], i.params["high"]) for i in spec.inputs] == [(10, 40), (0.3, 0.9)]
    assert "[mhfr_blog]" in spec.inputs[1].source
