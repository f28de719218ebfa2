"""Bayesian calibration by ABC-SMC (issue 12 item 4): a tiny run on small_district, resuming, bad options, and the
posterior replacing the calibrated point in the PSA."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from crisis_sim.analysis import abc_smc
from crisis_sim.analysis import calibration as cal
from crisis_sim.analysis.evidence import load_evidence
from crisis_sim.analysis.psa import build_psa_spec
from crisis_sim.cli import main
from crisis_sim.experiments.spec import build_spec, parse_scenario_arg
from crisis_sim.scenario import load_scenario

SMALL = str(SCENARIOS / "small_district.toml")
ARREST = "dispositions.police_medium_risk.arrest"
HOLD = "dispositions.police_medium_risk.involuntary"
RESOLVED = "dispositions.police_medium_risk.resolved"
HANDOVER = "destinations.ed.handover.minutes"

TARGETS = """
[[fit]]
name = "arrest"
statistic = "arrest_rate"
value = 0.075
sd = 0.01
source = "test"

[[fit]]
name = "holds"
statistic = "hold_rate"
value = 0.245
range = [0.20, 0.29]
source = "test"

[[validation]]
name = "mh_share"
statistic = "mh_share"
value = 0.065
range = [0.05, 0.08]
source = "test"
"""

PARAMS = f"""
[[param]]
path = "{ARREST}"
low = 0.02
high = 0.12
balance = "{RESOLVED}"
source = "test"

[[param]]
path = "{HOLD}"
low = 0.10
high = 0.35
balance = "{RESOLVED}"
source = "test"
"""


def _files(tmp: Path) -> tuple[str, str]:
    (tmp / "targets.toml").write_text(TARGETS)
    (tmp / "params.toml").write_text(PARAMS)
    return str(tmp / "targets.toml"), str(tmp / "params.toml")


def _argv(tmp: Path, out: Path, generations: int, population: int = 10) -> list[str]:
    targets, params = _files(tmp)
    return ["calibrate", SMALL, "--targets", targets, "--params", params, "--method", "abc", "--population",
            str(population), "--generations", str(generations), "-R", "1", "--days", "15", "--workers", "1",
            "--ppc-draws", "3", "--out", str(out)]  # fmt: skip


def test_tiny_abc_run_writes_the_posterior_checks_and_plots(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*_argv(tmp_path, out, 2), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == [ARREST, HOLD, "weight"] and len(post) == 10
    assert post["weight"].sum() == pytest.approx(1.0) and (post["weight"] > 0).all()
    assert post[ARREST].between(0.02, 0.12).all() and post[HOLD].between(0.10, 0.35).all()
    for path in (ARREST, HOLD):
        s = doc["params"][path]
        assert s["low"] <= s["mean"] <= s["high"] and s["sd"] >= 0
        assert s["mean"] == pytest.approx(float(np.average(post[path], weights=post["weight"])))
    # predictive checks for every fitting and validation target, coverage a share
    assert set(doc["ppc"]["targets"]) == {"arrest", "holds", "mh_share"}
    assert all(0.0 <= r["coverage"] <= 1.0 and r["n"] == 3 for r in doc["ppc"]["targets"].values())
    assert set(doc["fit_at_posterior_mean"]) == {"arrest", "holds"}
    assert [p["t"] for p in doc["populations"]] == [0, 1]
    assert doc["populations"][0]["epsilon"] is None  # generation 0: the prior sample (threshold infinite)
    assert doc["populations"][1]["epsilon"] > 0
    assert doc["provenance"]["written_by"]["crisis_sim_version"]
    w = post["weight"].to_numpy()
    assert doc["effective_sample_size"] == pytest.approx(1.0 / float(np.sum(w**2)))
    for name in ("posterior_summary.json", "populations.csv", "fit.md", "fit.csv", "ppc.md", "ppc.csv",
                 "calibrated.toml", "provenance.json", "abc.db", "abc_run.json", "plots/prior_posterior.png",
                 "plots/ppc.png"):  # fmt: skip
        assert (out / name).is_file(), name
    # the posterior-mean scenario loads, with the balancing share absorbing the change
    sc = load_scenario(out / "calibrated.toml")
    mix = sc.dispositions.police_medium_risk
    assert mix.arrest == pytest.approx(doc["params"][ARREST]["mean"], rel=1e-5)
    assert math.isclose(sum(mix.model_dump().values()), 1.0, abs_tol=1e-6)


def test_every_particle_is_simulated_on_the_same_replications(tmp_path):
    """Common random numbers: the same parameter values give the same statistics, whichever particle asks."""
    targets = cal.load_targets(_files(tmp_path)[0])
    params = [cal.FreeParam(ARREST, 0.02, 0.12, balance=RESOLVED, source="t")]
    model = abc_smc.Model(cal.Problem(SMALL, targets, params, 2, 0, 20))
    a, b = model({ARREST: 0.05}), model({ARREST: 0.05})
    assert a == b and set(a) == {"arrest", "holds"}
    assert model({ARREST: 0.11})["arrest"] > a["arrest"]
    # an impossible particle (a balancing share below 0) is never accepted
    bad = abc_smc.Model(cal.Problem(SMALL, targets, [cal.FreeParam(ARREST, 0.0, 0.9, balance=RESOLVED)], 1, 0, 20))
    assert abc_smc.Distance(targets)(bad({ARREST: 0.9})) == cal.PENALTY


def test_a_resumed_run_continues_and_matches_an_uninterrupted_one(tmp_path, capsys):
    out, straight = tmp_path / "resumed", tmp_path / "straight"
    assert main(_argv(tmp_path, out, 1)) == 0
    assert main(_argv(tmp_path, out, 2)) == 0  # continues: one more generation in the same abc.db
    err = capsys.readouterr().err
    assert "generation 2/2" in err and err.count("generation 1/") == 1
    assert main(_argv(tmp_path, straight, 2)) == 0
    a, b = pd.read_parquet(out / "posterior.parquet"), pd.read_parquet(straight / "posterior.parquet")
    pd.testing.assert_frame_equal(a, b)  # one worker: the whole run is reproducible from the seed
    assert abc_smc.generations_done(out) == 2
    # the same command again runs no generation
    capsys.readouterr()
    assert main(_argv(tmp_path, out, 2)) == 0
    assert "generation" not in capsys.readouterr().err and abc_smc.generations_done(out) == 2
    # another population in the same folder is refused, in one line, exit 2
    assert main(_argv(tmp_path, out, 3, population=12)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different settings" in err[0]
    assert abc_smc.generations_done(out) == 2


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--trials", "5"], "--trials belongs to --method optimize"),
        (["--validate-only"], "--validate-only belongs to --method optimize"),
        (["--population", "5"], "at least 10 particles"),
        (["--population", "0"], "population"),
        (["--generations", "-1"], "generations"),
    ],
)
def test_bad_abc_options_are_one_line_and_write_nothing(tmp_path, capsys, extra, expected):
    out = tmp_path / "out"
    argv = [a for a in _argv(tmp_path, out, 2) if a not in ("--population", "10")] + extra
    with pytest.raises(SystemExit) as exc:  # argparse's own errors exit 2 too
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert expected in err[-1]
    assert not out.exists()


def test_abc_options_need_method_abc_and_abc_needs_params(tmp_path, capsys):
    targets, params = _files(tmp_path)
    out = tmp_path / "out"
    assert main(["calibrate", SMALL, "--targets", targets, "--params", params, "--trials", "2", "--population",
                 "20", "--out", str(out)]) == 2  # fmt: skip
    assert "--population belongs to --method abc" in capsys.readouterr().err
    assert main(["calibrate", SMALL, "--targets", targets, "--method", "abc", "--out", str(out)]) == 2
    assert "expected --params FILE" in capsys.readouterr().err
    assert not out.exists()


def test_a_database_without_its_run_record_is_not_loaded(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "abc.db").write_bytes(b"not ours")
    assert main(_argv(tmp_path, out, 1)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "abc_run.json" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["abc.db"]


# --- the posterior in the PSA --------------------------------------------------------------------------------
def _posterior(tmp: Path) -> tuple[Path, list[cal.FreeParam]]:
    params = [cal.FreeParam(ARREST, 0.02, 0.12, balance=RESOLVED, source="t"),
              cal.FreeParam(HANDOVER, 10.0, 40.0, source="t")]  # fmt: skip
    frame = pd.DataFrame({ARREST: [0.03, 0.10], HANDOVER: [11.0, 33.0], "weight": [0.9, 0.1]})
    problem = cal.Problem(SMALL, [], params, 1)
    path = tmp / "posterior.parquet"
    abc_smc.write_posterior(frame, problem, path)
    return path, params


def test_psa_draws_come_from_the_posterior_by_weight(tmp_path):
    path, _ = _posterior(tmp_path)
    posterior = abc_smc.read_posterior(path)
    base = build_spec([parse_scenario_arg("small_district"), parse_scenario_arg("co_response")], 1, 3, 20)
    evidence = load_evidence(None)
    plan = build_psa_spec(base, evidence, 40, posterior)
    again = build_psa_spec(base, evidence, 40, posterior)
    pd.testing.assert_frame_equal(plan.draws, again.draws)  # deterministic from the root seed
    assert set(plan.draws[ARREST]) <= {0.03, 0.10} and 0.75 < (plan.draws[ARREST] == 0.03).mean() < 1.0
    # evidence entries on calibrated paths give way to the posterior; the others are still drawn
    assert HANDOVER not in [e.path for e in plan.evidence.entries]
    assert "programs.co_response.arrest_or" in [e.path for e in plan.evidence.entries]
    assert ARREST in plan.applied and HANDOVER in plan.applied
    index = plan.index.set_index("scenario_index")
    for i, entry in enumerate(plan.spec.scenarios):
        k = index.loc[i, "draw"]
        if k < 0:
            continue
        mix = entry.scenario.dispositions.police_medium_risk
        assert mix.arrest == pytest.approx(plan.draws.loc[k, ARREST])
        assert math.isclose(sum(mix.model_dump().values()), 1.0, abs_tol=1e-9)  # the balance absorbed it
        assert entry.scenario.destinations.ed.handover.minutes == pytest.approx(plan.draws.loc[k, HANDOVER])


def test_psa_with_a_posterior_runs_end_to_end(tmp_path):
    import crisis_sim as cs

    path, _ = _posterior(tmp_path)
    out = cs.psa(["small_district", "co_response"], draws=3, replications=1, days=15, posterior=path)
    assert set(out["draws"].columns) >= {ARREST, HANDOVER}
    assert set(out["summary"]["strategy"]) == {"small_district", "co_response"}


def test_bad_posterior_files_are_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1.0], "weight": [1.0]}).to_parquet(plain)
    for bad, expected in ((tmp_path / "none.parquet", "no such file"), (junk, "expected a Parquet file"),
                          (plain, "free-parameter record")):  # fmt: skip
        assert main(["compare", "small_district", "co_response", "--psa", "2", "--posterior", str(bad), "-R",
                     "1", "--days", "10"]) == 2  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
    assert main(["compare", "small_district", "co_response", "--posterior", str(plain), "-R", "1"]) == 2
    assert "need --psa N" in capsys.readouterr().err


def test_report_posterior_needs_psa_and_a_good_file(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "small_district", "-R", "2", "--days", "20", "--posterior", "p.parquet", "--out",
                 str(out)]) == 2  # fmt: skip
    assert "--posterior needs --psa N" in capsys.readouterr().err
    assert main(["report", "small_district", "-R", "2", "--days", "20", "--psa", "2", "--posterior",
                 str(tmp_path / "none.parquet"), "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--posterior:" in err[0] and "no such file" in err[0]
    assert not out.exists()


@pytest.mark.slow
def test_dask_sampler_runs_a_generation_on_a_local_cluster(tmp_path):
    """--executor dask: pyabc's DaskDistributedSampler on a LocalCluster (the project's Dask executor)."""
    out = tmp_path / "out"
    argv = [a if a != "15" else "10" for a in _argv(tmp_path, out, 1)]
    assert main([*argv, "--executor", "dask", "--no-plots"]) == 0
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 10 and post["weight"].sum() == pytest.approx(1.0)
    assert abc_smc.generations_done(out) == 1
