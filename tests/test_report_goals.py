"""Goals and milestones: loading (one line naming the goal and key) and evaluation on series with known answers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main
from crisis_sim.report.goals import Goal, GoalError, evaluate, load_goals


def _series(per_scenario):
    """per_scenario: list (scenario) of list (replication) of monthly arrests."""
    rows = []
    for s, reps in enumerate(per_scenario):
        for r, values in enumerate(reps):
            for month, v in enumerate(values, start=1):
                rows.append((s, r, month, 30 * month, "arrests", float(v)))
                rows.append((s, r, month, 30 * month, "specialized_coverage", 0.1 * month * s))
    return pd.DataFrame(rows, columns=["scenario_index", "replication", "month", "day_end", "variable", "value"])


def _runs(values):
    return pd.DataFrame([{"scenario_index": s, "replication": r, "connected_to_services": v,
                          "extra": json.dumps({"x": 1})} for s, reps in enumerate(values)
                         for r, v in enumerate(reps)])  # fmt: skip


def test_change_goal_probability_and_month():
    base = [[10, 10, 10, 10]] * 2
    # option: month 1 is warm-up (ignored); replication 0 reaches -10% by month 3 from month 2 on, replication 1 never
    option = [[10, 8, 9, 10], [10, 10, 10, 10]]
    res = evaluate([Goal("arrests", change=-0.10, by_month=3)], _runs([[1, 1], [1, 1]]), _series([base, option]),
                   ["A", "B"], warm_month=2)  # fmt: skip
    b = res[0]["options"]["B"]
    assert b["met_probability"] == 0.5 and res[0]["options"]["A"]["basis"] == "the reference"
    assert b["met_median_month"] is None  # median of (month 2, never) is never
    assert "10% fewer arrests" in res[0]["goal"]


def test_level_goals_monthly_and_whole_period():
    series = _series([[[1, 1, 1, 1]] * 2, [[1, 1, 1, 1]] * 2])
    res = evaluate([Goal("specialized_coverage", at_least=0.3, by_month=4), Goal("connected_to_services", at_least=5)],
                   _runs([[4, 6], [6, 7]]), series, ["A", "B"], warm_month=2)  # fmt: skip
    cov = res[0]["options"]
    assert cov["A"]["met_probability"] == 0 and cov["B"]["met_probability"] == 1
    assert cov["B"]["met_median_month"] == 3  # 0.3 from month 3 on
    whole = res[1]["options"]
    assert whole["A"]["met_probability"] == 0.5 and whole["B"]["met_probability"] == 1
    with pytest.raises(GoalError, match="neither a monthly series nor a summary metric"):
        evaluate([Goal("nonsense", at_least=1)], _runs([[1, 1]]), series, ["A"], 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[goals]]\nmetric = 'arrests'\nchange = -0.1\n", "goals[0].by_month: expected a month"),
        ("[[goals]]\nmetric = 'arrests'\nchange = 'ten'\nby_month = 3\n", "goals[0].change: expected a number"),
        ("[[goals]]\nmetric = 'arrests'\nat_least = 1\nat_most = 2\n", "goals[0]: expected exactly one of"),
        ("[[goals]]\nmetric = 'arrests'\nat_least = 1\nby_month = 0\n", "goals[0].by_month: expected a whole month"),
        ("[[goals]]\nmetrik = 'arrests'\n", "goals[0].metrik: unknown key"),
        ("title = 'x'\n", "expected one or more [[goals]] tables"),
    ],
)
def test_bad_goal_files_one_line(tmp_path, text, expected):
    path = tmp_path / "goals.toml"
    path.write_text(text)
    with pytest.raises(GoalError) as info:
        load_goals(path)
    assert str(path) in str(info.value) and expected in str(info.value) and "\n" not in str(info.value)


def test_report_with_goals_shows_them_and_a_bad_file_writes_nothing(tmp_path, capsys):
    goals = tmp_path / "goals.toml"
    goals.write_text("[[goals]]\nmetric = 'arrests'\nchange = -0.1\nby_month = 2\n\n"
                     "[[goals]]\nmetric = 'specialized_coverage'\nat_least = 0.2\n")  # fmt: skip
    out = tmp_path / "r.html"
    args = ["report", str(SCENARIOS / "small_district.toml"), str(SCENARIOS / "mobile_crisis.toml"), "-R", "2",
            "--days", "60", "--workers", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main([*args, "--goals", str(goals)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert [g["metric"] for g in data["goals"]] == ["arrests", "specialized_coverage"]
    assert "<h2 id=goals>Goals</h2>" in out.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("[[goals]]\nmetric = 'arrests'\n")
    out2 = tmp_path / "r2.html"
    assert main([*args[:-1], str(out2), "--goals", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml, goals[0]" in err[0] and not out2.exists()


def test_public_api_check_goals():
    import crisis_sim as cs

    df = cs.check_goals(["small_district", "mobile_crisis"],
                        [{"metric": "specialized_coverage", "at_least": 0.05}], replications=2, days=60)  # fmt: skip
    assert list(df["option"]) == ["Police as usual", "Mobile crisis team + stabilisation centre"]
    assert df.loc[0, "met_probability"] == 0 and df.loc[1, "met_probability"] == 1
    with pytest.raises(ValueError, match=r"goals, goals\[0\]: expected exactly one of"):
        cs.check_goals(["small_district"], [{"metric": "arrests"}], replications=1, days=10)


GOALS_TOML = """
[[goals]]
metric = "arrests"
change = -0.10
by_month = 2

[[goals]]
metric = "specialized_coverage"
at_least = 0.8
label = "80% of eligible calls served"
"""


def _city_with_goals(tmp_path, text=GOALS_TOML):
    path = tmp_path / "city.toml"
    path.write_text(f'base = "{SCENARIOS / "mobile_crisis.toml"}"\n' + text)
    return path


def test_scenario_goals_are_part_of_the_schema_and_ignored_by_the_store(tmp_path):
    from crisis_sim.experiments.spec import build_spec, parse_scenario_arg
    from crisis_sim.report.goals import goals_of_scenarios
    from crisis_sim.scenario import load_scenario

    path = _city_with_goals(tmp_path)
    sc = load_scenario(path)
    assert [g.metric for g in sc.goals] == ["arrests", "specialized_coverage"]
    spec = build_spec([parse_scenario_arg(str(path))], 1, 0, 30)
    goals = goals_of_scenarios(spec)
    assert goals[0].change == -0.10 and goals[0].source == "scenario file city.toml"
    assert goals[1].describe() == "80% of eligible calls served"
    plain = build_spec([parse_scenario_arg(str(SCENARIOS / "mobile_crisis.toml"))], 1, 0, 30)
    # the same runs serve the scenario with or without goals (the label aside)
    assert spec.identity()["scenarios"][0]["scenario"] == plain.identity()["scenarios"][0]["scenario"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[goals]]\nmetric = 'arrests'\nchange = -0.1\n", "goals.0"),
        ("[[goals]]\nmetric = 'arrests'\nat_least = 1\nat_most = 2\n", "exactly one of change, at_least, at_most"),
        ("[[goals]]\nmetric = 'arrests'\nat_least = 1\nby_month = 0\n", "goals.0.by_month"),
        ("[[goals]]\nmetrik = 'arrests'\nat_least = 1\n", "goals.0.metrik"),
    ],
)
def test_bad_scenario_goals_one_line(tmp_path, text, expected):
    from crisis_sim.scenario import ScenarioError, load_scenario

    with pytest.raises(ScenarioError) as info:
        load_scenario(_city_with_goals(tmp_path, text))
    lines = str(info.value).splitlines()  # one line per problem, each naming the file and the key
    assert 1 <= len(lines) <= 2 and all("city.toml: goals.0" in line for line in lines)
    assert any(expected in line for line in lines)


def test_report_uses_scenario_goals_without_the_option_and_says_where_from(tmp_path):
    path = _city_with_goals(tmp_path)
    out = tmp_path / "r.html"
    assert main(["report", str(SCENARIOS / "small_district.toml"), str(path), "-R", "2", "--days", "60",
                 "--workers", "1", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    data = json.loads(out.with_suffix(".json").read_text())
    assert [g["source"] for g in data["goals"]] == ["scenario file city.toml"] * 2
    assert "scenario file city.toml" in out.read_text()


def test_goals_over_psa_draws_are_renumbered_as_paired_replications():
    from crisis_sim.report.goals import attach_psa, psa_as_replications

    index = pd.DataFrame({"scenario_index": [0, 1, 2, 3, 4, 5], "strategy": ["a", "b"] * 3,
                          "draw": [-1, -1, 0, 0, 1, 1]})  # fmt: skip
    base, better = [10, 10, 10], [10, 8, 8]
    series = _series([[base] * 2, [base] * 2, [base] * 2, [better] * 2, [base] * 2, [base] * 2])
    runs = _runs([[1, 1]] * 6)
    p_runs, p_series = psa_as_replications(index, ["a", "b"], 2, runs, series)
    assert sorted(set(p_series["scenario_index"])) == [0, 1] and sorted(set(p_series["replication"])) == [0, 1, 2, 3]
    goal = [Goal("arrests", change=-0.10, by_month=3)]
    res = evaluate(goal, runs[runs["scenario_index"] < 2], series[series["scenario_index"] < 2], ["A", "B"], 2)
    psa = evaluate(goal, p_runs, p_series, ["A", "B"], 2)
    assert psa[0]["options"]["B"]["met_probability"] == 0.5  # draw 0 (2 reps) meets it, draw 1 does not
    attach_psa(res, psa, 2)
    assert res[0]["options"]["B"]["psa_probability"] == 0.5 and res[0]["options"]["B"]["psa_draws"] == 2


def test_a_misspelt_goal_metric_in_a_scenario_file_is_refused_before_the_runs(tmp_path, capsys):
    import time

    path = _city_with_goals(tmp_path, "[[goals]]\nmetric = 'arests'\nchange = -0.1\nby_month = 3\n")
    out = tmp_path / "r.html"
    start = time.perf_counter()
    assert main(["report", str(SCENARIOS / "small_district.toml"), str(path), "-R", "50", "--no-progress",
                 "--workers", "1", "--out", str(out)]) == 2  # fmt: skip
    assert time.perf_counter() - start < 60  # 100 full-year runs would take many minutes
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scenario file city.toml: goal" in err[0] and "'arests' is neither" in err[0]
    assert not out.exists()


def test_weights_table_in_a_goals_file(tmp_path, capsys):
    from crisis_sim.report.goals import load_weights, parse_goals

    path = tmp_path / "goals.toml"
    path.write_text("[[goals]]\nmetric = 'arrests'\nat_most = 100\n\n[weights]\narrests = 3\n")
    assert load_weights(path) == {"arrests": 3} and len(load_goals(path)) == 1
    assert parse_goals({"weights": {"arrests": 2}}) == []  # a file of weights only
    path.write_text("[weights]\narests = 3\n")
    out = tmp_path / "r.html"
    assert main(["report", "small_district", "-R", "1", "--days", "10", "--no-progress", "--goals", str(path),
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "goals.toml: weights: arests: unknown outcome" in err[0] and not out.exists()
