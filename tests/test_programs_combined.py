"""Programs together: a switched-off program leaves the ledger bit-identical; with every registered program on,
the core's invariants still hold. Programs are discovered from the registry at run time, so programs added
later are covered without editing this file."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import cached_run
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import DISPOSITION_LABELS
from crisis_sim.programs import program_keys
from crisis_sim.scenario import load_scenario, with_overrides
from crisis_sim.sim import simulate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
KEYS = list(program_keys())


@functools.cache
def base(days: int = 45):
    sc = load_scenario(SCENARIOS / "small_district.toml")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0}, label="<test>")


def baseline_ledger(days: int = 45, seed: int = 7):
    return cached_run(base(days), 0, seed)[1].ledger


def with_sections(days: int, sections: dict[str, dict]):
    """The base scenario with the given program sections. A section that stops validating from its defaults
    fails the test with the schema's ScenarioError (never skipped: a program must be usable from defaults)."""
    return with_overrides(base(days), {f"programs.{key}": section for key, section in sections.items()},
                          label="<test>")  # fmt: skip


def test_registry_has_this_issue_s_programs():
    assert {"mobile_crisis", "stabilization"} <= set(program_keys())


@pytest.mark.parametrize("key", KEYS)
def test_disabled_program_leaves_the_ledger_identical(key):
    sc = with_overrides(base(), {f"programs.{key}": {"enabled": False}}, label="<test>")
    assert getattr(sc.programs, key) is not None
    _, res = simulate(sc, 0, 7)
    assert res.ledger.equals(baseline_ledger())


def test_all_disabled_at_once_leaves_the_ledger_identical():
    sc = with_sections(45, {k: {"enabled": False} for k in KEYS})
    _, res = simulate(sc, 0, 7)
    assert res.ledger.equals(baseline_ledger())


def test_enabled_program_changes_something():
    """Guard against the identity test passing vacuously (e.g. a program that never attaches)."""
    sc = with_sections(45, {"mobile_crisis": {}, "stabilization": {}})
    _, res = simulate(sc, 0, 7)
    assert not res.ledger.equals(baseline_ledger())


def check_invariants(model, res) -> None:
    led = res.ledger
    assert led["call_id"].is_unique
    disp = led["disposition"].astype(str)
    mh = led["mh"].to_numpy()
    cleared = led["t_cleared"].to_numpy()
    # every MH call ends in exactly one disposition, or is open at the horizon
    assert disp[mh].isin(DISPOSITION_LABELS + ("open",)).all()
    assert ((disp == "open").to_numpy() == np.isnan(cleared)).all()
    assert disp[~mh].isin(["non_mh_service", "open"]).all()
    assert all(c.disposition >= 0 for c in model.mh_calls if not math.isnan(c.t_cleared))
    # time never runs backwards
    t = [led[c].to_numpy() for c in ("t_received", "t_dispatched", "t_arrived", "t_cleared")]
    for a, b in zip(t, t[1:], strict=False):
        both = ~np.isnan(a) & ~np.isnan(b)
        assert (a[both] <= b[both] + 1e-9).all()
    assert ((t[0] <= t[3] + 1e-9) | np.isnan(t[3])).all()
    assert (t[3][~np.isnan(t[3])] <= model.horizon_min + 1e-9).all()
    # utilisation is a share; staff and counters are never negative
    s = res.summary
    assert all(0.0 <= u <= 1.0 + 1e-12 for u in s["patrol_utilisation"])
    assert all(0.0 <= u <= 1.0 + 1e-12 for u in s["program_staff_utilisation"].values())
    for pool in model.patrol:
        assert 0 <= pool.idle <= pool.on_duty
    daily = model.datacollector.get_model_vars_dataframe()
    numeric = daily.select_dtypes("number")
    assert (numeric.to_numpy() >= 0).all(), numeric.min()[numeric.min() < 0]
    # cross-program outputs are consistent
    counted_mh = led[led["mh"] & ~led["in_warmup"]]
    assert sum(s["handled_by"].values()) == int((counted_mh["responder"].astype(str) != "none").sum())
    assert s["eligible_mh_calls"] == s["specialized_served"] + sum(s["unserved_eligible_by_reason"].values())
    assert {"busy", "off_hours", "out_of_area", "misidentified"} <= set(s["unserved_eligible_by_reason"])
    # program counts, each bounded by what it counts among (warm-up is 0 in these runs)
    assert s["backup_requests"] <= s["handled_by"].get("mobile_crisis", 0)
    assert s["stabilization_admissions"] <= len(counted_mh)
    assert s["outreach_consents"] <= s["outreach_referrals"]
    assert s["outreach_visits"] == 0 or s["outreach_consents"] > 0  # visits only after a consent
    assert s["outreach_active_caseload"] <= s["outreach_referrals"]  # every client in the caseload was referred
    served, eligible = s["specialized_served"], s["eligible_mh_calls"]
    assert s["specialized_coverage"] == (served / eligible if eligible else 0.0)


def test_invariants_hold_for_the_baseline():
    model, res = simulate(base(30), 0, 3)
    check_invariants(model, res)
    assert res.summary["handled_by"] == {"patrol": res.summary["handled_by"]["patrol"]}
    assert res.summary["specialized_coverage"] == 0.0


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), days=st.integers(10, 40))
def test_invariants_hold_with_every_program_on(seed, days):
    sc = with_sections(days, {k: {} for k in KEYS})
    model, res = simulate(sc, 0, seed)
    assert [p.key for p in model.programs] == KEYS
    check_invariants(model, res)
