"""CIT: who is trained, the dispatch preference with its wait tolerance, near-null default effects, switch-off."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from conftest import SCENARIOS, short, small
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import D_INDEX
from crisis_sim.programs.cit import referral_odds_ratio
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.sim import simulate

DAY = 24 * 60


def cit_scenario(days: int = 60, **section):
    return with_overrides(small(days), {"programs.cit": section}, label="<test>")


def program(model, key="cit"):
    return next(p for p in model.programs if p.key == key)


def test_exactly_round_share_trained_in_every_district_and_shift():
    model, _ = simulate(cit_scenario(5, trained_share=0.4), 0, 3)
    for d in range(2):
        for s in range(3):
            team = [o for o in model.officers if o.district == d and o.shift == s]
            assert sum(o.cit_trained for o in team) == round(0.4 * len(team))
    assert program(model).summary()["cit_trained_officers"] == sum(o.cit_trained for o in model.officers)


def test_who_is_trained_depends_on_seed_not_on_other_settings():
    a, _ = simulate(cit_scenario(3, wait_tolerance_min=0.0), 0, 7)
    b, _ = simulate(cit_scenario(3, wait_tolerance_min=25.0, referral_or_max=2.0), 0, 7)
    assert [o.cit_trained for o in a.officers] == [o.cit_trained for o in b.officers]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), tol=st.sampled_from([0.0, 5.0, 20.0]))
def test_preference_rule_holds_call_by_call(seed, tol):
    """An identified call dispatched before the tolerance ran out got a CIT officer; a non-CIT unit came only after
    waiting the whole tolerance, or at once when no CIT officer of the district was on duty."""
    model, result = simulate(cit_scenario(30, wait_tolerance_min=tol), 0, seed)
    trained = {o.unique_id for o in model.officers if o.cit_trained}
    for c in model.mh_calls:
        if not c.identified or math.isnan(c.t_dispatched):
            continue
        wait = c.t_dispatched - c.t_received
        if c.responder == "patrol":
            assert c.unserved_reason in ("busy", "off_hours")
            assert wait >= tol - 1e-9 or c.unserved_reason == "off_hours"
        else:
            assert c.responder == "cit" and c.program == "cit"
            assert c.unit in trained
    led = result.ledger
    assert set(led.loc[led["responder"] == "cit", "program"]) <= {"cit"}
    # no officer token is lost when a CIT-only request is cancelled: every on-duty officer is idle or on an open call
    open_rows = led[(led["disposition"].astype(str) == "open") & (led["unit"] >= 0)]
    for d, pool in enumerate(model.patrol):
        on_duty = sum(o.on_duty for o in model.officers if o.district == d)
        assert on_duty == pool.idle + int((open_rows["district"].cat.codes == d).sum())


def test_free_cit_officer_is_taken_even_when_other_units_are_free():
    """With everyone idle (one call at a time, long tolerance), every identified call goes to a CIT officer."""
    sc = with_overrides(
        cit_scenario(40, trained_share=0.34, wait_tolerance_min=240.0),
        {"demand.mh_share": 0.01},
        label="<test>",
    )
    model, _ = simulate(sc, 0, 11)
    ident = [c for c in model.mh_calls if c.identified and not math.isnan(c.t_dispatched)]
    assert ident
    assert all(c.responder == "cit" for c in ident)
    # the unidentified ones still reach mostly untrained officers: the preference, not chance, did it
    unident = [c for c in model.mh_calls if not c.identified and not math.isnan(c.t_dispatched)]
    assert sum(c.responder == "cit" for c in unident) < len(unident)


def test_untrained_unit_on_an_unidentified_call_is_marked_misidentified():
    model, _ = simulate(cit_scenario(30), 0, 5)
    miss = [c for c in model.mh_calls if not c.identified and c.responder == "patrol"]
    assert miss and all(c.unserved_reason == "misidentified" and c.eligible for c in miss)


def test_default_effects_are_near_null_on_arrest_and_force_and_referral_needs_capacity():
    model, _ = simulate(cit_scenario(2), 0, 0)
    dm = model.dispositions
    for risk in (0, 1, 2):
        p = dm.probabilities("patrol", risk, False, True)
        q = dm.probabilities("cit", risk, False, True)
        assert q[D_INDEX["referral"]] > p[D_INDEX["referral"]]
        assert abs(q[D_INDEX["arrest"]] - p[D_INDEX["arrest"]]) < 0.01  # only renormalisation moves it
        for disp in (0, 5):
            assert dm.force_probability("cit", risk, disp, False) == dm.force_probability(
                "patrol", risk, disp, False
            )
    cfg = model.cfg.programs.cit
    assert referral_odds_ratio(cfg, 0, 100_000) == 1.0
    ors = [referral_odds_ratio(cfg, slots, 100_000) for slots in (2, 8, 40, 400)]
    assert ors == sorted(ors) and ors[1] == pytest.approx(1 + (cfg.referral_or_max - 1) / 2)
    assert ors[-1] < cfg.referral_or_max


@pytest.mark.parametrize("section", [None, {"enabled": False}])
def test_switched_off_ledger_equals_baseline(section):
    base = small(45)
    _, r0 = simulate(base, 0, 21)
    sc = base if section is None else with_overrides(base, {"programs.cit": section}, label="<test>")
    _, r1 = simulate(sc, 0, 21)
    assert r0.ledger.equals(r1.ledger)
    assert "cit" not in r1.summary["program_cost"]


def test_summary_cost_utilisation_and_monthly_series():
    sc = short(cit_scenario(60), 60, warmup=0)
    model, result = simulate(sc, 0, 2)
    s = result.summary
    n = s["cit_trained_officers"]
    cfg = sc.programs.cit
    expected = n * (cfg.course_hours + cfg.refresher_hours_per_year * 60 / 365) * sc.costs.officer_hour
    assert s["program_cost"]["cit"] == pytest.approx(expected)
    assert 0 < s["program_staff_utilisation"]["cit"] < 1
    led = result.ledger
    assert s["cit_calls"] == int(((led["responder"] == "cit") & led["mh"]).sum())
    assert result.timeseries["cit_calls"].sum() == s["cit_calls"]


def test_bad_section_is_rejected_with_a_clear_line(tmp_path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "cit.toml", {"programs.cit.trained_share": 1.5})
    assert "programs.cit.trained_share" in str(err.value) and "1.5" in str(err.value)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'base = "{SCENARIOS / "cit.toml"}"\n[programs.cit]\ncourse_hour = 40\n')
    r = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "validate", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "programs.cit.course_hour" in r.stderr


def test_scenario_file_runs():
    sc = short(load_scenario(SCENARIOS / "cit.toml"), 20)
    _, result = simulate(sc, 0, 0)
    assert result.summary["cit_calls"] > 0
