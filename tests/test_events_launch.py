"""Programs that launch and grow (issue 13, item 10): launch_program, expand_program, restore_post.

Before its launch a program has no staff in post, takes no call and costs nothing; after, it does; expand opens more
districts; restore brings a cut post back; random launch/expand/restore timelines keep the invariants."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from conftest import SCENARIOS, short
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.programs import PROGRAMS
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.timeline.launch import LAUNCHABLE
from crisis_sim.sim import CrisisModel, simulate

DAYS = 60
LAUNCH = 30


@functools.cache
def mobile(days: int = DAYS, districts: tuple[str, ...] | None = None):
    sc = short(load_scenario(SCENARIOS / "mobile_crisis.toml"), days)
    if districts is not None:
        sc = with_overrides(sc, {"programs.mobile_crisis.districts": list(districts)}, label="<test>")
    return sc


def with_timeline(scenario, events):
    return with_overrides(scenario, {"timeline": events}, label="<test>")


def mc_of(model):
    return next(p for p in model.programs if p.key == "mobile_crisis")


def test_launchable_list_matches_the_programs():
    assert sorted(LAUNCHABLE) == sorted(p.key for p in PROGRAMS if p.launchable)


def test_launched_team_takes_no_call_and_costs_nothing_before_its_launch():
    sc = with_timeline(mobile(), [{"day": LAUNCH, "type": "launch_program", "program": "mobile_crisis"}])
    model, res = simulate(sc, 0, 3)
    led = res.ledger
    served = led[led.responder == "mobile_crisis"]
    assert len(served) > 0
    assert served.t_received.min() >= LAUNCH * DAY_MIN
    assert [(t, kind) for t, _, kind in model.timeline.fired] == [(LAUNCH * DAY_MIN, "launch_program")]
    mc = mc_of(model)
    # duty minutes only after the launch: at most (DAYS - LAUNCH) days x 16 team-hours
    assert 0 < mc.duty_min <= (DAYS - LAUNCH) * 16 * 60 + 1e-6
    _, full = simulate(mobile(), 0, 3)
    assert 0 < res.summary["program_cost"]["mobile_crisis"] < full.summary["program_cost"]["mobile_crisis"]
    days = res.summary["program_operational_days"]["mobile_crisis"]
    assert all(abs(v - (DAYS - LAUNCH)) < 1e-6 for v in days.values())


def test_staff_are_out_of_post_until_the_launch():
    sc = with_timeline(mobile(), [{"day": LAUNCH, "type": "launch_program", "program": "mobile_crisis"}])
    model = CrisisModel(sc, replication=0, root_seed=3)
    mc = mc_of(model)
    while model.running and model.env.now < LAUNCH * DAY_MIN - 1:
        model.step()
        assert mc.on_duty == 0 and not any(m.in_post for t in mc.teams for m in t.members)
        assert mc.is_suspended(0) and mc.is_suspended(1)
    while model.running:
        model.step()
    assert all(m.in_post for t in mc.teams for m in t.members)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings (the two runs' category lists differ), index reset."""
    cats = frame.select_dtypes("category").columns
    return frame.astype(dict.fromkeys(cats, object)).reset_index(drop=True)


def test_calls_before_the_launch_are_those_of_a_run_without_the_team():
    """Common random numbers: before the launch the ledger is, bit for bit, that of a run whose team never works
    (ended on day 0); after it, the two differ."""
    sc = with_timeline(mobile(), [{"day": LAUNCH, "type": "launch_program", "program": "mobile_crisis"}])
    never = with_timeline(mobile(), [{"day": 0, "type": "end_program", "program": "mobile_crisis"}])
    _, a = simulate(sc, 1, 5)
    _, b = simulate(never, 1, 5)
    cut = LAUNCH * DAY_MIN
    before_a, before_b = (plain(r.ledger[r.ledger.t_received < cut]) for r in (a, b))
    pd.testing.assert_frame_equal(before_a, before_b, check_exact=True)
    assert (a.ledger.responder == "mobile_crisis").sum() > 0 == (b.ledger.responder == "mobile_crisis").sum()


def test_launch_in_one_district_then_expand():
    sc = with_timeline(
        mobile(),
        [
            {"day": 10, "type": "launch_program", "program": "mobile_crisis", "districts": ["north"]},
            {"day": 35, "type": "expand_program", "program": "mobile_crisis", "districts": ["south"]},
        ],
    )
    model, res = simulate(sc, 0, 3)
    led = res.ledger
    served = led[led.responder == "mobile_crisis"]
    north = served[served.district == "north"]
    south = served[served.district == "south"]
    assert len(north) > 0 and north.t_received.min() >= 10 * DAY_MIN
    assert len(south) > 0 and south.t_received.min() >= 35 * DAY_MIN
    days = res.summary["program_operational_days"]["mobile_crisis"]
    assert abs(days["north"] - (DAYS - 10)) < 1e-6 and abs(days["south"] - (DAYS - 35)) < 1e-6


def test_ramp_up_routes_a_rising_share_and_is_nested():
    """With a ramp the team takes fewer calls early on; every call it takes is one it takes without the ramp
    (the ramp reads the dispatcher-bias latent, so the routed sets are nested)."""
    base = [{"day": 5, "type": "launch_program", "program": "mobile_crisis"}]
    ramp = [{**base[0], "ramp_months": 6.0, "ramp_start_share": 0.2}]
    model, res_ramp = simulate(with_timeline(mobile(90), ramp), 0, 3)
    _, res_full = simulate(with_timeline(mobile(90), base), 0, 3)
    assert mc_of(model).routing_share(5 * DAY_MIN) == pytest.approx(0.2)
    assert mc_of(model).routing_share(5 * DAY_MIN + 3 * 30.4 * DAY_MIN) == pytest.approx(0.6, abs=0.01)
    n_ramp = (res_ramp.ledger.responder == "mobile_crisis").sum()
    n_full = (res_full.ledger.responder == "mobile_crisis").sum()
    assert 0 < n_ramp < 0.8 * n_full
    assert (res_ramp.ledger.unserved_reason == "dispatcher_bias").sum() > (
        res_full.ledger.unserved_reason == "dispatcher_bias"
    ).sum()


def test_restore_post_brings_a_cut_team_member_back():
    events = [
        {"day": 10, "type": "cut_post", "role": "emt", "program": "mobile_crisis"},
        {"day": 30, "type": "restore_post", "role": "emt", "program": "mobile_crisis"},
    ]
    model, res = simulate(with_timeline(mobile(), events), 0, 3)
    led = res.ledger
    served = led[led.responder == "mobile_crisis"].t_received
    assert ((served >= 10 * DAY_MIN) & (served < 30 * DAY_MIN)).sum() == 0
    assert (served >= 30 * DAY_MIN).sum() > 0 and (served < 10 * DAY_MIN).sum() > 0
    assert model.timeline.hires["emt"] == 1
    assert all(m.in_post for t in mc_of(model).teams for m in t.members)


def test_restore_post_of_patrol_brings_officers_back_untrained():
    sc = short(load_scenario(SCENARIOS / "small_district.toml"), 40)
    events = [
        {"day": 5, "type": "cut_post", "role": "patrol", "district": "north", "count": 3},
        {"day": 20, "type": "restore_post", "role": "patrol", "district": "north", "count": 2},
    ]
    model = CrisisModel(with_timeline(sc, events))
    tl = model.timeline
    n = len(tl.posts("patrol"))
    while model.running and model.env.now < 10 * DAY_MIN:
        model.step()
    assert tl.in_post_count("patrol") == n - 3
    while model.running:
        model.step()
    assert tl.in_post_count("patrol") == n - 1 == sum(o.in_post for o in model.officers)


BAD = {
    "unknown_program": ({"type": "launch_program", "program": "nope"}, "timeline.0.program"),
    "not_in_scenario": ({"type": "launch_program", "program": "outreach"}, "timeline.0.program"),
    "after_horizon": ({"type": "launch_program", "program": "mobile_crisis", "day": 400}, "timeline.0.day"),
    "unknown_district": (
        {"type": "launch_program", "program": "mobile_crisis", "districts": ["east"]},
        "timeline.0.districts.0",
    ),
    "bad_share": (
        {"type": "launch_program", "program": "mobile_crisis", "ramp_start_share": 1.5},
        "ramp_start_share",
    ),
    "expand_without_launch": (
        {"type": "expand_program", "program": "mobile_crisis", "districts": ["north"]},
        "launch_program event before it",
    ),
    "ramp_not_read": (
        {"type": "launch_program", "program": "stabilization", "ramp_months": 3, "ramp_start_share": 0.5},
        "ramp_months to be 0 for 'stabilization'",
    ),
    "restore_never_cut": ({"type": "restore_post", "role": "emt"}, "to follow a cut_post"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_launch_events_are_one_line(case):
    event, expected = BAD[case]
    event = {"day": 20, **event}
    with pytest.raises(ScenarioError) as err:
        with_timeline(mobile(), [event])
    text = str(err.value)
    assert expected in text and "\n" not in text.strip()


def test_expand_before_launch_and_a_second_launch_are_rejected():
    launch = {"day": 20, "type": "launch_program", "program": "mobile_crisis", "districts": ["north"]}
    expand = {"day": 10, "type": "expand_program", "program": "mobile_crisis", "districts": ["south"]}
    with pytest.raises(ScenarioError, match="on or after the launch"):
        with_timeline(mobile(), [launch, expand])
    with pytest.raises(ScenarioError, match="launched once"):
        with_timeline(mobile(), [launch, {**launch, "day": 30}])


DAY = st.floats(min_value=0, max_value=DAYS - 1, allow_nan=False).map(lambda d: round(d, 2))
DISTRICTS = st.one_of(st.none(), st.sampled_from((["north"], ["south"], ["north", "south"])))


@st.composite
def growth_timelines(draw):
    events = []
    launch_day = draw(DAY)
    events.append(
        {
            "day": launch_day,
            "type": "launch_program",
            "program": "mobile_crisis",
            "districts": draw(DISTRICTS),
            "ramp_months": draw(st.floats(0, 3)),
            "ramp_start_share": draw(st.floats(0, 1)),
        }
    )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            {
                "day": draw(st.floats(launch_day, DAYS - 1)),
                "type": "expand_program",
                "program": "mobile_crisis",
                "districts": draw(st.sampled_from((["north"], ["south"]))),
            }
        )
    if draw(st.booleans()):
        cut = draw(DAY)
        role = draw(st.sampled_from(("social_worker", "emt", "patrol")))
        events.append({"day": cut, "type": "cut_post", "role": role, "count": 1})
        events.append({"day": draw(st.floats(cut, DAYS - 1)), "type": "restore_post", "role": role})
    if draw(st.booleans()):  # a team added after the launch (add_post)
        events.append({"day": draw(st.floats(launch_day, DAYS - 1)), "type": "add_post", "role": "emt",
                       "program": "mobile_crisis", "count": draw(st.integers(1, 2))})  # fmt: skip
    if draw(st.booleans()):  # patrol units added
        events.append({"day": draw(DAY), "type": "add_post", "role": "patrol", "count": draw(st.integers(1, 3)),
                       "district": draw(st.sampled_from(("north", "south"))),
                       "shift": draw(st.sampled_from(("day", "evening", "night")))})  # fmt: skip
    if draw(st.booleans()):
        events.append(
            {
                "day": draw(st.floats(launch_day, DAYS - 1)),
                "type": "scale_program",
                "program": "mobile_crisis",
                "cut_share": 0.5,
            }  # fmt: skip
        )
    return events


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(growth_timelines())
def test_random_growth_timelines_keep_invariants(events):
    sc = with_overrides(with_timeline(mobile(), events), {"programs.mobile_crisis.teams": 2}, label="<test>")
    model = CrisisModel(sc)
    tl = model.timeline
    mc = mc_of(model)
    launch_t = events[0]["day"] * DAY_MIN
    while model.running:
        model.step()
        for r in ("patrol", "social_worker", "emt"):
            assert 0 <= tl.in_post_count(r) <= len(tl.posts(r))
        assert mc.on_duty == sum(t.on_duty for t in mc.teams)
        assert all(t.on_duty and mc._available(t) for t in mc.store.items)
        if model.env.now < launch_t:
            assert mc.on_duty == 0
    assert sorted(i for _, i, _ in tl.fired) == list(range(len(events)))
    added = sum(e["count"] for e in events if e["type"] == "add_post" and e["role"] == "emt")
    assert len(mc.teams) == 2 + added and mc.n_active <= len(mc.teams)
    n0 = sum(sum(d.patrol_units.values()) for d in sc.city.districts)
    n_added = sum(e["count"] for e in events if e["type"] == "add_post" and e["role"] == "patrol")
    assert len(tl.posts("patrol")) == n0 + n_added
    assert all(o in model.patrol[o.district].roster[o.shift] for o in model.officers)
    calls = model.mh_calls
    assert len({c.call_id for c in calls}) == len(calls)  # one record, hence one disposition, per call
    assert all(c.t_received >= launch_t for c in calls if c.responder == "mobile_crisis")
    for days in tl.operational_days()["mobile_crisis"].values():
        assert 0 <= days <= DAYS - events[0]["day"] + 1e-6


def test_budget_events_before_the_launch_and_ramps_not_read_are_rejected():
    launch = {"day": 20, "type": "launch_program", "program": "mobile_crisis"}
    cut = {"day": 10, "type": "scale_program", "program": "mobile_crisis", "cut_share": 0.5}
    with pytest.raises(ScenarioError, match="timeline.1.day to be on or after the launch"):
        with_timeline(mobile(), [launch, cut])
    co = with_overrides(mobile(), {"programs.cit": {}}, label="<test>")
    ramp = {"day": 20, "type": "launch_program", "program": "cit", "ramp_months": 2.0,
            "ramp_start_share": 0.5}  # fmt: skip
    with pytest.raises(ScenarioError, match="ramp_months to be 0 for 'cit'"):
        with_timeline(co, [ramp])


@pytest.mark.parametrize(("key", "responder"), [("co_response", "co_response"), ("triage", None)])
def test_pooled_programs_launch_unpaid_before_and_working_after(key, responder):
    """Co-response units and triage seats are costed from funded rostered minutes: none before the launch."""
    sc = with_overrides(short(load_scenario(SCENARIOS / "small_district.toml"), DAYS),
                        {f"programs.{key}": {}}, label="<test>")  # fmt: skip
    launched = with_timeline(sc, [{"day": LAUNCH, "type": "launch_program", "program": key}])
    model, res = simulate(launched, 0, 3)
    _, full = simulate(sc, 0, 3)
    p = next(q for q in model.programs if q.key == key)
    cost, full_cost = res.summary["program_cost"][key], full.summary["program_cost"][key]
    share = (DAYS - LAUNCH) / DAYS
    assert cost == pytest.approx(full_cost * share, rel=0.02)
    if responder is not None:
        t = res.ledger.t_received[res.ledger.responder == responder]
        assert len(t) > 0 and t.min() >= LAUNCH * DAY_MIN
    else:
        assert p.screened > 0
        assert all(t0 >= LAUNCH * DAY_MIN for _, _, t0, _, _ in p.records)


def test_report_describes_launch_events_in_plain_words():
    from crisis_sim.report.narrative import describe_event

    sc = load_scenario(SCENARIOS / "mobile_crisis_launch.toml")
    assert describe_event(sc.timeline[0]) == (
        "On day 180 (month 6 of the run), mobile_crisis launches (dispatch sends it 50% of eligible calls at first, "
        "all of them after 6 months) — mobile crisis team launched at month 6."
    )
    assert "expands to south" in describe_event(
        {"type": "expand_program", "day": 30, "program": "mobile_crisis", "districts": ["south"]}
    )
    assert "the cut emt post(s) of mobile_crisis are restored" in describe_event(
        {"type": "restore_post", "day": 30, "role": "emt", "program": "mobile_crisis"}
    )
