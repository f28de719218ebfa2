"""Crisis stabilisation centre: beds are never over-filled, a full centre sends people to the ED, drop-off is quick."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import cached_run
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import INVOLUNTARY, VOLUNTARY
from crisis_sim.programs.stabilization import Stabilization
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BUSY_CITY = {"demand.mh_share": 0.15}  # more transports in a short run


@functools.cache
def _base(days: int):
    sc = load_scenario(SCENARIOS / "small_district.toml")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0, **BUSY_CITY})


def run(days: int = 60, seed: int = 0, section: dict | None = None):
    """Cached (the session's cache, conftest.cached_run)."""
    sc = _base(days)
    if section is not None:
        sc = with_overrides(sc, {"programs.stabilization": section}, label="<test>")
    return cached_run(sc, 0, seed)


def centre(model) -> Stabilization:
    return next(p for p in model.programs if p.key == "stabilization")


def max_concurrent(intervals: list[tuple[float, float]]) -> int:
    """Largest number of half-open [start, end) intervals covering one instant (ends before starts on ties)."""
    events = sorted([(t1, 0) for _, t1 in intervals] + [(t0, 1) for t0, _ in intervals])
    level = peak = 0
    for _, is_start in events:
        level += 1 if is_start else -1
        peak = max(peak, level)
    return peak


def occupancy_at(intervals, t: float) -> int:
    return sum(1 for t0, t1 in intervals if t0 <= t < t1)


def test_bed_capacity_never_exceeded_and_full_goes_to_ed():
    model, res = run(section={"beds": 2})
    st_ = centre(model)
    stays = [(t0, t1) for _, t0, t1 in st_.admitted_calls]
    assert len(stays) > 10 and st_.full_calls, "two beds must fill up in a busy 60-day run"
    assert max_concurrent(stays) <= 2
    assert res.timeseries["stabilization_beds_occupied"].max() <= 2
    by_id = {c.call_id: c for c in model.mh_calls}
    for call_id, t, _ in st_.full_calls:
        assert occupancy_at(stays, t) == 2  # refused only when every bed was taken
        c = by_id[call_id]
        if not math.isnan(c.t_cleared):
            assert not math.isnan(c.ed_wait)  # ... and then the ED took the person
    for call_id, _, _ in st_.admitted_calls:
        c = by_id[call_id]
        assert math.isnan(c.ed_wait) and c.disposition == VOLUNTARY  # no ED, voluntary only by default


def test_admissions_counted_in_summary_and_series():
    model, res = run(section={"beds": 2})
    n = len(centre(model).admitted_calls)
    assert res.summary["stabilization_admissions"] == n  # no warm-up in these runs
    assert res.timeseries["stabilization_admissions"].sum() == n
    assert res.summary["program_cost"]["stabilization"] == pytest.approx(2 * 60 * 600.0)


def test_involuntary_accepted_only_when_configured():
    model, _ = run(section={"beds": 50, "accepts_involuntary": True})
    by_id = {c.call_id: c for c in model.mh_calls}
    disps = {by_id[i].disposition for i, _, _ in centre(model).admitted_calls}
    assert disps == {VOLUNTARY, INVOLUNTARY}


def test_drop_off_frees_the_unit_sooner_than_the_ed():
    base_model, base = run()
    model, res = run(section={"beds": 50, "accepts_involuntary": True})
    assert centre(model).full_calls == []

    def officer_min_per_transport(ledger):
        mh = ledger[
            ledger["mh"] & ledger["disposition"].astype(str).isin(["voluntary_transport", "involuntary"])
        ]
        return float(mh["officer_min"].mean())

    assert officer_min_per_transport(res.ledger) < officer_min_per_transport(base.ledger)
    assert res.summary["ed_wait_hours"] < base.summary["ed_wait_hours"]


def test_centre_off_gives_zero_admissions_key():
    _, res = run()
    assert res.summary["stabilization_admissions"] == 0 and "stabilization" not in res.summary["program_cost"]


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"beds": 0}, "beds"),
        ({"drop_off": {"kind": "fixed", "minutes": -1.0}}, "drop_off"),
        ({"beds": 2.5}, "beds"),
    ],
)
def test_schema_rejects_bad_sections(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(_base(60), {"programs.stabilization": section}, label="city.toml")
    assert needle in str(exc.value) and "expected" in str(exc.value)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), beds=st.integers(1, 4), days=st.integers(10, 40))
def test_capacity_invariant_any_seed(seed, beds, days):
    model, res = run(days, seed, {"beds": beds, "accepts_involuntary": bool(seed % 2)})
    stays = [(t0, t1) for _, t0, t1 in centre(model).admitted_calls]
    assert max_concurrent(stays) <= beds
    assert np.all(res.timeseries["stabilization_beds_occupied"].to_numpy() <= beds)
    assert 0.0 <= res.summary["stabilization_bed_occupancy"] <= 1.0
