"""Invariants of any run (hypothesis over seeds, horizons and staffing): every call ends in exactly one
disposition or is reported open at the horizon; time never runs backwards; staff counts never go negative;
utilisation never exceeds 1; counters agree with the ledger."""

from __future__ import annotations

import numpy as np
from conftest import short, small
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_sim.outcomes import build_ledger
from crisis_sim.sim import CrisisModel

DAY = 24 * 60


def check_ledger(ledger, horizon_min):
    disp = ledger["disposition"].astype(str)
    assert ledger["disposition"].notna().all()
    open_ = disp == "open"
    assert (open_ == ledger["t_cleared"].isna()).all()
    mh = ledger["mh"]
    assert not disp[mh].isin(["non_mh_service"]).any()
    assert disp[~mh].isin(["non_mh_service", "open"]).all()
    t = ledger[["t_received", "t_dispatched", "t_arrived", "t_cleared"]].to_numpy()
    for a, b in ((0, 1), (1, 2), (2, 3)):
        both = ~np.isnan(t[:, a]) & ~np.isnan(t[:, b])
        assert (t[both, a] <= t[both, b] + 1e-9).all()
    assert (ledger["t_received"] <= horizon_min).all()
    assert ledger["call_id"].is_unique


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    days=st.integers(3, 25),
    extra_units=st.integers(-2, 2),
    mh_share=st.sampled_from([0.03, 0.06, 0.2]),
)
def test_run_invariants(seed, days, extra_units, mh_share):
    base = small(60)
    units = {f"city.districts.{d}.patrol_units.{s}": max(0, base.city.districts[d].patrol_units[s] + extra_units)
             for d in range(2) for s in ("day", "evening", "night")}  # fmt: skip
    scenario = short(base, days, **units, **{"demand.mh_share": mh_share})
    model = CrisisModel(scenario, replication=seed % 3, root_seed=seed)
    last_now = 0.0
    while model.running:
        model.step()
        assert model.env.now >= last_now  # time never runs backwards
        last_now = model.env.now
        for pool in model.patrol:
            assert pool.on_duty >= 0 and 0 <= pool.idle <= pool.on_duty
            assert 0.0 <= pool.utilisation() <= 1.0 + 1e-9
    assert model.env.now == days * DAY
    ledger = build_ledger(model)
    check_ledger(ledger, days * DAY)
    closed_mh = ledger[ledger["mh"] & (ledger["disposition"].astype(str) != "open")]
    assert model.counters["mh_calls"] == len(closed_mh)
    assert model.counters["arrests"] == int((closed_mh["disposition"] == "arrest").sum())
    assert model.counters["calls"] == int((ledger["disposition"].astype(str) != "open").sum())
    assert all(o.busy_min >= 0 for o in model.officers)
