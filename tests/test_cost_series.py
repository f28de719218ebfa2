"""outcomes/series_columns.add_cost_series: monthly costs and counted outcomes that add up to the summary."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

from crisis_sim.outcomes.series_columns import CORE_COSTS, COUNTED_OUTCOMES
from crisis_sim.scenario import load_scenario, with_overrides
from crisis_sim.sim import run_single


def _totals(res):
    return {c: float(res.timeseries[c].sum()) for c in res.timeseries.columns if c.startswith(("cost_", "counted_"))}


@pytest.mark.parametrize("name", ["co_response", "mixed_city"])
def test_monthly_costs_and_counted_outcomes_add_up_to_the_summary(name):
    sc = with_overrides(load_scenario(SCENARIOS / f"{name}.toml"), {"simulation.horizon_days": 75,
                                                                   "simulation.warmup_days": 10})  # fmt: skip
    res = run_single(sc, 0, 0)
    s, tot = res.summary, _totals(res)
    for col in (*CORE_COSTS, "cost_programs", "cost_total"):
        assert tot[col] == pytest.approx(float(s[col]), rel=1e-9, abs=1e-6), col
    for key, cost in s["program_cost"].items():
        assert tot[f"cost_{key}"] == pytest.approx(cost, rel=1e-9, abs=1e-6), key
    for m in COUNTED_OUTCOMES:
        assert tot[f"counted_{m}"] == pytest.approx(float(s[m])), m
    ts = res.timeseries
    assert (ts[list(CORE_COSTS)].to_numpy() >= 0).all()
    assert ts["cost_total"].to_numpy() == pytest.approx(
        ts[[*CORE_COSTS, "cost_programs", "cost_other"]].sum(axis=1).to_numpy()
    )
    assert tot["cost_other"] == 0.0  # no mechanism switch on in the shipped scenarios


def test_the_costs_of_mechanism_switches_reach_the_monthly_total():
    """EMS, respite beds and the crisis line add to the summary's cost_total; the monthly series carry them
    (``cost_other``), so discounted totals do not leave them out."""
    sc = with_overrides(load_scenario(SCENARIOS / "mobile_crisis.toml"), {
        "simulation.horizon_days": 75, "simulation.warmup_days": 10,
        "destinations.health_pathway.enabled": True, "destinations.respite.enabled": True,
        "channels.crisis_line.enabled": True})  # fmt: skip
    res = run_single(sc, 0, 0)
    s, tot = res.summary, _totals(res)
    switches = s["cost_ems"] + s["cost_self_presented"] + s["cost_places"] + s["cost_crisis_line"]
    assert switches > 0
    assert tot["cost_other"] == pytest.approx(switches, rel=1e-9)
    assert tot["cost_total"] == pytest.approx(float(s["cost_total"]), rel=1e-9)


def test_a_program_launched_later_costs_nothing_before_its_launch():
    sc = with_overrides(load_scenario(SCENARIOS / "mobile_crisis_launch.toml"), {"simulation.horizon_days": 240})
    launch_day = next(ev.day for ev in sc.timeline if ev.type == "launch_program")
    res = run_single(sc, 0, 0)
    ts = res.timeseries
    before = ts["day_end"].to_numpy() <= launch_day
    assert np.all(ts.loc[before, "cost_mobile_crisis"] == 0)
    assert ts.loc[~before, "cost_mobile_crisis"].sum() == pytest.approx(res.summary["program_cost"]["mobile_crisis"])
    assert res.summary["program_cost"]["mobile_crisis"] > 0


def test_cost_columns_come_after_the_existing_series_columns():
    """The series are computed after the run: the golden digest (tests/test_events_programs.py) holds; here the
    cost columns come after every column the series had before."""
    res = run_single(load_scenario("small_district"), 0, 0)
    cols = list(res.timeseries.columns)
    assert cols.index("cost_police") > cols.index("repeat_calls")
    assert cols[-len(COUNTED_OUTCOMES):] == [f"counted_{m}" for m in COUNTED_OUTCOMES]
