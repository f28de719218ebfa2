"""`crisis-sim sensitivity` through the experiment engine on tiny runs (15 days, a few sample rows, R=1-2):
an input that cannot affect a metric gets a zero index, a shuffled store gives the same indices, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main

OUTREACH = str(SCENARIOS / "outreach_echinops.toml")
FAST = ["--days", "15", "--no-progress", "--workers", "2"]

# nurse_salary only enters the cost ledger: with common random numbers it cannot move anything else.
INPUTS = """
metrics = ["outreach_consents", "arrests", "cost_total"]

[[inputs]]
name = "consent_probability"
path = "programs.outreach.consent_at_mean_trust"
low = 0.4
high = 0.85
source = "schema range"

[[inputs]]
name = "nurse_salary"
path = "programs.outreach.costs.nurse_salary_per_year"
low = 80000.0
high = 150000.0
source = "schema range"
"""


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["sensitivity", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "sensitivity.csv")


def test_cost_only_input_has_no_effect_and_shuffled_store_gives_same_indices(tmp_path: Path, capsys):
    inputs = tmp_path / "inputs.toml"
    inputs.write_text(INPUTS)
    out = tmp_path / "store"
    argv = [OUTREACH, "--inputs", str(inputs), "--method", "morris", "--n", "2", "-R", "1", *FAST,
            "--out", str(out)]  # fmt: skip
    code, stdout, _err = _run(capsys, *argv)
    assert code == 0, _err
    assert "6 runs (6 run now)" in stdout  # 2 trajectories x (2 inputs + 1)
    table = _table(out)
    mu = table[table["index"] == "mu_star"].set_index(["input", "metric"])["value"]
    assert mu[("nurse_salary", "outreach_consents")] == 0.0
    assert mu[("nurse_salary", "arrests")] == 0.0
    assert mu[("nurse_salary", "cost_total")] > 0.0
    assert mu[("consent_probability", "outreach_consents")] > 0.0
    assert (out / "plots" / "heatmap.png").exists() and (out / "plots" / "cost_total.png").exists()
    sample = pd.read_csv(out / "sample.csv")
    assert sample["row"].tolist() == list(range(6))

    # Rewrite the store's runs in a shuffled order, spread over new files: same indices, nothing rerun.
    files = sorted((out / "runs").glob("*.parquet"))
    runs = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    schema = pq.read_schema(files[0])
    for f in files:
        f.unlink()
    shuffled = runs.sample(frac=1.0, random_state=3).reset_index(drop=True)
    for k, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        part = shuffled.iloc[rows]
        table_k = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
        pq.write_table(table_k, out / "runs" / f"part-shuffled-{k}.parquet")
    code, stdout, _err = _run(capsys, *argv)
    assert code == 0, _err
    assert "6 runs (0 run now)" in stdout
    pd.testing.assert_frame_equal(_table(out), table)


@pytest.mark.slow
def test_sobol_total_index_of_a_disabled_program_parameter_is_zero_within_ci(tmp_path: Path, capsys):
    # Outreach switched off: its nurse FTE cannot affect anything; the dispatch identification rate moves the
    # number of calls identified as mental-health calls.
    inputs = tmp_path / "inputs.toml"
    inputs.write_text(
        'metrics = ["mh_identified", "cost_total"]\n'
        '[[inputs]]\npath = "programs.outreach.nurse_fte"\nlow = 0.5\nhigh = 2.0\n'
        '[[inputs]]\npath = "dispatch.mh_identification"\nlow = 0.3\nhigh = 0.9\n'
    )
    argv = [OUTREACH, "--inputs", str(inputs), "--method", "sobol", "--n", "8", "-R", "1", *FAST,
            "--set", "programs.outreach.enabled=false", "--json"]  # fmt: skip
    code, stdout, err = _run(capsys, *argv)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["sample_rows"] == 8 * 4 and doc["runs"] == 32
    t = pd.DataFrame(doc["table"]).set_index(["input", "metric", "index"])
    st, conf = t.loc[("nurse_fte", "mh_identified", "ST"), ["value", "conf"]]
    assert abs(st) <= conf + 1e-9 and abs(st) < 1e-9, (st, conf)
    st, conf = t.loc[("nurse_fte", "cost_total", "ST"), ["value", "conf"]]  # no nurse is paid either
    assert (abs(st) <= conf + 1e-9 and abs(st) < 1e-9) or np.isnan(st), (st, conf)
    assert t.loc[("mh_identification", "mh_identified", "ST"), "value"] > 0.5
    assert "below 256" in err  # the convergence warning for a small N
