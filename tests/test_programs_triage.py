"""911/988 clinician triage: phone resolution without a unit, identification by protocol, clinician capacity."""

from __future__ import annotations

import math

import pytest
from conftest import SCENARIOS, small
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.calls import U_IDENTIFY
from crisis_sim.model.dispositions import PHONE
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.sim import simulate

DAY = 24 * 60


def tri_scenario(days: int = 60, extra: dict | None = None, **section):
    return with_overrides(small(days), {"programs.triage": section, **(extra or {})}, label="<test>")


def program(model, key="triage"):
    return next(p for p in model.programs if p.key == key)


def test_phone_resolved_calls_get_no_unit_and_exactly_one_disposition():
    model, result = simulate(tri_scenario(90), 0, 3)
    phone = [c for c in model.mh_calls if c.disposition == PHONE]
    assert len(phone) >= 5
    for c in phone:
        assert c.responder == "phone_triage" and c.program == "triage"
        assert c.unit == -1 and math.isnan(c.t_dispatched) and math.isnan(c.t_arrived)
        assert c.officer_min == 0 and not c.force
        assert c.t_cleared == c.t_received
        assert c.identified and c.assessed_risk == 0 and not c.weapon
    led = result.ledger
    rows = led[led["disposition"] == "phone_resolved"]
    assert len(rows) == len(phone) and (rows["responder"] == "phone_triage").all()
    assert result.summary["phone_resolved"] == int((~rows["in_warmup"]).sum())
    # every other MH call still got exactly one disposition from a unit (or is open at the horizon)
    others = led[led["mh"] & (led["disposition"] != "phone_resolved")]
    assert (others["responder"] != "phone_triage").all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), ident=st.sampled_from([0.6, 0.85, 0.95]))
def test_screening_only_adds_identification_and_follows_the_protocol_rate(seed, ident):
    model, _ = simulate(tri_scenario(20, identification=ident), 0, seed)
    prog = program(model)
    base = model.cfg.dispatch.mh_identification
    screened = {r[0] for r in prog.records}
    p = (ident - base) / (1 - base)
    for c in model.mh_calls:
        by_calltaker = float(c.latents[U_IDENTIFY]) < base
        if by_calltaker:
            assert c.identified  # never lost
        elif c.call_id in screened:
            assert c.identified == (float(c.latents[18]) < p)
        else:
            assert not c.identified


@pytest.mark.slow
def test_screened_calls_are_recognised_at_about_the_protocol_rate():
    model, _ = simulate(tri_scenario(240), 0, 1)
    screened = {r[0] for r in program(model).records}
    calls = [c for c in model.mh_calls if c.call_id in screened]
    share = sum(c.identified for c in calls) / len(calls)
    assert len(calls) > 800 and share == pytest.approx(0.85, abs=0.04)


def test_clinician_capacity_and_hours_bind():
    """One clinician 08:00-20:00: no screening outside those hours, never two at once; calls that find the
    clinician busy or off are not screened."""
    sc = tri_scenario(
        60, shifts=[{"start_hour": 8.0, "hours": 12.0, "clinicians": 1}], phone_resolution_share=0.4
    )
    model, result = simulate(sc, 0, 5)
    prog = program(model)
    recs = sorted(prog.records, key=lambda r: r[2])
    assert len(recs) > 20
    for r in recs:
        assert 8 * 60 <= r[2] % DAY < 20 * 60
    assert all(a[3] <= b[2] + 1e-9 for a, b in zip(recs, recs[1:], strict=False))
    screened = {r[0] for r in recs}
    missed = [c for c in model.mh_calls if c.call_id not in screened]
    assert any(8 * 60 <= c.t_received % DAY < 20 * 60 for c in missed)  # busy clinician: not screened
    assert result.summary["triage_not_screened"] == len(missed)
    busy = sum(r[3] - r[2] for r in recs)
    assert busy - 120 <= prog.pool.busy_min <= busy + 1e-6  # only a hold running at the horizon is missing


def test_better_identification_routes_more_calls_to_co_response():
    co = {"programs.co_response": {"shifts": [{"start_hour": 0.0, "hours": 24.0, "units": 2}]}}
    with_triage, _ = simulate(tri_scenario(60, extra=co, phone_resolution_share=0.0), 0, 2)
    without, _ = simulate(with_overrides(small(60), co, label="<test>"), 0, 2)

    def n(model):
        return sum(c.responder == "co_response" for c in model.mh_calls)

    assert n(with_triage) > 1.3 * n(without)
    assert sum(c.disposition == PHONE for c in with_triage.mh_calls) == 0


def test_phone_referrals_reach_the_waitlist():
    model, result = simulate(tri_scenario(90, phone_resolution_share=0.4, phone_referral_share=1.0), 0, 4)
    phone = [c for c in model.mh_calls if c.disposition == PHONE]
    refs = result.referrals
    assert (refs["source"] == "phone_triage").sum() == sum(c.referred for c in phone) > 0


@pytest.mark.parametrize("section", [None, {"enabled": False}])
def test_switched_off_ledger_equals_baseline(section):
    base = small(45)
    _, r0 = simulate(base, 0, 41)
    sc = base if section is None else with_overrides(base, {"programs.triage": section}, label="<test>")
    _, r1 = simulate(sc, 0, 41)
    assert r0.ledger.equals(r1.ledger)


def test_summary_cost_and_utilisation():
    model, result = simulate(tri_scenario(30), 0, 0)
    s = result.summary
    assert s["program_cost"]["triage"] == pytest.approx(30 * 24 * 50.0)
    assert 0 < s["program_staff_utilisation"]["triage"] < 1
    assert result.timeseries["triage_screened"].sum() == len(program(model).records)


def test_bad_section_is_rejected():
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "small_district.toml", {"programs.triage.identification": 1.2})
    assert "programs.triage.identification" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "small_district.toml", {"programs.triage.shifts": []})
    assert "programs.triage.shifts" in str(err.value)
