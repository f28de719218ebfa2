"""`crisis-sim design`: the levers file (grammar, refusals), the search through the experiment engine, the
outputs, resume after a rerun and after kill -9 (nothing lost, nothing run twice), and an infeasible goal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCENARIOS
from hypothesis import given
from hypothesis import strategies as st
from test_experiments_cli import _cli_argv

from crisis_sim.analysis.design_inputs import Constraint, load_levers, parse_constraint
from crisis_sim.cli import main
from crisis_sim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SMALL = str(SCENARIOS / "small_district.toml")
FAST = ["--days", "30", "--no-progress", "--workers", "1", "--population", "2"]

LEVERS = """
constraints = ["specialized_coverage >= 0.2"]
[[levers]]
name = "teams"
path = "programs.mobile_crisis.teams"
type = "int"
low = 1
high = 3
unit_cost = 1000.0
[[levers]]
name = "start"
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


def write(tmp_path: Path, text: str = LEVERS, name: str = "levers.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the constraint grammar -----------------------------------------------------------------------------------
def test_constraints_parse_metric_operator_number_only():
    c = parse_constraint("p90_response_min <= 30")
    assert (c.metric, c.op, c.bound) == ("p90_response_min", "<=", 30.0)
    assert parse_constraint(" cost_total<=2e6 ").bound == 2e6
    assert parse_constraint("specialized_coverage >= .8").holds(0.8)
    assert not parse_constraint("specialized_coverage > 0.8").holds(0.8)
    for bad in ("__import__('os').system('x') <= 1", "cost_total <= 2e6 or True", "cost_total == 3",
                "cost_total <= ", "<= 3", "cost_total <= abc"):  # fmt: skip
        with pytest.raises(ScenarioError, match="METRIC OP NUMBER"):
            parse_constraint(bad)


@given(
    st.sampled_from([">=", "<=", ">", "<"]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
)
def test_violation_is_nonpositive_exactly_when_the_constraint_holds(op, bound, value):
    c = Constraint("m", op, bound, f"m {op} {bound}")
    assert (c.violation(value) <= 0) == c.holds(value)
    assert c.violation(float("nan")) > 0 and not c.holds(float("nan"))


# --- the levers file and bad input -------------------------------------------------------------------------------
def test_shipped_levers_file_loads_and_fits_the_mixed_city():
    from crisis_sim.analysis.design_inputs import check_against_scenario
    from crisis_sim.scenario import load_scenario

    spec = load_levers(ROOT / "design" / "midsize_city.toml")
    assert {lv.label for lv in spec.levers} >= {"mobile_teams", "co_response_units", "cit_share",
                                                "triage_day_seats", "stabilization_beds", "outreach_nurse_fte"}  # fmt: skip
    assert [c.text for c in spec.constraints] == ["specialized_coverage >= 0.8", "p90_response_min <= 30"]
    assert check_against_scenario(spec, load_scenario(str(SCENARIOS / "mixed_city.toml"))).enable == ()


def test_a_lever_on_an_absent_program_switches_it_on(tmp_path):
    from crisis_sim.analysis.design_inputs import check_against_scenario
    from crisis_sim.scenario import load_scenario, with_overrides

    spec = check_against_scenario(load_levers(write(tmp_path)), load_scenario(SMALL))
    assert spec.enable == ("mobile_crisis",)
    scenario = with_overrides(load_scenario(SMALL), spec.overrides({"teams": 3, "start": 9.5}))
    assert scenario.programs.mobile_crisis.teams == 3 and scenario.programs.mobile_crisis.start_hour == 9.5


BAD = [
    (LEVERS.replace("low = 1\nhigh = 3", "low = 3\nhigh = 3"), r"levers\[0\] \(teams\): expected low < high"),
    (LEVERS.replace("low = 8.0\nhigh = 14.0", "low = 14.0\nhigh = 8.0"), r"levers\[1\] \(start\): expected low < high"),
    (LEVERS.replace("programs.mobile_crisis.teams", "programs.mobile_crisis.teamz"), r"levers\[0\]"),
    (LEVERS.replace("programs.mobile_crisis.teams", "city.no_such_field"), r"levers\[0\]\.path: expected a schema path"),
    (LEVERS.replace('metric = "annual_cost"', 'metric = "happiness"'), r"objectives\[0\]\.metric: expected a metric"),
    (LEVERS.replace("specialized_coverage >= 0.2", "joy >= 0.2"), r"constraints\[0\]: expected a metric"),
    (LEVERS.replace("specialized_coverage >= 0.2", "specialized_coverage ~ 0.2"), r"constraints\[0\]: expected 'METRIC"),
    (LEVERS.replace('type = "int"', 'type = "integer"'), r"levers\[0\]\.type"),
    (LEVERS.replace("high = 3\n", "high = 300\n"), r"levers\[0\] \(programs.mobile_crisis.teams\): expected a range"),
    (LEVERS + "\nsurprise = 1\n", r"levers.toml: .*surprise|objectives\[1\]\.surprise"),
    ("levers = [", r"levers.toml: expected valid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD, ids=range(len(BAD)))
def test_bad_levers_file_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, text, message):
    out = tmp_path / "study"
    code = main(["design", SMALL, "--levers", write(tmp_path, text), "--trials", "2", "-R", "1",
                 "--out", str(out), *FAST])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "levers.toml" in lines[0]
    import re

    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()


# --- the search -------------------------------------------------------------------------------------------------
def design_json(capsys, *args: str) -> dict:
    code = main(["design", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_search_writes_the_front_the_cheapest_feasible_design_and_resumes(tmp_path, capsys):
    levers = write(tmp_path)
    out = tmp_path / "study"
    args = [SMALL, "--levers", levers, "-R", "2", "--out", str(out), "--confirm-replications", "3", *FAST]
    doc = design_json(capsys, *args, "--trials", "3")
    assert doc["trials"] == 3 and doc["runs_now"] == 6  # three designs x two replications
    assert doc["pareto"] and all(set(p) >= {"levers", "objectives", "feasible"} for p in doc["pareto"])
    assert all(set(p["objectives"]) == {"annual_cost", "specialized_coverage"} for p in doc["pareto"])
    best = doc["best_feasible"]
    assert best is not None and best["feasible"]
    feasible = [p for p in doc["pareto"] if p["feasible"]]
    assert best["objectives"]["annual_cost"] == min(p["objectives"]["annual_cost"] for p in feasible)
    conf = best["confirmation"]
    assert doc["confirmation"]["replications"] == 3
    cov = conf["metrics"]["specialized_coverage"]
    assert cov["n"] == 3 and cov["ci_low"] <= cov["mean"] <= cov["ci_high"]
    assert doc["confirmation"]["base"]["specialized_coverage"]["mean"] == 0.0  # small_district has no program
    # lever_cost enters annual_cost: 1000 USD a team a year
    assert best["metrics"]["annual_cost"] > 0
    for name in ("pareto.csv", "pareto.json", "trials.csv", "study.db",
                 "plots/pareto_annual_cost__specialized_coverage.png"):  # fmt: skip
        assert (out / name).exists(), name
    assert len(pd.read_csv(out / "trials.csv")) == 3
    assert "provenance" in json.loads((out / "pareto.json").read_text())

    again = design_json(capsys, *args, "--trials", "3")  # the same command: nothing new runs
    assert again["runs_now"] == 0 and again["confirmation"]["ran"] == 0
    assert again["pareto"] == doc["pareto"] and again["best_feasible"] == doc["best_feasible"]
    more = design_json(capsys, *args, "--trials", "4")  # one more trial, continuing the study
    assert more["trials"] == 4 and more["runs_now"] in (0, 2)  # 0 when NSGA-II proposes a design already run


def test_another_problem_in_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "study"
    design_json(capsys, SMALL, "--levers", write(tmp_path), "-R", "1", "--out", str(out), "--trials", "1",
                "--confirm-replications", "0", *FAST)  # fmt: skip
    other = write(tmp_path, LEVERS.replace("high = 3\n", "high = 4\n"), "other.toml")
    code = main(["design", SMALL, "--levers", other, "-R", "1", "--out", str(out), "--trials", "1", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "different settings" in err and len(err.strip().splitlines()) == 1


def test_no_feasible_design_is_an_answer_with_the_closest_designs(tmp_path, capsys):
    levers = write(tmp_path, LEVERS.replace("specialized_coverage >= 0.2", "specialized_coverage >= 1.5"))
    out = tmp_path / "study"
    args = ["design", SMALL, "--levers", levers, "-R", "1", "--out", str(out), "--trials", "2",
            "--confirm-replications", "2", *FAST]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    line = [ln for ln in text.splitlines() if ln.startswith("no design met every constraint")]
    assert len(line) == 1 and "closest: trial" in line[0] and "fails" in line[0]
    doc = design_json(capsys, *args[1:])
    assert doc["best_feasible"] is None and doc["closest"] and not any(p["feasible"] for p in doc["pareto"])
    assert set(doc["confirmation"]["designs"]) == {f"trial-{c['trial']}" for c in doc["closest"]}


def test_resume_after_kill_minus_9_loses_nothing_and_runs_nothing_twice(tmp_path, capsys):
    levers = write(tmp_path)
    out = tmp_path / "killed"
    args = [SMALL, "--levers", levers, "-R", "4", "--chunk-size", "1", "--trials", "2", "--confirm-replications",
            "0", "--out", str(out), *FAST]  # fmt: skip
    proc = subprocess.Popen([*_cli_argv(), "design", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not list(out.glob("designs/*/runs/*.parquet")):
        if proc.poll() is not None:
            pytest.fail(f"design ended before its first run: {proc.stderr.read()}")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-trial: the first design has 1-3 of its 4 replications
    proc.wait(timeout=30)
    before = {p.relative_to(out) for p in out.glob("designs/*/runs/*.parquet")}
    assert 1 <= len(before) < 4

    doc = design_json(capsys, *args)
    after = {p.relative_to(out) for p in out.glob("designs/*/runs/*.parquet")}
    assert before <= after  # nothing lost
    assert doc["trials"] == 2
    designs = {json.dumps(r["levers"], sort_keys=True) for r in doc["pareto"] + doc["closest"]}
    stores = list(out.glob("designs/*"))
    for store in stores:  # every design's store holds each replication exactly once
        runs = pd.read_parquet(store / "runs")
        assert sorted(runs["replication"]) == [0, 1, 2, 3]
    assert len(after) == 4 * len(stores) and len(stores) <= 2 and designs
    assert doc["runs_now"] == len(after) - len(before)  # the resumed run ran only what was missing


def test_one_executor_serves_every_trial_of_a_search(tmp_path, monkeypatch):
    """The pool starts once per command (on the first trial with runs to do), not once per design; a rerun with
    nothing to do starts none."""
    import crisis_sim.experiments.executors as executors
    import crisis_sim.experiments.runner as runner
    from crisis_sim.analysis.design_run import run_design

    made = []
    real = executors.make_executor

    def counting(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(executors, "make_executor", counting)
    monkeypatch.setattr(runner, "make_executor", counting)
    levers, out = write(tmp_path), tmp_path / "study"
    result = run_design(SMALL, levers, 3, 1, out, days=30, population=2, confirm_replications=0, plots=False)
    assert result.doc["runs_now"] >= 2 and len(made) == 1
    again = run_design(SMALL, levers, 3, 1, out, days=30, population=2, confirm_replications=0, plots=False)
    assert again.doc["runs_now"] == 0 and len(made) == 1
