"""`crisis-sim robustness`: the uncertainties file (events, paths, refusals), EMA experiments through the
experiment engine, PRIM boxes, regret and satisficing, resume, and the shipped stressors file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from crisis_sim.analysis.design_inputs import parse_constraint
from crisis_sim.analysis.robustness import UncertaintySpec, load_uncertainties, prim_boxes, robustness
from crisis_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = str(SCENARIOS / "small_district.toml")
MORE = f"{SMALL}::more_patrol:city.districts.north.patrol_units.day=6"
FAST = ["--days", "30", "--no-progress", "--workers", "1", "-R", "2"]

UNC = """
goals = ["p90_response_min <= 40"]
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


def write(tmp_path: Path, text: str = UNC) -> str:
    path = tmp_path / "unc.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_overrides_append_declared_events_after_the_policys_own_timeline(tmp_path):
    from crisis_sim.scenario import load_scenario, with_overrides

    spec = load_uncertainties(write(tmp_path))
    scenario = load_scenario(str(SCENARIOS / "champion_retires.toml"))
    own = len(scenario.timeline)
    over = spec.overrides(scenario, {"patrol_vacancy": 0.25, "officers": 1.6})
    assert over["police.officers_per_unit"] == 2
    changed = with_overrides(scenario, over)
    assert len(changed.timeline) == own + 1
    assert changed.timeline[-1].type == "vacancy" and changed.timeline[-1].share == 0.25


def test_shipped_uncertainties_file_fits_the_worked_example_policies():
    from crisis_sim.analysis.robustness import check_against_policies
    from crisis_sim.experiments import build_spec, parse_scenario_arg

    spec = load_uncertainties(ROOT / "robustness" / "small_district.toml")
    assert {u.name for u in spec.uncertainties} == {"patrol_vacancy", "mh_surge", "mh_trend", "ed_boarding"}
    policies = build_spec([parse_scenario_arg(f"{SMALL}::co_response:programs.co_response={{}}"),
                           parse_scenario_arg(f"{SMALL}::mobile_crisis:programs.mobile_crisis={{}}")], 1).scenarios  # fmt: skip
    check_against_policies(spec, policies)


BAD = [
    (UNC.replace("low = 0.0\nhigh = 0.5", "low = 0.5\nhigh = 0.5"), r"uncertainties\[0\] \(patrol_vacancy\): expected finite low < high"),
    (UNC.replace("police.officers_per_unit", "police.no_such_thing"), r"uncertainties\[1\]\.path: expected a schema path present"),
    (UNC.replace('event = "vacancy"', 'event = "nope"'), r"uncertainties\[0\] \(patrol_vacancy\)\.event: expected an event declared"),
    (UNC.replace("high = 0.5", "high = 1.5"), r"uncertainties\[0\] \(patrol_vacancy\): expected a range policy"),
    (UNC.replace("p90_response_min <= 40", "serenity <= 40"), r"goals\[0\]: expected a metric of the run summary"),
    (UNC.replace("p90_response_min <= 40", "p90_response_min is low"), r"goals\[0\]: expected 'METRIC OP NUMBER'"),
    (UNC.replace('path = "police.officers_per_unit"', 'path = "police.officers_per_unit"\nevent = "vacancy"'), r"uncertainties\[1\] \(officers\): expected either path"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD, ids=range(len(BAD)))
def test_bad_uncertainties_file_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, text, message):
    out = tmp_path / "out"
    code = main(["robustness", SMALL, "--uncertainties", write(tmp_path, text), "--experiments", "2",
                 "--out", str(out), *FAST])  # fmt: skip
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "unc.toml" in lines[0] and re.search(message, lines[0]), lines[0]
    assert not out.exists()


def test_experiments_run_under_every_policy_and_resume(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["robustness", SMALL, MORE, "--uncertainties", write(tmp_path), "--experiments", "6", "--out", str(out),
            *FAST, "--json"]  # fmt: skip
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["policies"]) == {"small_district", "more_patrol"}
    assert doc["runs_now"] == 6 * 2 * 2
    for info in doc["policies"].values():
        assert 0.0 <= info["failure_share"] <= 1.0 and info["satisficing"] == pytest.approx(1 - info["failure_share"])
        assert info["regret"] >= 0.0
        for box in info["boxes"]:
            assert set(box) >= {"limits", "coverage", "density"}
            assert all(lo <= hi for lo, hi in box["limits"].values())
    # regret is 0 in every experiment for the best policy of that experiment: min over policies of regret_p90 >= 0
    table = pd.read_csv(out / "robustness.csv")
    assert len(table) == 12 and set(table["experiment"]) == set(range(6))
    wide = table.pivot(index="experiment", columns="policy", values="p90_response_min")
    assert doc["policies"]["small_district"]["regret"] == pytest.approx(
        (wide["small_district"] - wide.min(axis=1)).max()
    )
    # every (experiment, policy) has its own store with both replications, once
    stores = list(out.glob("experiments/*"))
    assert len(stores) <= 12 and all(len(pd.read_parquet(s / "runs")) == 2 for s in stores)
    for name in ("robustness.json", "plots/robustness_small_district.png", "plots/robustness_more_patrol.png"):
        assert (out / name).exists(), name

    assert main(args) == 0  # the same command again: the same sample, nothing runs
    again = json.loads(capsys.readouterr().out)
    assert again["runs_now"] == 0 and again["policies"] == doc["policies"]


def _spec(goal: str = "m <= 1") -> UncertaintySpec:
    from crisis_sim.analysis.robustness import Uncertainty

    return UncertaintySpec("f.toml", (Uncertainty(name="a", low=0, high=1, path="x"),
                                      Uncertainty(name="b", low=0, high=1, path="y")),
                           (parse_constraint(goal),), {}, "m")  # fmt: skip


def test_prim_finds_the_planted_failure_region():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(400, 2))
    failed = (x[:, 0] > 0.7) & (x[:, 1] < 0.5)  # fails only with a > 0.7 and b < 0.5
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "failed": failed})
    boxes, trajectories = prim_boxes(table, _spec())
    box = boxes[0]
    assert set(box["limits"]) == {"a", "b"}
    # the densest-enough box with the highest coverage: close to the planted one, a little looser
    assert 0.6 <= box["limits"]["a"][0] <= 0.75 and 0.45 <= box["limits"]["b"][1] <= 0.65
    assert box["density"] >= 0.8 and box["coverage"] >= 0.7
    traj = trajectories[0]
    assert traj["coverage"].iloc[0] == 1.0 and traj["density"].iloc[-1] > traj["density"].iloc[0]


def test_no_box_when_a_policy_never_or_always_fails():
    table = pd.DataFrame({"a": [0.1, 0.5, 0.9], "b": [0.2, 0.4, 0.6], "failed": [False] * 3})
    assert prim_boxes(table, _spec()) == ([], [])
    assert prim_boxes(table.assign(failed=True), _spec()) == ([], [])


def test_regret_and_satisficing_across_policies():
    table = pd.DataFrame({
        "experiment": [0, 0, 1, 1], "policy": ["p", "q", "p", "q"], "a": [0.1, 0.1, 0.9, 0.9],
        "b": [0.5, 0.5, 0.5, 0.5], "m": [1.0, 3.0, 5.0, 2.0], "failed": [False, True, True, True],
    })  # fmt: skip
    res = robustness(table, _spec())["policies"]
    assert res["p"]["regret"] == 3.0 and res["q"]["regret"] == 2.0  # lower m is better (goal m <= 1)
    assert res["p"]["failure_share"] == 0.5 and res["q"]["satisficing"] == 0.0
    higher = robustness(table, _spec("m >= 4"))["policies"]  # higher m is better
    assert higher["p"]["regret"] == 2.0 and higher["q"]["regret"] == 3.0


def test_resume_after_kill_minus_9_loses_nothing_and_runs_nothing_twice(tmp_path, capsys):
    import os
    import signal
    import subprocess
    import time

    from test_experiments_cli import _cli_argv

    out = tmp_path / "killed"
    args = ["robustness", SMALL, "--uncertainties", write(tmp_path), "--experiments", "3", "--chunk-size", "1",
            "--out", str(out), "--days", "30", "--no-progress", "--workers", "1", "-R", "3"]  # fmt: skip
    proc = subprocess.Popen([*_cli_argv(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not list(out.glob("experiments/*/runs/*.parquet")):
        if proc.poll() is not None:
            pytest.fail(f"robustness ended before its first run: {proc.stderr.read()}")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    before = {p.relative_to(out) for p in out.glob("experiments/*/runs/*.parquet")}
    assert 1 <= len(before) < 9

    assert main([*(a for a in args if a != "--no-progress"), "--json"]) == 0  # resumed, with progress lines
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    after = {p.relative_to(out) for p in out.glob("experiments/*/runs/*.parquet")}
    assert before <= after and len(after) == 9  # 3 experiments x 3 replications, each once
    for store in out.glob("experiments/*"):
        assert sorted(pd.read_parquet(store / "runs")["replication"]) == [0, 1, 2]
    assert doc["runs_now"] == 9 - len(before)
    # one progress line per experiment, saying how many runs it ran now (what the kill left undone)
    lines = [x for x in captured.err.splitlines() if x.startswith("experiment ")]
    pattern = (r"^experiment (\d)/3 small_district: patrol_vacancy=\S+, officers=\d -> p90_response_min=\S+; "
               r"(fails a goal|meets the goals) \((?:(\d) runs|already stored)\)$")  # fmt: skip
    matches = [re.match(pattern, x) for x in lines]
    assert len(lines) == 3 and all(matches), lines
    assert [int(m.group(1)) for m in matches] == [1, 2, 3]
    assert sum(int(m.group(3) or 0) for m in matches) == 9 - len(before)


# --- Pareto designs as policies --------------------------------------------------------------------------------
PARETO = {
    "scenario": SMALL,
    "set": {},
    "fixed": {},
    "pareto": [
        {"trial": 0, "feasible": False, "levers": {"teams": 1},
         "overrides": {"programs.mobile_crisis": {}, "programs.mobile_crisis.teams": 1}},
        {"trial": 4, "feasible": True, "levers": {"teams": 3},
         "overrides": {"programs.mobile_crisis": {}, "programs.mobile_crisis.teams": 3}},
    ],
    "best_feasible": None,
    "closest": [],
}  # fmt: skip


def test_design_policies_apply_each_designs_levers_to_the_studys_base_scenario(tmp_path):
    from crisis_sim.analysis.robustness_run import RobustnessError, design_policies

    path = tmp_path / "pareto.json"
    path.write_text(json.dumps(PARETO), encoding="utf-8")
    entries = design_policies(path, "all", days=30)
    assert [e.label for e in entries] == ["design-trial-0", "design-trial-4"]
    assert [e.scenario.programs.mobile_crisis.teams for e in entries] == [1, 3]
    assert all(e.scenario.programs.mobile_crisis is not None for e in entries)
    assert entries[0].scenario.simulation.horizon_days == 30
    assert [e.label for e in design_policies(path, "feasible")] == ["design-trial-4"]
    assert [e.label for e in design_policies(path, "4,0")] == ["design-trial-4", "design-trial-0"]
    for pick, words in (("best", "no design met every constraint"), ("7", "found 7"), ("some", "--pick: expected")):
        with pytest.raises(RobustnessError, match=words):
            design_policies(path, pick)


def test_designs_option_runs_pareto_designs_beside_scenarios_and_refuses_bad_input(tmp_path, capsys):
    path = tmp_path / "pareto.json"
    path.write_text(json.dumps(PARETO), encoding="utf-8")
    unc = write(tmp_path)
    out = tmp_path / "rob"
    code = main(["robustness", SMALL, "--designs", str(path), "--pick", "feasible", "--uncertainties", unc,
                 "--experiments", "2", "--out", str(out), "--json", *FAST])  # fmt: skip
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["policies"]) == ["small_district", "design-trial-4"]
    assert doc["designs_file"] == str(path)
    for extra, words in ((["--designs", str(tmp_path / "nope.json")], "no such file"),
                         (["--designs", unc], "unreadable JSON"),
                         (["--designs", str(path), "--pick", "9"], "found 9")):  # fmt: skip
        bad = tmp_path / "bad"
        code = main(["robustness", *extra, "--uncertainties", unc, "--experiments", "2", "--out", str(bad), *FAST])
        err = capsys.readouterr().err
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
        assert not bad.exists()
    assert main(["robustness", "--uncertainties", unc, "--experiments", "2", "--out", str(tmp_path / "b"), *FAST]) == 2
    assert "expected at least one policy" in capsys.readouterr().err


def test_one_executor_serves_every_experiment(tmp_path, monkeypatch):
    import crisis_sim.experiments.executors as executors
    import crisis_sim.experiments.runner as runner
    from crisis_sim.analysis.robustness_run import run_robustness

    made = []
    real = executors.make_executor

    def counting(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(executors, "make_executor", counting)
    monkeypatch.setattr(runner, "make_executor", counting)
    result = run_robustness([SMALL, MORE], write(tmp_path), 3, 1, tmp_path / "rob", days=30, plots=False)
    assert result.doc["runs_now"] == 6 and len(made) == 1
