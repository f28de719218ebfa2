"""The held-out EMS/ED check (analysis/ems_check.py, ``crisis-sim ems-check``)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from crisis_sim.analysis.ems_check import (
    MONTH_DAYS,
    ems_check,
    first_served,
    odds_ratio,
    person_outcomes,
    use_times,
)
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.scenario.loader import load_scenario, with_overrides

D = DAY_MIN


def _ledger(rows):
    """rows: (call_id, resident, t_received_days, program, destination)."""
    return pd.DataFrame(
        {
            "call_id": [r[0] for r in rows],
            "mh": True,
            "resident": [r[1] for r in rows],
            "t_received": [r[2] * D for r in rows],
            "program": [r[3] for r in rows],
            "destination": pd.Categorical([r[4] for r in rows]),
        }
    )


def _health(rows):
    """rows: (kind, resident, t_days)."""
    return pd.DataFrame({"kind": [r[0] for r in rows], "resident": [r[1] for r in rows], "crisis": 1,
                         "call_id": -1, "t": [r[2] * D for r in rows]})  # fmt: skip


def test_first_served_keeps_the_first_program_call_in_the_counted_window():
    led = _ledger([(0, 1, 5, "co_response", ""), (1, 1, 40, "co_response", ""), (2, 2, 40, "", "ed"),
                   (3, 3, 50, "co_response", "ed"), (4, 3, 60, "co_response", ""), (5, 4, 300, "co_response", "")])  # fmt: skip
    idx = first_served(led, "co_response", 30 * D, 200 * D)
    assert idx.to_dict() == {3: 50 * D}  # 1 was first served in warm-up; 4 too late for the window


def test_person_outcomes_and_odds_ratio_by_hand():
    # program arm: residents 1..4 first served on day 40; uses after day 41 within 6 months
    prog = _ledger([(i, r, 40, "co_response", "") for i, r in enumerate([1, 2, 3, 4])]
                   + [(10, 1, 100, "", "ed"), (11, 2, 40.5, "", "ed")])  # fmt: skip
    prog_h = _health([("self_ems", 3, 90), ("ems_transport", 4, 400)])  # 4: outside the window
    ctrl = _ledger([(i, r, 40, "", "") for i, r in enumerate([1, 2, 3, 4])] + [(12, 2, 120, "", "ed")])
    ctrl_h = _health([("self_walk_in", 4, 60)])
    rows = person_outcomes((prog, prog_h), (ctrl, ctrl_h), "co_response", 30 * D, 600 * D, months=6)
    rows = rows.set_index("resident")
    # 2's ED visit on day 40.5 is the index episode (first day left out)
    assert rows["ed_program"].to_dict() == {1: True, 2: False, 3: True, 4: False}
    assert rows["ed_control"].to_dict() == {1: False, 2: True, 3: False, 4: True}
    assert rows["ems_program"].to_dict() == {1: False, 2: False, 3: True, 4: False}
    assert not rows["ems_control"].any()
    r = odds_ratio(rows.reset_index(), "ed")
    assert (r["program_with_use"], r["control_with_use"], r["people"]) == (2, 2, 4)
    assert r["odds_ratio"] == pytest.approx(1.0) and r["program_only"] == 2 and r["control_only"] == 2
    assert r["paired_odds_ratio"] == pytest.approx(1.0)
    ems = odds_ratio(rows.reset_index(), "ems")  # a zero cell: 0.5 added (Haldane), OR (1.5*4.5)/(3.5*0.5)
    assert ems["odds_ratio"] == pytest.approx((1.5 * 4.5) / (3.5 * 0.5))
    assert ems["low"] < ems["odds_ratio"] < ems["high"]


def test_odds_ratio_matches_the_textbook_formula():
    n, a, c = 100, 30, 20
    rows = pd.DataFrame({"x_program": np.arange(n) < a, "x_control": np.arange(n) >= n - c})
    r = odds_ratio(rows, "x")
    assert r["odds_ratio"] == pytest.approx((a * (n - c)) / ((n - a) * c))
    se = np.sqrt(1 / a + 1 / (n - a) + 1 / c + 1 / (n - c))
    assert r["low"] == pytest.approx(r["odds_ratio"] * np.exp(-1.959964 * se), rel=1e-4)


def test_no_use_in_either_arm_is_not_estimable():
    rows = pd.DataFrame({"ems_program": [False] * 3, "ems_control": [False] * 3})
    assert odds_ratio(rows, "ems")["odds_ratio"] is None


def test_use_times_counts_ems_only_with_health_events():
    led = _ledger([(0, 1, 40, "", "ed"), (1, 2, 50, "", "jail")])
    uses = use_times(led, None)
    assert len(uses["ems"]) == 0 and uses["ed"]["resident"].tolist() == [1]
    uses = use_times(led, _health([("self_ems", 2, 60), ("self_walk_in", 3, 61), ("admission", 2, 60)]))
    assert uses["ems"]["resident"].tolist() == [2] and sorted(uses["ed"]["resident"]) == [1, 2, 3]


def test_ems_check_runs_both_arms_and_refuses_bad_input():
    sc = with_overrides(load_scenario("co_response"), {"simulation.horizon_days": 250, "simulation.warmup_days": 10,
                                                      "destinations.health_pathway.enabled": True})  # fmt: skip
    res = ems_check(sc, "co_response", 1, 0, months=[6])
    w = res["windows"]["6m"]
    assert w["ed"]["people"] > 0
    # with the pathway on, some of the followed people use EMS in each arm, and no more than use the ED or not
    for arm in ("program_with_use", "control_with_use"):
        assert 0 < w["ems"][arm] <= w["ems"]["people"]
    with pytest.raises(ValueError, match="program 'mobile_crisis'"):
        ems_check(sc, "mobile_crisis", 1)
    with pytest.raises(ValueError, match="horizon_days"):
        ems_check(sc, "co_response", 1, months=[12])
    assert pytest.approx(365.0) == MONTH_DAYS * 12


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "crisis_sim", "ems-check", *map(str, args)], capture_output=True,
                          text=True)  # fmt: skip


def test_cli_one_line_errors_and_json(tmp_path):
    bad = _cli("co_response", "--program", "mobile_crisis", "--days", "60")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "mobile_crisis" in bad.stderr
    short = _cli("co_response", "--days", "100", "--months", "6")
    assert short.returncode == 2 and "horizon_days" in short.stderr and len(short.stderr.strip().splitlines()) == 1
    months = _cli("co_response", "--months", "0,6")
    assert months.returncode == 2 and "months" in months.stderr
    out = tmp_path / "check.json"
    ok = _cli("co_response", "--days", "230", "--months", "6", "--replications", "1", "--health-pathway", "on",
              "--json", "--out", out)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(out.read_text())
    assert set(doc["health_pathway"]) == {"on"} and "provenance" in doc
    assert json.loads(ok.stdout)["health_pathway"]["on"]["windows"]["6m"]["ed"]["people"] >= 0
