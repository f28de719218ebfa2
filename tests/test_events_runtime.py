"""Timeline events at run time: a no-op timeline changes nothing, each event fires once at its time, suspended
programs take no cases, and a nurse-post cut lowers outreach visits while the calls before it stay identical (CRN)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, cached_run, short, small

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.scenario import load_scenario, with_overrides

CUT_DAY = 120


def with_timeline(scenario, events):
    return with_overrides(scenario, {"timeline": events}, label="<test>")


@functools.cache
def echinops(days: int = 200):
    return short(load_scenario(SCENARIOS / "outreach_echinops.toml"), days, warmup=0)


def run(scenario):
    """Cached run (the session's cache, conftest.cached_run)."""
    return cached_run(scenario)


def test_no_op_timeline_is_bit_identical():
    base = small(60)
    noted = with_timeline(base, [{"day": 10, "type": "note"}, {"day": 30.5, "type": "note", "label": "x"}])
    m0, r0 = run(base)
    m1, r1 = run(noted)
    pd.testing.assert_frame_equal(r0.ledger, r1.ledger, check_exact=True)
    assert [(t, i) for t, i, _ in m1.timeline.fired] == [(10 * DAY_MIN, 0), (30.5 * DAY_MIN, 1)]
    assert r0.summary["program_operational_days"] == r1.summary["program_operational_days"]


def test_each_event_fires_once_at_its_time():
    events = [
        {"day": 5, "type": "vacancy", "share": 0.2},
        {"day": 7, "type": "absence", "share": 0.1},
        {"day": 9, "type": "turnover", "annual_rate": 2.0, "hiring_lag_days": 5, "training_days": 0},
        {"day": 11, "type": "lose_patrol", "count": 2, "duration_days": 10},
        {"day": 13, "type": "demand_surge", "factor": 1.5},
        {"day": 17, "type": "ed_boarding", "factor": 2.0},
        {"day": 19, "type": "cit_training", "seats_per_quarter": 3},
        {"day": 21, "type": "demand_trend", "annual_change": 0.1},
        {"day": 23, "type": "note"},
    ]
    model, _ = run(with_timeline(small(40), events))
    fired = model.timeline.fired
    assert sorted(i for _, i, _ in fired) == list(range(len(events)))  # each exactly once
    for t, i, kind in fired:
        assert t == events[i]["day"] * DAY_MIN and kind == events[i]["type"]


def test_staffing_events_change_who_is_in_post():
    events = [{"day": 5, "type": "vacancy", "share": 0.25}, {"day": 20, "type": "vacancy", "share": 0.0}]
    model, res = run(with_timeline(small(40), events))
    ts = model.datacollector.get_model_vars_dataframe()
    n = len(model.officers)
    assert ts["staff_in_post_patrol"].iloc[3] == n
    assert ts["staff_in_post_patrol"].iloc[10] == n - round(0.25 * n)
    assert ts["staff_in_post_patrol"].iloc[30] == n
    assert res.summary["staff_hires"]["patrol"] == round(0.25 * n)  # refilled posts are new people
    # Vacant posts take no calls while vacant.
    vacant_ids = {o.unique_id for o in model.officers if o.awareness == 0.05}
    led = res.ledger
    window = led[(led["t_dispatched"] > 5 * DAY_MIN + 600) & (led["t_dispatched"] < 20 * DAY_MIN)]
    assert not set(window["unit"].astype(int)) & vacant_ids


def test_suspended_program_takes_no_cases():
    sc = short(load_scenario(SCENARIOS / "mobile_crisis.toml"), 60)
    model, res = run(with_timeline(sc, [{"day": 20, "type": "end_program", "program": "mobile_crisis"}]))
    led = res.ledger
    served = led[led["responder"].astype(str) == "mobile_crisis"]
    assert len(served[served["t_received"] < 20 * DAY_MIN]) > 0
    assert len(served[served["t_received"] >= 20 * DAY_MIN]) == 0
    assert (led.loc[led["t_received"] >= 20 * DAY_MIN, "unserved_reason"].astype(str) == "suspended").any()
    assert res.summary["program_operational_days"]["mobile_crisis"] == {"north": 20.0, "south": 20.0}
    assert res.summary["program_suspensions"]["mobile_crisis"] == {"north": 1, "south": 1}
    daily = model.datacollector.get_model_vars_dataframe()["program_active_mobile_crisis"]
    assert daily.iloc[19] == 1.0 and daily.iloc[21] == 0.0 and daily.iloc[-1] == 0.0


def test_crpo_departure_suspends_outreach_in_that_district_until_replaced():
    ev = {"day": 40, "type": "champion_departs", "role": "crpo", "district": "station_b",
          "replacement_after_days": 60, "replacement_strength": 0.5}  # fmt: skip
    model, res = run(with_timeline(echinops(), [ev]))
    outreach = next(p for p in model.programs if p.key == "outreach")
    b = 1
    referred = [c.t_report for c in outreach.cases if c.district == b]
    assert any(t < 40 * DAY_MIN for t in referred)
    assert not any(40 * DAY_MIN <= t < 100 * DAY_MIN for t in referred)
    days = res.summary["program_operational_days"]["outreach"]
    assert days == {"station_a": 200.0, "station_b": 140.0, "station_c": 200.0}
    assert res.summary["program_suspensions"]["outreach"]["station_b"] == 1
    assert model.crpos[b].champion_strength == pytest.approx(0.5 * outreach.config.crpo_champion_strength)


def test_nurse_cut_lowers_visits_and_keeps_the_calls_before_it():
    base = echinops()
    cut = with_timeline(base, [{"day": CUT_DAY, "type": "cut_post", "role": "nurse", "program": "outreach"}])
    m0, r0 = run(base)
    m1, r1 = run(cut)
    t_cut = CUT_DAY * DAY_MIN
    # Common random numbers: every call received before the cut is the same call, handled the same way.
    cols = ["call_id", "mh", "resident", "crisis", "district", "t_received", "risk", "assessed_risk", "identified_mh",
            "weapon"]  # fmt: skip
    before0 = r0.ledger[r0.ledger["t_received"] < t_cut][cols].reset_index(drop=True)
    before1 = r1.ledger[r1.ledger["t_received"] < t_cut][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(before0, before1, check_exact=True)

    # Visits per day, measured from the runs' visit records: the same before the cut, lower after it.
    def per_day(model, lo, hi):
        outreach = next(p for p in model.programs if p.key == "outreach")
        return sum(1 for v in outreach.visits if lo <= v["t_start"] < hi) / ((hi - lo) / DAY_MIN)

    lo, hi = 60 * DAY_MIN, m0.horizon_min
    assert per_day(m0, lo, t_cut) == per_day(m1, lo, t_cut) > 0
    after_cut_start = t_cut + 14 * DAY_MIN  # the week's budget already charged may still run
    assert per_day(m1, after_cut_start, hi) < 0.2 * per_day(m0, after_cut_start, hi)
    assert r1.summary["staff_in_post_end"]["nurse"] == 0
    # The pathway winds down: open cases close, clients in treatment go to regular services, slots are freed.
    outreach = next(p for p in m1.programs if p.key == "outreach")
    assert outreach.caseload.count == 0 and not outreach.caseload.queue
    assert r1.summary["outreach_cases_wound_down"] > 0
    assert all(c.status != "referred" for c in outreach.cases)
    assert not any(c.t_report >= t_cut for c in outreach.cases)  # suspended: no new referrals
    assert (
        r1.timeseries["staff_in_post_nurse"].iloc[-1] == 0
        and r0.timeseries["staff_in_post_nurse"].iloc[-1] == 1
    )


def test_surge_keeps_earlier_calls_and_adds_later_ones():
    base = small(60)
    surged = with_timeline(base, [{"day": 30, "type": "demand_surge", "factor": 2.0}])
    _, r0 = run(base)
    _, r1 = run(surged)
    t = 30 * DAY_MIN
    mh0, mh1 = r0.ledger[r0.ledger["mh"]], r1.ledger[r1.ledger["mh"]]
    cols = ["resident", "crisis", "t_received"]
    pd.testing.assert_frame_equal(
        mh0[mh0["t_received"] < t][cols].reset_index(drop=True),
        mh1[mh1["t_received"] < t][cols].reset_index(drop=True),
    )
    n0, n1 = (mh0["t_received"] >= t).sum(), (mh1["t_received"] >= t).sum()
    assert n1 > 1.5 * n0
    other0 = r0.ledger[~r0.ledger["mh"]]["t_received"].to_numpy()
    other1 = r1.ledger[~r1.ledger["mh"]]["t_received"].to_numpy()
    m = min(len(other0), len(other1))
    assert np.array_equal(other0[:m], other1[:m])  # non-MH arrivals untouched


def test_ed_boarding_lengthens_ed_waits():
    base = small(60)
    worse = with_timeline(base, [{"day": 0, "type": "ed_boarding", "factor": 3.0}])
    _, r0 = run(base)
    _, r1 = run(worse)
    assert r1.summary["ed_wait_hours"] > r0.summary["ed_wait_hours"]


def test_consent_change_sets_the_program_parameters():
    sc = with_timeline(echinops(60), [{"day": 10, "type": "consent_change", "consent_delay_days": 21.0,
                                       "consent_at_mean_trust": 0.2}])  # fmt: skip
    model, _ = run(sc)
    outreach = next(p for p in model.programs if p.key == "outreach")
    assert outreach.consent_delay_days == 21.0
    assert outreach.consent_probability(model.cfg.population.trust_services_mean) == pytest.approx(0.2)


def test_grant_end_blended_keeps_part_single_source_ends():
    blended = load_scenario(
        SCENARIOS / "grant_ends.toml",
        {"simulation.horizon_days": 120, "timeline.0.day": 60, "timeline.1.day": 60},
    )
    single = with_overrides(blended, {"timeline.0.share": 1.0, "timeline.1.share": 1.0}, label="<test>")
    mb, rb = run(blended)
    ms, rs = run(single)
    mc = {m: next(p for p in m.programs if p.key == "mobile_crisis") for m in (mb, ms)}
    assert mc[mb].n_active == 1 and not mc[mb].ended
    assert mc[ms].ended
    assert rb.summary["staff_in_post_end"]["social_worker"] == 1
    assert rs.summary["staff_in_post_end"]["social_worker"] == 0
    assert rs.summary["program_operational_days"]["mobile_crisis"]["north"] == pytest.approx(60 - 30)
    assert rb.summary["program_cost"]["mobile_crisis"] > rs.summary["program_cost"]["mobile_crisis"]


def test_series_columns_present_without_programs():
    _, res = run(small(60))
    for col in (
        "outreach_visits",
        "outreach_referrals",
        "repeat_calls",
        "arrests",
        "ed_transports",
        "staff_in_post_patrol",
        "staff_in_post_nurse",
        "program_active_outreach",
        "mean_officer_awareness",
    ):
        assert col in res.timeseries.columns, col
    assert (res.timeseries["outreach_visits"] == 0).all()
    # 60 days of small_district have repeat MH calls (seed 0: 67), and every repeat is an MH call
    assert 0 < res.timeseries["repeat_calls"].sum() <= res.ledger["mh"].sum()


@pytest.mark.parametrize("name,responder", [("co_response", "co_response")])
def test_ended_program_takes_no_calls(name, responder):
    # (an ended CIT still lets trained officers use their training: tests/test_events_programs.py)
    sc = short(load_scenario(SCENARIOS / f"{name}.toml"), 50)
    model, res = run(with_timeline(sc, [{"day": 25, "type": "end_program", "program": name}]))
    led = res.ledger
    after = led[led["t_received"] >= 25 * DAY_MIN]
    before = led[led["t_received"] < 25 * DAY_MIN]
    column = "responder" if responder else "program"
    value = responder or name
    assert (before[column].astype(str) == value).any()
    assert not (after[column].astype(str) == value).any()
    assert res.summary["program_operational_days"][name]["north"] == 25.0


def test_a_larger_vacancy_share_keeps_the_posts_already_vacant():
    events = [{"day": 5, "type": "vacancy", "share": 0.1}, {"day": 10, "type": "vacancy", "share": 0.3}]
    model, _ = run(with_timeline(small(12), events))
    n = len(model.officers)
    assert sum(not o.in_post for o in model.officers) == round(0.3 * n)
    assert model.timeline.hires["patrol"] == 0  # no post left vacancy, so nobody new was hired
