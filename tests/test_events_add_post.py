"""Programs that launch and grow, the parts added for issue 13 item 10: ``add_post`` (patrol units, mobile crisis
teams, co-response units, triage seats), launches of outreach, stabilisation and CIT, and the pre/post view of the
monthly series. Before the day nothing changes (same calls, no cost); from the day capacity and cost grow."""

from __future__ import annotations

import functools
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SCENARIOS, short

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.outcomes.pre_post import pre_post
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.sim import simulate

DAYS = 60
DAY = 30


def with_timeline(scenario, events):
    return with_overrides(scenario, {"timeline": events}, label="<test>")


@functools.cache
def small(days: int = DAYS):
    return short(load_scenario(SCENARIOS / "small_district.toml"), days)


@functools.cache
def mobile(days: int = DAYS):
    return short(load_scenario(SCENARIOS / "mobile_crisis.toml"), days)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    cats = frame.select_dtypes("category").columns
    return frame.astype(dict.fromkeys(cats, object)).reset_index(drop=True)


def before(ledger: pd.DataFrame, day: float) -> pd.DataFrame:
    """Calls received and closed before the day (a call open across the day may meet the new post)."""
    return plain(ledger[ledger.t_received < day * DAY_MIN - 600])


def prog(model, key):
    return next(p for p in model.programs if p.key == key)


# ---------------------------------------------------------------------------------------------------------------
# add_post
# ---------------------------------------------------------------------------------------------------------------
def test_add_patrol_units_raise_capacity_only_from_the_day():
    ev = {"day": DAY, "type": "add_post", "role": "patrol", "district": "north", "shift": "evening", "count": 2}
    model, res = simulate(with_timeline(small(), [ev]), 0, 3)
    _, base = simulate(small(), 0, 3)
    new = model.officers[-2:]
    assert all(o.district == 0 and o.shift == 1 and o.in_post and not o.cit_trained for o in new)
    assert all(o.awareness == pytest.approx(0.05) for o in new)  # newcomers: new_awareness
    assert res.summary["staff_hires"]["patrol"] == 2
    assert res.summary["staff_in_post_end"]["patrol"] == base.summary["staff_in_post_end"]["patrol"] + 2
    assert res.summary["posts_added"] == [{"day": DAY, "role": "patrol", "where": "north", "count": 2}]
    ids = {o.unique_id for o in new}
    led = res.ledger
    by_new = led[led.unit.isin(ids)]
    assert len(by_new) > 0 and by_new.t_received.min() >= DAY * DAY_MIN - 600
    pd.testing.assert_frame_equal(before(led, DAY), before(base.ledger, DAY))
    assert sum(o.busy_min for o in new) > 0
    series = res.timeseries.set_index("month")["staff_in_post_patrol"]
    assert series.loc[1] == series.loc[2] - 2


def test_a_second_mobile_team_works_and_costs_only_from_the_day():
    ev = {"day": DAY, "type": "add_post", "role": "social_worker", "program": "mobile_crisis"}
    model, res = simulate(with_timeline(mobile(), [ev]), 0, 3)
    _, base = simulate(mobile(), 0, 3)
    mc = prog(model, "mobile_crisis")
    assert len(mc.teams) == 2 and mc.n_active == 2
    new_unit = mc.teams[1].unit
    led = res.ledger
    t = led.t_received[led.unit == new_unit]
    assert len(t) > 0 and t.min() >= DAY * DAY_MIN
    pd.testing.assert_frame_equal(before(led, DAY), before(base.ledger, DAY))
    hours, hours0 = (r.summary["mobile_crisis_team_hours"] for r in (res, base))
    # one team 16 h a day; the second adds 16 h a day from the day (warm-up 0 in these short runs)
    assert hours - hours0 == pytest.approx((DAYS - DAY) * 16, rel=0.01)
    assert res.summary["staff_hires"]["social_worker"] == 1 and res.summary["staff_hires"]["emt"] == 1


@pytest.mark.parametrize("key", ["co_response", "triage"])
def test_pooled_posts_added_cost_from_the_day(key):
    sc = with_overrides(small(), {f"programs.{key}": {}}, label="<test>")
    role = sc.programs.co_response.clinician_role if key == "co_response" else "social_worker"
    ev = {"day": DAY, "type": "add_post", "role": role, "program": key, "program_shift": 0}
    model, res = simulate(with_timeline(sc, [ev]), 0, 3)
    model0, base = simulate(sc, 0, 3)
    p, p0 = prog(model, key), prog(model0, key)
    assert len(p.pool.tokens[0]) == len(p0.pool.tokens[0]) + 1
    length = p.pool.windows[0][1]
    horizon = DAYS * DAY_MIN
    extra = p.pool.funded_minutes(0, horizon) - p0.pool.funded_minutes(0, horizon)
    assert extra == pytest.approx((DAYS - DAY) * length, abs=length)  # one shift more a day from the day
    cost, cost0 = res.summary["program_cost"][key], base.summary["program_cost"][key]
    assert cost > cost0
    if key == "triage":
        assert cost - cost0 == pytest.approx(extra / 60 * sc.programs.triage.clinician_hour)
    new = p.pool.tokens[0][-1]
    assert new.jobs > 0 or key == "co_response"
    assert res.summary["staff_hires"][role] == 1


ADD_BAD = {
    "crpo": ({"role": "crpo", "district": "north"}, "timeline.0.program to be a program whose posts"),
    "outreach": ({"role": "nurse", "program": "outreach"}, "timeline.0.program to be a program whose posts"),
    "no_shift": ({"role": "patrol", "district": "north"}, "to name a district and a shift"),
    "bad_district": ({"role": "patrol", "district": "east", "shift": "day"}, "timeline.0.district"),
    "bad_shift": ({"role": "patrol", "district": "north", "shift": "late"}, "timeline.0.shift"),
    "wrong_role": ({"role": "nurse", "program": "mobile_crisis"}, "timeline.0.role to be"),
    "program_shift": (
        {"role": "social_worker", "program": "mobile_crisis", "program_shift": 0},
        "timeline.0.program_shift",
    ),
    "count": ({"role": "patrol", "district": "north", "shift": "day", "count": 0}, "count"),
}


@pytest.mark.parametrize("case", sorted(ADD_BAD))
def test_bad_add_post_events_are_one_line(case):
    fields, expected = ADD_BAD[case]
    with pytest.raises(ScenarioError) as err:
        with_timeline(mobile(), [{"day": 20, "type": "add_post", **fields}])
    text = str(err.value)
    assert expected in text and "\n" not in text.strip()


def test_add_post_before_the_launch_and_bad_shift_index_are_rejected():
    launch = {"day": 30, "type": "launch_program", "program": "mobile_crisis"}
    add = {"day": 10, "type": "add_post", "role": "social_worker", "program": "mobile_crisis"}
    with pytest.raises(ScenarioError, match="on or after the launch"):
        with_timeline(mobile(), [launch, add])
    tri = with_overrides(small(), {"programs.triage": {}}, label="<test>")
    bad = {"day": 10, "type": "add_post", "role": "social_worker", "program": "triage", "program_shift": 5}
    with pytest.raises(ScenarioError, match=r"program_shift to be an index into programs.triage.shifts"):
        with_timeline(tri, [bad])


def test_cli_bad_add_post_exit_2_one_line_nothing_written(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(
        f'base = "{SCENARIOS / "small_district.toml"}"\nname = "bad"\n\n[[timeline]]\nday = 10\n'
        'type = "add_post"\nrole = "patrol"\ndistrict = "nowhere"\nshift = "day"\n'
    )
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "run", str(f), "--out", str(out)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "timeline.0.district" in lines[0] and "bad.toml" in lines[0]
    assert "Traceback" not in r.stderr and not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# launches of outreach, stabilisation, CIT
# ---------------------------------------------------------------------------------------------------------------
@functools.cache
def echinops(days: int = 90):
    return short(load_scenario(SCENARIOS / "outreach_echinops.toml"), days)


def test_outreach_launch_nothing_before_paid_and_working_after():
    days, day = 90, 45
    sc = with_timeline(echinops(days), [{"day": day, "type": "launch_program", "program": "outreach"}])
    model, res = simulate(sc, 0, 3)
    _, full = simulate(echinops(days), 0, 3)
    o = prog(model, "outreach")
    assert o.cases and min(c.t_report for c in o.cases) >= day * DAY_MIN
    assert o.visits and min(v["t_start"] for v in o.visits) >= day * DAY_MIN
    assert min(t for t, _ in o.station_visits) >= day * DAY_MIN
    assert res.summary["outreach_referrals"] > 0
    assert res.summary["outreach_meetings"] < full.summary["outreach_meetings"]
    assert res.summary["outreach_meetings"] == pytest.approx(full.summary["outreach_meetings"] / 2, abs=1)
    for part in ("nurse", "psychiatrist", "crpo"):
        paid, paid0 = (r.summary["outreach_cost_breakdown"][part] for r in (res, full))
        assert paid == pytest.approx(paid0 * (days - day) / days, rel=0.03), part
    assert res.summary["program_operational_days"]["outreach"]["station_a"] == pytest.approx(days - day)
    # the calls before the launch are those of the city without outreach
    off = with_overrides(echinops(days), {"programs.outreach.enabled": False}, label="<test>")
    _, none = simulate(off, 0, 3)
    pd.testing.assert_frame_equal(before(res.ledger, day), before(none.ledger, day))


def test_outreach_ramp_lowers_referrals_while_it_runs():
    days, day = 120, 30
    ev = {"day": day, "type": "launch_program", "program": "outreach"}
    _, plain_launch = simulate(with_timeline(echinops(days), [ev]), 0, 3)
    ramped = {**ev, "ramp_months": 12.0, "ramp_start_share": 0.2}
    model, res = simulate(with_timeline(echinops(days), [ramped]), 0, 3)
    assert prog(model, "outreach").routing_share(day * DAY_MIN) == pytest.approx(0.2)
    assert res.summary["outreach_referrals"] < 0.6 * plain_launch.summary["outreach_referrals"]


def test_stabilization_launch_opens_the_centre_on_the_day():
    sc = with_timeline(mobile(), [{"day": DAY, "type": "launch_program", "program": "stabilization"}])
    model, res = simulate(sc, 0, 3)
    _, full = simulate(mobile(), 0, 3)
    st = prog(model, "stabilization")
    assert st.admitted_calls and min(t for _, t, _ in st.admitted_calls) >= DAY * DAY_MIN
    cost, cost0 = res.summary["program_cost"]["stabilization"], full.summary["program_cost"]["stabilization"]
    assert cost == pytest.approx(cost0 * (DAYS - DAY) / DAYS)
    led = res.ledger
    t = led.t_received[led.destination == "stabilization"]
    assert len(t) > 0 and t.min() >= DAY * DAY_MIN - 600
    assert res.summary["stabilization_admissions"] < full.summary["stabilization_admissions"]


def test_cit_launch_trains_the_cohort_on_the_day():
    cit = short(load_scenario(SCENARIOS / "cit.toml"), DAYS)
    sc = with_timeline(cit, [{"day": DAY, "type": "launch_program", "program": "cit"}])
    model, res = simulate(sc, 0, 3)
    _, full = simulate(cit, 0, 3)
    _, none = simulate(small(), 0, 3)
    led = res.ledger
    t = led.t_received[led.responder == "cit"]
    assert len(t) > 0 and t.min() >= DAY * DAY_MIN - 600
    assert all(o.cit_trained for o in prog(model, "cit").trained)
    pd.testing.assert_frame_equal(before(led, DAY), before(none.ledger, DAY))
    cost, cost0 = res.summary["program_cost"]["cit"], full.summary["program_cost"]["cit"]
    n = res.summary["cit_trained_officers"]
    cfg = cit.programs.cit
    officer_hour = cit.costs.officer_hour
    refresher = n * cfg.refresher_hours_per_year * officer_hour / 365.0
    assert cost == pytest.approx(cost0 - refresher * DAY)


def test_cit_courses_before_the_launch_train_officers_who_use_it():
    cit = short(load_scenario(SCENARIOS / "cit.toml"), DAYS)
    events = [{"day": 5, "type": "cit_training", "seats_per_quarter": 6},
              {"day": DAY, "type": "launch_program", "program": "cit"}]  # fmt: skip
    model, res = simulate(with_timeline(cit, events), 0, 3)
    assert model.timeline.cit_trained_by_events == 6


def test_ramp_refused_for_programs_that_do_not_read_it():
    ev = {"day": 20, "type": "launch_program", "program": "stabilization", "ramp_months": 2.0,
          "ramp_start_share": 0.5}  # fmt: skip
    with pytest.raises(ScenarioError, match="ramp_months to be 0 for 'stabilization'"):
        with_timeline(mobile(), [ev])


# ---------------------------------------------------------------------------------------------------------------
# the pre/post view
# ---------------------------------------------------------------------------------------------------------------
def test_pre_post_view_is_the_mean_of_the_monthly_rows():
    sc = short(load_scenario(SCENARIOS / "mobile_crisis.toml"), 240, warmup=30)
    sc = with_timeline(sc, [{"day": 105, "type": "launch_program", "program": "mobile_crisis"}])
    _, res = simulate(sc, 0, 3)
    view = pre_post(res.timeseries, res.ledger, sc)
    s = res.timeseries.set_index("month")
    assert view["event_month"] == 4  # days 91-120
    assert view["months_before"] == [2, 3] and view["months_after"] == [5, 6, 7, 8]
    for col in ("handled_by_mobile_crisis", "mh_calls", "handled_by_patrol", "arrests", "cost_total"):
        m = view["metrics"][col]
        assert m["before"] == pytest.approx(s.loc[[2, 3], col].mean())
        assert m["after"] == pytest.approx(s.loc[[5, 6, 7, 8], col].mean())
        assert m["change"] == pytest.approx(m["after"] - m["before"])
    assert view["metrics"]["handled_by_mobile_crisis"]["before"] == 0
    led = res.ledger[res.ledger.mh]
    in_m2 = led[(led.t_received >= 30 * DAY_MIN) & (led.t_received < 60 * DAY_MIN)]
    in_m3 = led[(led.t_received >= 60 * DAY_MIN) & (led.t_received < 90 * DAY_MIN)]
    hours = (in_m2.officer_min.sum() + in_m3.officer_min.sum()) / 60 / 2
    assert view["metrics"]["officer_hours_mh"]["before"] == pytest.approx(hours)
    assert "paired" in view["note"]
    assert pre_post(res.timeseries, res.ledger, short(load_scenario(SCENARIOS / "mobile_crisis.toml"), 240)) is None


def test_run_json_carries_the_pre_post_view(tmp_path):
    f = tmp_path / "launch.toml"
    f.write_text(
        f'base = "{SCENARIOS / "outreach_echinops.toml"}"\nname = "l"\n[simulation]\nhorizon_days = 120\n'
        "[[timeline]]\nday = 60\ntype = \"launch_program\"\nprogram = \"outreach\"\n"
    )
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "run", str(f), "--json"], capture_output=True,
                       text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    import json

    view = json.loads(r.stdout)["pre_post"]
    assert view["event"]["program"] == "outreach" and view["months_before"] == [2] and view["months_after"] == [3, 4]


def test_pre_post_of_an_added_team_leaves_out_spread_costs():
    sc = with_timeline(mobile(150), [{"day": 60, "type": "add_post", "role": "emt", "program": "mobile_crisis"}])
    _, res = simulate(sc, 0, 3)
    view = pre_post(res.timeseries, res.ledger, sc)
    assert view["event"]["type"] == "add_post" and view["months_before"] == [1, 2]
    assert view["months_after"] == [3, 4, 5]
    assert "cost_total" not in view["metrics"] and "program_cost" in view["note"]
    s = res.timeseries.set_index("month")
    assert view["metrics"]["unserved_busy"]["after"] == pytest.approx(s.loc[[3, 4, 5], "unserved_busy"].mean())


# ---------------------------------------------------------------------------------------------------------------
# ramp-ups of co-response and triage (their own uniforms, keyed by call id)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["co_response", "triage"])
def test_pooled_programs_ramp_up_after_their_launch(key):
    days, day = 90, 10
    sc = with_overrides(small(days), {f"programs.{key}": {}}, label="<test>")
    ev = {"day": day, "type": "launch_program", "program": key}
    model0, plain_launch = simulate(with_timeline(sc, [ev]), 0, 3)
    ramped = {**ev, "ramp_months": 12.0, "ramp_start_share": 0.2}
    model, res = simulate(with_timeline(sc, [ramped]), 0, 3)
    p, p0 = prog(model, key), prog(model0, key)
    assert p.routing_share(day * DAY_MIN) == pytest.approx(0.2) and p0.ramp is None
    if key == "co_response":
        led = res.ledger
        held = led[led.unserved_reason == "dispatcher_bias"]
        assert len(held) > 0 and held.t_received.min() >= day * DAY_MIN
        n, n0 = ((r.ledger.responder == "co_response").sum() for r in (res, plain_launch))
        assert 0 < n < 0.7 * n0
        assert res.summary["co_response_unserved_dispatcher_bias"] > 0
        assert "co_response_unserved_dispatcher_bias" not in plain_launch.summary
    else:
        assert 0 < p.screened < 0.7 * p0.screened


def test_ramp_uniforms_are_the_calls_own_and_nested():
    sc = with_overrides(small(), {"programs.triage": {}}, label="<test>")
    sc = with_timeline(sc, [{"day": 0, "type": "launch_program", "program": "triage"}])
    from types import SimpleNamespace

    from crisis_sim.sim import CrisisModel

    p = prog(CrisisModel(sc, replication=0, root_seed=3), "triage")
    calls = [SimpleNamespace(call_id=k) for k in range(0, 12_000, 3)]  # spans three blocks of uniforms
    admitted = []
    for share in (0.2, 0.5, 0.9):
        p.start_ramp(0.0, share, 1e12)  # the share stays at its start for the test
        admitted.append({c.call_id for c in calls if p.ramp_admits(c)})
        assert len(admitted[-1]) / len(calls) == pytest.approx(share, abs=0.03)
    assert admitted[0] < admitted[1] < admitted[2]
    p.start_ramp(0.0, 1.0, 0.0)
    assert p.ramp is None and all(p.ramp_admits(c) for c in calls)
