"""Calibration (issue 7): recovery of known parameters from the model's own output, resumable studies, file
errors, the calibrated scenario file and the shipped targets/params files."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import optuna
import pytest
from conftest import ROOT, SCENARIOS

from crisis_sim.analysis import calibration as cal
from crisis_sim.cli import main
from crisis_sim.scenario import load_scenario

SMALL = str(SCENARIOS / "small_district.toml")
ARREST = "dispositions.police_medium_risk.arrest"
RESOLVED = "dispositions.police_medium_risk.resolved"


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _synthetic_targets(tmp: Path, truth: dict[str, float], params: list[cal.FreeParam], metrics: dict[str, float],
                       days: int, reps: int) -> str:  # fmt: skip
    """Targets whose values are the model's own means at ``truth`` (same CRN seeds as the calibration)."""
    problem = cal.Problem(SMALL, [cal.Target(m, "fit", "metric", 0.0, sd=1.0, metric=m, source="x") for m in metrics],
                          params, reps, 0, days)  # fmt: skip
    measured = problem.evaluate(truth, "fit", cal.Runner())
    text = ""
    for m in measured:
        text += (f'[[fit]]\nname = "{m.target.name}"\nstatistic = "{m.target.metric}"\nvalue = {m.mean!r}\n'
                 f'sd = {metrics[m.target.name]!r}\nsource = "the model itself at known parameters"\n\n')  # fmt: skip
    return _write(tmp / "targets.toml", text)


def test_recovers_a_known_arrest_share_from_synthetic_targets(tmp_path):
    """Set the medium-risk arrest share to 0.10, simulate, use the arrest rate as the target, start from the
    scenario's own value (first trial) and search 0.02-0.16: the best trial lands within 0.02 of the truth."""
    params_file = _write(tmp_path / "params.toml", f'[[param]]\npath = "{ARREST}"\nlow = 0.02\nhigh = 0.16\n'
                         f'balance = "{RESOLVED}"\nsource = "test"\n')  # fmt: skip
    params = cal.load_params(params_file)
    truth = {ARREST: 0.10}
    targets = _synthetic_targets(tmp_path, truth, params, {"arrest_rate": 0.004}, days=45, reps=2)
    start = cal.current_values(params, cal.prepare(SMALL, 45))[ARREST]
    assert abs(start - truth[ARREST]) > 0.03
    out = tmp_path / "out"
    code = main(["calibrate", SMALL, "--targets", targets, "--params", params_file, "--trials", "10", "-R", "2",
                 "--days", "45", "--workers", "1", "--out", str(out), "--no-plots", "--json"])  # fmt: skip
    assert code == 0
    best = json.loads((out / "best_params.json").read_text())
    assert abs(best["params"][ARREST] - truth[ARREST]) < 0.02, best
    assert best["loss"] < best["loss_before"]
    # the balancing share absorbed the change, so the calibrated file is a valid scenario with the best values
    calibrated = load_scenario(out / "calibrated.toml")
    mix = calibrated.dispositions.police_medium_risk
    assert mix.arrest == pytest.approx(best["params"][ARREST], abs=1e-5)
    assert mix.resolved == pytest.approx(best["overrides"][RESOLVED], abs=1e-5)
    assert not (out / "validation.md").exists()  # no held-out targets, no (stale) validation table
    fit = (out / "fit.csv").read_text()
    assert "arrest_rate" in fit and "within_tolerance" in fit


@pytest.mark.slow
def test_recovers_two_parameters_from_synthetic_targets(tmp_path):
    """Arrest share and MH identification at known values; targets: the arrest rate and the identified share of
    MH calls, both measured on the model at the truth with the calibration's own CRN seeds."""
    params_file = _write(tmp_path / "params.toml", f'[[param]]\npath = "{ARREST}"\nlow = 0.02\nhigh = 0.16\n'
                         f'balance = "{RESOLVED}"\nsource = "test"\n\n[[param]]\npath = "dispatch.mh_identification"\n'
                         'low = 0.2\nhigh = 0.95\nsource = "test"\n')  # fmt: skip
    params = cal.load_params(params_file)
    truth = {ARREST: 0.11, "dispatch.mh_identification": 0.75}
    probes = [cal.Target("arrest", "fit", "metric", 0.0, sd=1.0, metric="arrest_rate", source="x"),
              cal.Target("identified", "fit", "share", 0.0, sd=1.0, numerator=("mh_identified",),
                         denominator=("mh_calls",), source="x")]  # fmt: skip
    arrest, identified = cal.Problem(SMALL, probes, params, 3, 0, 60).evaluate(truth, "fit", cal.Runner())
    targets = _write(tmp_path / "targets.toml",
        f'[[fit]]\nname = "arrest"\nstatistic = "arrest_rate"\nvalue = {arrest.mean!r}\nsd = 0.004\nsource = "model"\n\n'
        '[[fit]]\nname = "identified"\nstatistic = "share"\nnumerator = ["mh_identified"]\n'
        f'denominator = ["mh_calls"]\nvalue = {identified.mean!r}\nsd = 0.02\nsource = "model"\n')  # fmt: skip
    out = tmp_path / "out"
    assert main(["calibrate", SMALL, "--targets", targets, "--params", params_file, "--trials", "24", "-R", "3",
                 "--days", "60", "--workers", "1", "--out", str(out), "--no-plots"]) == 0  # fmt: skip
    best = json.loads((out / "best_params.json").read_text())["params"]
    assert abs(best[ARREST] - truth[ARREST]) < 0.025, best
    assert abs(best["dispatch.mh_identification"] - truth["dispatch.mh_identification"]) < 0.1, best


def test_a_resumed_calibration_continues_the_same_study(tmp_path, capsys):
    params = _write(tmp_path / "params.toml", '[[param]]\npath = "dispatch.mh_identification"\nlow = 0.2\n'
                    'high = 0.9\nsource = "test"\n')  # fmt: skip
    targets = _write(tmp_path / "targets.toml", '[[fit]]\nname = "arrest"\nstatistic = "arrest_rate"\n'
                     'value = 0.075\nsd = 0.01\nsource = "Seattle"\n')  # fmt: skip
    out = tmp_path / "out"
    argv = ["calibrate", SMALL, "--targets", targets, "--params", params, "-R", "1", "--days", "20",
            "--workers", "1", "--out", str(out), "--no-plots"]  # fmt: skip
    assert main([*argv, "--trials", "2"]) == 0
    storage = f"sqlite:///{out / 'study.db'}"
    first = optuna.load_study(study_name="calibrate-small_district", storage=storage)
    first_best, first_numbers = first.best_value, [t.number for t in first.trials]
    assert len(first.trials) == 2
    # a trial left RUNNING by a killed process is marked failed on resume and does not count
    first.ask()
    assert main([*argv, "--trials", "4"]) == 0
    again = optuna.load_study(study_name="calibrate-small_district", storage=storage)
    complete = [t for t in again.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and [t.number for t in complete][:2] == first_numbers
    assert [t.state.name for t in again.trials].count("FAIL") == 1
    assert again.best_value <= first_best
    assert json.loads((out / "best_params.json").read_text())["trials_completed"] == 4
    # the same command again: nothing more to do, same study
    assert main([*argv, "--trials", "4"]) == 0
    assert len(optuna.load_study(study_name="calibrate-small_district", storage=storage).trials) == 5
    # another design in the same folder is refused, in one line, exit 2
    capsys.readouterr()
    assert main([*argv[:6], "-R", "2", *argv[8:], "--trials", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different settings" in err[0]


@pytest.mark.parametrize(
    ("targets", "params", "message"),
    [
        (None, "ok", "no such file"),
        (
            "[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nsource = 's'\n",
            "ok",
            "expected an uncertainty",
        ),
        ("[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nsd = 0.1\n", "ok", "source"),
        (
            "[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nsd = 0.1\nsource = 's'\nfoo = 1\n",
            "ok",
            "unknown key 'foo'",
        ),
        (
            "[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nrange = [0.3, 0.1]\nsource = 's'\n",
            "ok",
            "low < high",
        ),
        ("[[fit]\n", "ok", "valid TOML"),
        ("[[fitting]]\nname = 'a'\n", "ok", "[[fit]], [[validation]] and [[consistency]]"),
        (
            "[[fit]]\nname = 'a'\nstatistic = 'ratio'\nmetric = 'arrest_rate'\nvalue = 1.0\nsd = 0.1\nsource = 's'\n",
            "ok",
            "scenario",
        ),
        ("ok", '[[param]]\npath = "dispatch.nope"\nlow = 0.1\nhigh = 0.5\nsource = "s"\n', "no such key"),
        (
            "ok",
            '[[param]]\npath = "dispatch.mh_identification"\nlow = 0.5\nhigh = 0.1\nsource = "s"\n',
            "low < high",
        ),
        ("ok", '[[param]]\npath = "dispatch.mh_identification"\nlow = 0.1\nhigh = 0.5\n', "source"),
        (
            "ok",
            '[[param]]\npath = "city.districts.north.travel_time.median_min"\nlow = 5.0\nhigh = 9.0\n'
            'source = "s"\n',
            "tables only",
        ),
        ("ok", "x = 1\n", "[[param]]"),
        (
            "[[fit]]\nname = 'a'\nstatistic = 'no_such_metric'\nvalue = 0.1\nsd = 0.1\nsource = 's'\n",
            "ok",
            "summary metric",
        ),
    ],
)
def test_bad_targets_or_params_give_one_line_and_exit_2(tmp_path, capsys, targets, params, message):
    ok_targets = "[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nsd = 0.1\nsource = 's'\n"
    ok_params = '[[param]]\npath = "dispatch.mh_identification"\nlow = 0.2\nhigh = 0.9\nsource = "s"\n'
    t = str(tmp_path / "missing.toml") if targets is None else _write(
        tmp_path / "t.toml", ok_targets if targets == "ok" else targets)  # fmt: skip
    p = _write(tmp_path / "p.toml", ok_params if params == "ok" else params)
    code = main(["calibrate", SMALL, "--targets", t, "--params", p, "--trials", "1", "-R", "1", "--days", "5",
                 "--workers", "1", "--out", str(tmp_path / "out"), "--no-plots"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and message in err[0], err


def test_calibrate_needs_params_and_trials_unless_validate_only(tmp_path, capsys):
    t = _write(
        tmp_path / "t.toml",
        "[[fit]]\nname = 'a'\nstatistic = 'arrest_rate'\nvalue = 0.1\nsd = 0.1\nsource = 's'\n",
    )
    assert main(["calibrate", SMALL, "--targets", t]) == 2
    assert "--params" in capsys.readouterr().err


def test_validate_only_writes_the_table_of_all_targets(tmp_path):
    t = _write(tmp_path / "t.toml", "[[fit]]\nname = 'arrest'\nstatistic = 'arrest_rate'\nvalue = 0.075\nsd = 0.01\n"
               "source = 'Seattle'\n\n[[validation]]\nname = 'by_patrol'\nstatistic = 'by_responder.patrol.calls'\n"
               "value = 50\nrange = [0, 1000]\nsource = 's'\n")  # fmt: skip
    out = tmp_path / "v"
    assert main(["calibrate", SMALL, "--targets", t, "--validate-only", "-R", "2", "--days", "20", "--workers", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    rows = (out / "validation.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("target,role,statistic,simulated_mean")
    assert "by_patrol" in rows[2] and ",True," in rows[2]


def test_target_distances_and_tolerance():
    sd = cal.Target("a", "fit", "metric", 0.075, sd=0.01, metric="arrest_rate")
    assert sd.z(0.095) == pytest.approx(2.0) and sd.tolerance == pytest.approx((0.055, 0.095))
    rng = cal.Target("b", "fit", "metric", 0.245, low=0.2, high=0.29, metric="hold_rate")
    assert rng.z(0.25) == 0.0 and rng.z(0.335) == pytest.approx(2.0) and rng.z(0.155) == pytest.approx(2.0)
    assert math.isinf(rng.z(math.nan))
    m = cal.Measured(sd, [0.07, 0.08], *cal.mean_ci([0.07, 0.08]))
    assert m.mean == pytest.approx(0.075) and m.ci_low < 0.075 < m.ci_high and m.within
    assert cal.loss_of([m]) == pytest.approx(0.0)
    edge = cal.Measured(rng, [0.28, 0.31, 0.30], *cal.mean_ci([0.28, 0.31, 0.30]))
    assert not edge.within and edge.ci_overlaps  # mean 0.297 just above 0.29, CI reaches into the range


def test_odds_ratio_and_share_statistics():
    t_or = cal.Target("or", "validation", "odds_ratio", 0.5, sd=0.1, metric="a", reference_metric="b",
                      scenario="s", reference="s")  # fmt: skip
    runs = {"s": [{"a": 0.05, "b": 0.10}, {"a": 0.05, "b": 0.10}]}
    expected = (0.05 / 0.95) / (0.10 / 0.90)
    assert cal.measure(t_or, runs, "s").mean == pytest.approx(expected)
    t_share = cal.Target("sh", "validation", "share", 0.3, sd=0.1, numerator=("x",), denominator=("y", "-z"))
    assert cal.measure(t_share, {"s": [{"x": 3.0, "y": 12.0, "z": 2.0}]}, "s").mean == pytest.approx(0.3)


def test_calibrated_toml_round_trips_and_never_needs_eval(tmp_path):
    text = cal.calibrated_toml("../scenarios/small_district.toml",
                               {"dispositions.force_base": 0.0123456789, "destinations.ed.assessment_slots": 3,
                                "dispositions.police_medium_risk.arrest": 0.07, "name": 'x "quoted"'},
                               "study-1, 2026-01-01", ["a header"])  # fmt: skip
    doc = tomllib.loads(text)
    assert doc["base"] == "../scenarios/small_district.toml" and doc["name"] == 'x "quoted"'
    assert doc["dispositions"]["force_base"] == pytest.approx(0.0123457)
    assert doc["destinations"]["ed"]["assessment_slots"] == 3
    assert text.count("# calibrated: study-1, 2026-01-01") == 4


def test_shipped_targets_and_params_files_are_valid():
    targets = cal.load_targets(ROOT / "calibration" / "targets.toml")
    params = cal.load_params(ROOT / "calibration" / "params.toml")
    roles = {t.role for t in targets}
    assert roles == {"fit", "validation", "consistency"}
    assert all(t.source and t.population for t in targets)
    problem = cal.Problem(SMALL, targets, params, 1)
    problem.check()  # every parameter path exists in every scenario the targets use
