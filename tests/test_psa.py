"""crisis-sim compare --psa and crisis_sim.analysis.psa: a short PSA through the one evaluator."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crisis_sim.analysis.evidence import load_evidence
from crisis_sim.analysis.psa import POINT, build_psa_spec
from crisis_sim.experiments.spec import ScenarioRequest, build_spec


def cli(*args):
    return subprocess.run([sys.executable, "-m", "crisis_sim", *args], capture_output=True, text=True)


def test_plan_applies_each_draw_identically_and_skips_absent_programs():
    base = build_spec([ScenarioRequest("small_district"), ScenarioRequest("co_response")], 2, 0, 30)
    plan = build_psa_spec(base, load_evidence(), 3)
    assert len(plan.spec.scenarios) == 2 * (3 + 1) and plan.spec.replications == 2
    index = plan.index.set_index("scenario_index")
    for i, entry in enumerate(plan.spec.scenarios):
        row = index.loc[i]
        sc = entry.scenario
        if row["strategy"] == "small_district":
            assert sc.programs.co_response is None
        elif row["draw"] != POINT:
            assert sc.programs.co_response.arrest_or == pytest.approx(
                plan.draws.loc[row["draw"], "co_response_arrest_or"]
            )
        if row["draw"] != POINT:  # a shared input takes the same value in both strategies
            assert sc.costs.officer_hour == pytest.approx(plan.draws.loc[row["draw"], "officer_hour_cost"])


def test_compare_psa_json(tmp_path):
    out = tmp_path / "store"
    proc = cli("compare", "small_district", "co_response", "--psa", "3", "-R", "2", "--days", "30", "--workers", "1",
               "--no-progress", "--json", "--out", str(out), "--metric", "arrests", "--metric", "cost_total",
               "--metric", "connected_to_services", "--evppi-wtp", "arrests=30000")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    psa = doc["psa"]
    assert psa["draws"] == 3 and psa["evidence"]["file"] == "evidence/default.toml"
    cell = psa["metrics"]["arrests"]["co_response"]
    assert set(cell) >= {"diff_median", "diff_low", "diff_high", "prob_best"}
    assert cell["diff_low"] <= cell["diff_median"] <= cell["diff_high"]
    probs = [psa["metrics"]["arrests"][s]["prob_best"] for s in ("small_district", "co_response")]
    assert sum(probs) == pytest.approx(1.0)
    assert set(psa["cost_effectiveness"]["co_response"]["arrests"]) >= {"median", "low", "high"}
    values = [e["value"] for e in psa["evppi"]["arrests"]]
    assert values == sorted(values, reverse=True) and all(v >= 0 for v in values)
    # only inputs that reach a compared strategy are ranked: no CIT or mobile-team entry here
    names = [e["parameter"] for e in psa["evppi"]["net_benefit_arrests"]]
    assert "co_response_arrest_or" in names and not any(n.startswith(("cit_", "mobile_")) for n in names)
    assert psa["evpi"]["net_benefit_arrests"] >= 0
    assert doc["metrics"]["arrests"]["co_response"]["n"] == 2  # the Monte-Carlo-only comparison stays beside
    assert (out / "compare.json").is_file() and (out / "psa_draws.csv").is_file()
    again = cli("compare", "small_district", "co_response", "--psa", "3", "-R", "2", "--days", "30", "--workers", "1",
                "--no-progress", "--out", str(out), "--metric", "arrests", "--metric", "cost_total",
                "--metric", "connected_to_services")  # fmt: skip
    assert again.returncode == 0, again.stderr  # resumed: nothing missing
    assert "run-to-run noise" in again.stdout and "what we don't know" in again.stdout


def test_bad_evidence_file_exits_2_with_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "ev.toml"
    bad.write_text('[[entries]]\nname = "x"\npath = "programs.co_response.arrest_or"\ndistribution = "lognormal_ci"\n'
                   'estimate = 0.5\nlow = 0.9\nhigh = 0.95\nsource = "assumption"\nwhy = "test"\n')  # fmt: skip
    out = tmp_path / "store"
    proc = cli("compare", "small_district", "co_response", "--psa", "2", "-R", "1", "--days", "30",
               "--evidence", str(bad), "--out", str(out))  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and str(bad) in lines[0] and "entries[0]" in lines[0] and "low < estimate" in lines[0]
    )
    assert not out.exists()
    proc = cli("compare", "small_district", "-R", "1", "--evidence", str(bad))
    assert proc.returncode == 2 and "--psa" in proc.stderr
    proc = cli("compare", "small_district", "co_response", "--psa", "2", "-R", "1", "--evppi-wtp", "fun=3")
    assert (
        proc.returncode == 2 and "--evppi-wtp" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    )


def test_api_psa_returns_tidy_tables():
    import crisis_sim as cs

    out = cs.psa({"police": "small_district", "co": "co_response"}, draws=2, replications=1, days=30,
                 metrics=["arrests", "cost_total"])  # fmt: skip
    assert set(out) == {"summary", "monte_carlo", "cost_effectiveness", "incremental", "ceac", "evppi", "draws",
                        "runs"}  # fmt: skip
    assert set(out["summary"]["strategy"]) == {"police", "co"} and set(out["summary"]["metric"]) == {
        "arrests",
        "cost_total",
    }
    assert len(out["runs"]) == 2 * 2 and len(out["draws"]) == 2
    assert set(out["cost_effectiveness"]["outcome"]) >= {"arrests", "connected_to_services"}
    assert set(out["evppi"]["metric"]) == {"arrests"}


def test_discount_rate_is_reported_and_a_one_year_horizon_does_not_depend_on_it(tmp_path):
    import pandas as pd

    out = tmp_path / "store"
    args = ["compare", "small_district", "co_response", "--psa", "2", "-R", "1", "--days", "45", "--workers", "1",
            "--no-progress", "--json", "--out", str(out), "--metric", "arrests", "--metric", "cost_total"]  # fmt: skip
    docs = {}
    for rate in ("0", "0.2"):
        proc = cli(*args, "--discount", rate)
        assert proc.returncode == 0, proc.stderr
        docs[rate] = json.loads(proc.stdout)["psa"]
    assert docs["0.2"]["discount"]["rate"] == 0.2 and docs["0.2"]["discount"]["text"] == "discounted at 20% a year"
    a, b = (docs[r]["cost_effectiveness"]["co_response"]["arrests"] for r in ("0", "0.2"))
    for key in ("cost_median", "effect_median", "ratio_of_means"):
        if a[key] is not None:
            assert b[key] == pytest.approx(a[key], rel=1e-9)
    default = cli(*args).stdout  # --json, default rate
    assert json.loads(default)["psa"]["discount"]["rate"] == 0.03
    text = cli(*[x for x in args if x != "--json"]).stdout
    assert "discounted at 3% a year" in text
    # a store whose series lack the monthly costs (written before they were kept) is refused in one line
    for part in (out / "series").glob("*.parquet"):
        df = pd.read_parquet(part)
        df[~df["variable"].str.startswith(("cost_", "counted_"))].to_parquet(part)
    proc = cli(*args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "lack 'cost_total'" in lines[0] and str(out) in lines[0]
    assert cli(*args, "--discount", "0").returncode == 0  # undiscounted: the totals are enough


@pytest.mark.parametrize("rate", ["0.5", "-0.1", "abc"])
def test_bad_discount_rate_exits_2_with_one_line(rate, tmp_path):
    proc = cli("compare", "small_district", "co_response", "--psa", "2", "-R", "1", "--days", "30",
               "--discount", rate, "--out", str(tmp_path / "s"))  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "--discount" in lines[-1] and "from 0 to 0.2" in lines[-1]
    assert not (tmp_path / "s").exists()
    proc = cli("compare", "small_district", "-R", "1", "--discount", "0.03")
    assert proc.returncode == 2 and "--psa" in proc.stderr
