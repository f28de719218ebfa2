"""Co-response: both people busy through hand-off, shifts and districts respected, unserved reasons, switch-off."""

from __future__ import annotations

import math

import pytest
from conftest import SCENARIOS, short, small
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import D_INDEX, INVOLUNTARY, VOLUNTARY
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.sim import simulate

DAY = 24 * 60


def co_scenario(days: int = 60, **section):
    return with_overrides(small(days), {"programs.co_response": section}, label="<test>")


def program(model):
    return next(p for p in model.programs if p.key == "co_response")


def in_window(t: float, start_h: float, hours: float) -> bool:
    return ((t % DAY) - round(start_h * 60)) % DAY < round(hours * 60)


@pytest.mark.parametrize("mode", ["ride_along", "meet_at_scene"])
def test_both_people_busy_for_the_whole_encounter_including_handoff(mode):
    sc = co_scenario(90, mode=mode, shifts=[{"start_hour": 10.0, "hours": 12.0, "units": 2}])
    model, result = simulate(sc, 0, 4)
    prog = program(model)
    calls = {c.call_id: c for c in model.mh_calls}
    jobs = [r for r in prog.records if r[0] == "call"]
    assert len(jobs) >= 20
    transported = 0
    for _, call_id, _unit, t0, t1, officer_id, t_officer in jobs:
        c = calls[call_id]
        assert c.responder == "co_response" and c.program == "co_response"
        assert t1 == c.t_cleared  # released only when the call, hand-off included, ended
        assert c.t_dispatched == t_officer and c.unit == officer_id
        assert c.officer_min == pytest.approx(t1 - t_officer)
        assert t0 == t_officer if mode == "ride_along" else t0 <= t_officer
        if c.disposition in (VOLUNTARY, INVOLUNTARY):
            transported += 1
            assert t1 - c.t_arrived > 0 and not math.isnan(c.ed_wait)
    assert transported > 0
    # a unit (clinician, and riding along its officer) never works two jobs at once; both busy the same minutes
    for token in (t for team in prog.pool.tokens for t in team):
        mine = sorted((r[3], r[4]) for r in prog.records if r[2] == token.idx)
        assert all(a[1] <= b[0] + 1e-9 for a, b in zip(mine, mine[1:], strict=False))
        clinician = token.people[-1]
        assert clinician.busy_min == pytest.approx(sum(b - a for a, b in mine))
        if mode == "ride_along":
            assert token.people[0].busy_min == pytest.approx(clinician.busy_min)
    # every officer (dedicated or patrol) is on one job at a time, from dispatch to clearance, across all calls
    led = result.ledger.dropna(subset=["t_dispatched", "t_cleared"])
    for _, g in led.sort_values("t_dispatched").groupby("unit"):
        assert (g["t_dispatched"].to_numpy()[1:] >= g["t_cleared"].to_numpy()[:-1] - 1e-9).all()
    assert (led["responder"] == "co_response").sum() == len(jobs)


def test_meet_at_scene_uses_a_patrol_officer_and_the_clinician_s_own_travel():
    ride, r_ride = simulate(co_scenario(60, mode="ride_along"), 0, 9)
    meet, r_meet = simulate(co_scenario(60, mode="meet_at_scene"), 0, 9)

    def busy(model):
        recs = [r for r in program(model).records if r[0] == "call"]
        return sum(r[4] - r[3] for r in recs) / len(recs)

    assert busy(meet) > busy(ride)
    patrol_ids = {o.unique_id for o in meet.officers}
    assert all(r[5] in patrol_ids for r in program(meet).records if r[0] == "call")
    assert not any(r[5] in patrol_ids for r in program(ride).records if r[0] == "call")
    # the clinician seat only: the patrol officer's minutes are in the police cost already
    assert r_meet.summary["program_cost"]["co_response"] == pytest.approx(60 * 8 * 55.0)
    assert r_ride.summary["program_cost"]["co_response"] > r_meet.summary["program_cost"]["co_response"]


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    start=st.sampled_from([0.0, 6.5, 14.0, 20.0, 22.0, 23.5]),
    hours=st.sampled_from([2.0, 8.0, 10.0, 12.0]),
    district=st.sampled_from(["north", "south"]),
)
def test_units_work_only_in_their_shift_hours_and_districts(seed, start, hours, district):
    sc = co_scenario(25, shifts=[{"start_hour": start, "hours": hours, "units": 1}], districts=[district])
    model, _ = simulate(sc, 0, seed)
    prog = program(model)
    d = [x.name for x in sc.city.districts].index(district)
    for rec in prog.records:
        assert in_window(rec[3], start, hours), (rec[0], rec[3] % DAY)
    for c in model.mh_calls:
        if c.responder == "co_response":
            assert c.district == d and in_window(c.t_dispatched, start, hours)
        elif c.unserved_reason == "off_hours":
            assert c.district == d and not in_window(c.t_received, start, hours)
        elif c.unserved_reason == "busy":
            assert c.district == d and in_window(c.t_received, start, hours)
        elif c.unserved_reason == "misidentified":
            assert c.district == d and not c.identified and in_window(c.t_received, start, hours)
        if c.district != d:
            assert not c.eligible and c.responder != "co_response"


def test_eligibility_rules_and_reasons():
    sc = co_scenario(90, max_assessed_risk="medium", weapon_calls=False)
    model, _ = simulate(sc, 0, 6)
    served = [c for c in model.mh_calls if c.responder == "co_response"]
    assert served and all(c.assessed_risk <= 1 and not c.weapon and c.identified for c in served)
    excluded = [c for c in model.mh_calls if c.assessed_risk == 2 or c.weapon]
    assert excluded and not any(c.eligible or c.responder == "co_response" for c in excluded)
    reasons = {c.unserved_reason for c in model.mh_calls if c.eligible and c.responder != "co_response"}
    assert reasons <= {"busy", "off_hours", "misidentified"} and {"off_hours", "misidentified"} <= reasons
    s = program(model).summary()
    counted = [c for c in model.mh_calls if c.unserved_reason == "off_hours"]
    assert s["co_response_unserved_off_hours"] == len(counted)


def test_follow_up_contacts_come_after_the_encounter_and_may_refer():
    sc = co_scenario(120, follow_up_share=1.0, follow_up_referral_share=0.5)
    model, result = simulate(sc, 0, 8)
    prog = program(model)
    calls = {c.call_id: c for c in model.mh_calls}
    fus = [r for r in prog.records if r[0] == "follow_up"]
    assert len(fus) > 10
    for _, call_id, _unit, t0, t1, _officer, _t in fus:
        assert calls[call_id].program == "co_response"
        assert t0 >= calls[call_id].t_cleared + sc.programs.co_response.follow_up_delay_days * DAY - 1e-6
        assert t1 > t0
    assert 0 < prog.follow_up_referrals <= len(fus)
    refs = result.referrals
    assert (refs["source"] == "co_response_follow_up").sum() == prog.follow_up_referrals
    assert result.timeseries["co_response_follow_ups"].sum() == len(fus)


def test_disposition_odds_follow_bailey_and_blais():
    model, _ = simulate(co_scenario(2), 0, 0)
    dm = model.dispositions
    p = dm.probabilities("patrol", 1, False, True)
    q = dm.probabilities("co_response", 1, False, True)

    def odds(x):
        return x / (1 - x)

    a = D_INDEX["arrest"]
    assert odds(q[a]) / odds(p[a]) == pytest.approx(0.48, rel=0.15)
    assert q[D_INDEX["referral"]] > p[D_INDEX["referral"]]
    assert (
        q[D_INDEX["voluntary_transport"]] + q[INVOLUNTARY]
        < p[D_INDEX["voluntary_transport"]] + p[INVOLUNTARY]
    )


@pytest.mark.slow
def test_fewer_arrests_when_units_take_most_identified_calls():
    """Paired runs (same seed): arrests fall and referrals rise among calls the units attend."""
    sc = co_scenario(180, shifts=[{"start_hour": 0.0, "hours": 24.0, "units": 3}])
    _, on = simulate(sc, 0, 1)
    _, off = simulate(small(180), 0, 1)
    assert on.summary["co_response_calls"] > 150
    assert on.summary["arrests"] < off.summary["arrests"]
    assert on.summary["referrals"] > off.summary["referrals"]


@pytest.mark.parametrize("section", [None, {"enabled": False}])
def test_switched_off_ledger_equals_baseline(section):
    base = small(45)
    _, r0 = simulate(base, 0, 31)
    sc = base if section is None else with_overrides(base, {"programs.co_response": section}, label="<test>")
    _, r1 = simulate(sc, 0, 31)
    assert r0.ledger.equals(r1.ledger)


def test_summary_cost_and_utilisation():
    sc = short(co_scenario(60), 60, warmup=10)
    model, result = simulate(sc, 0, 2)
    s = result.summary
    prog = program(model)
    staffed_h = 50 * 8.0  # one unit, 8 h a day, 50 counted days
    counted = sum(
        c.officer_min for c in model.mh_calls if c.program == "co_response" and c.t_received >= 10 * DAY
    )
    expected = staffed_h * (55.0 + sc.costs.officer_hour) - counted / 60 * sc.costs.officer_hour
    assert s["program_cost"]["co_response"] == pytest.approx(expected)
    assert 0 < s["program_staff_utilisation"]["co_response"] < 1
    # on duty for the rostered 8 h a day, plus overruns while finishing a call after the shift's end
    assert 60 * 8 * 60 <= prog.pool.duty_min <= 60 * 8 * 60 * 1.15


def test_unknown_district_and_bad_shift_are_rejected():
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "co_response.toml", {"programs.co_response.districts": ["north", "uptown"]})
    assert "programs.co_response.districts" in str(err.value) and "uptown" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "co_response.toml", {"programs.co_response.shifts.0.start_hour": 24.0})
    assert "programs.co_response.shifts.0.start_hour" in str(err.value)


def test_scenario_file_runs():
    sc = short(load_scenario(SCENARIOS / "co_response.toml"), 20)
    _, result = simulate(sc, 0, 0)
    assert result.summary["co_response_calls"] > 0
