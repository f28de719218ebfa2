"""The command line as users meet it: exit codes, one-line errors without tracebacks, nothing written on failure."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SCENARIOS

REQUIRED_RUN_KEYS = {
    "calls", "mh_calls", "mh_identified", "arrests", "arrest_rate", "use_of_force", "force_rate", "injuries",
    "ed_transports", "involuntary_holds", "resolved_on_scene", "referrals", "connected_to_services",
    "repeat_callers_90d", "median_response_min", "p90_response_min", "officer_hours_mh", "ed_wait_hours",
    "cost_total", "events", "wall_s",
}  # fmt: skip


def cli(*args, check=False):
    return subprocess.run([sys.executable, "-m", "crisis_sim", *map(str, args)], capture_output=True, text=True,
                          check=check)  # fmt: skip


def test_validate_ok_and_bad(tmp_path):
    ok = cli("validate", SCENARIOS / "small_district.toml")
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text((SCENARIOS / "small_district.toml").read_text().replace("population = 100_000", "population = -5"))
    r = cli("validate", bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert str(bad) in r.stderr and "city.population" in r.stderr and "found -5" in r.stderr


def test_validate_missing_file():
    r = cli("validate", "no/such/file.toml")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_run_json_has_the_required_keys():
    r = cli("run", SCENARIOS / "small_district.toml", "--days", "20", "--json", "--seed", "3", check=True)
    data = json.loads(r.stdout)
    assert data.keys() >= REQUIRED_RUN_KEYS
    assert data["mh_calls"] > 0 and 0 <= data["arrest_rate"] <= 1 and data["events"] > 0


def test_run_out_writes_three_files(tmp_path):
    out = tmp_path / "o"
    cli("run", SCENARIOS / "small_district.toml", "--days", "35", "--out", out, check=True)
    assert sorted(p.name for p in out.iterdir()) == ["ledger.parquet", "summary.json", "timeseries.parquet"]
    ledger = pd.read_parquet(out / "ledger.parquet")
    ts = pd.read_parquet(out / "timeseries.parquet")
    summary = json.loads((out / "summary.json").read_text())
    assert len(ledger) > 0 and list(ts["month"]) == [1, 2]
    assert summary["calls"] == int((~ledger["in_warmup"]).sum())


def test_failed_run_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "' + str(SCENARIOS / "small_district.toml") + '"\n[dispatch]\nmh_identification = 2.0\n')
    out = tmp_path / "o"
    r = cli("run", bad, "--out", out)
    assert r.returncode == 2 and "dispatch.mh_identification" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize("days", ["0", "-3", "x"])
def test_bad_days_option(days):
    r = cli("run", SCENARIOS / "small_district.toml", "--days", days)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "days" in r.stderr


def test_check_queue_json():
    r = cli("check-queue", "--arrival-rate", "3", "--service-rate", "1", "--servers", "4", "--customers", "5000",
            "--json", check=True)  # fmt: skip
    data = json.loads(r.stdout)
    for k in ("sim_mean_wait", "sim_mean_wait_ci", "erlang_mean_wait", "sim_p_wait", "erlang_p_wait", "customers"):
        assert k in data
    assert data["customers"] == 5000


def test_check_queue_unstable_is_a_usage_error():
    r = cli("check-queue", "--arrival-rate", "5", "--service-rate", "1", "--servers", "2")
    assert r.returncode == 2 and "stable queue" in r.stderr and "Traceback" not in r.stderr


def test_days_drops_timeline_events_beyond_the_shortened_horizon_everywhere():
    """--days N means the same in run and in the experiment engine: events dated day >= N are dropped."""
    from crisis_sim.experiments.spec import apply_days
    from crisis_sim.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "nurse_post_cut.toml")
    assert any(e.day >= 40 for e in scenario.timeline)
    short = apply_days(scenario, 40, "nurse_post_cut.toml")
    assert short.simulation.horizon_days == 40 and all(e.day < 40 for e in short.timeline)


def test_output_piped_into_a_closed_reader_is_not_an_error():
    import subprocess as sp

    cmd = f"{sys.executable} -m crisis_sim run {SCENARIOS / 'small_district.toml'} --days 10 --json | head -c 10"
    r = sp.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert "Traceback" not in r.stderr and r.returncode == 0
