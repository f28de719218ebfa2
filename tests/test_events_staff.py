"""Random timelines never make staff counts negative or lose track of who is on duty."""

from __future__ import annotations

import functools

from conftest import SCENARIOS, short
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_sim.scenario import load_scenario, with_overrides
from crisis_sim.sim import CrisisModel

DAYS = 40
ROLES = ("patrol", "crpo", "nurse", "psychiatrist")


@functools.cache
def base():
    sc = load_scenario(SCENARIOS / "outreach_echinops.toml")
    sc = with_overrides(sc, {"city.population": 40_000}, label="<test>")
    return short(sc, DAYS)


day = st.floats(min_value=0, max_value=DAYS - 1, allow_nan=False).map(lambda d: round(d, 2))
district = st.sampled_from([None, "station_a", "station_b", "station_c"])
share = st.floats(min_value=0, max_value=1, allow_nan=False)
role = st.sampled_from(ROLES)

EVENTS = st.one_of(
    st.builds(
        lambda d, r, s, x: {"day": d, "type": "vacancy", "role": r, "share": s, "district": x},
        day,
        st.sampled_from(("patrol", "crpo")),
        share,
        district,
    ),  # fmt: skip
    st.builds(lambda d, r, s: {"day": d, "type": "absence", "role": r, "share": s}, day, role, share),
    st.builds(
        lambda d, r, rate, lag: {
            "day": d,
            "type": "turnover",
            "role": r,
            "annual_rate": rate,
            "hiring_lag_days": lag,
            "training_days": 0.0,
        },
        day,
        role,
        st.floats(0, 20),
        st.floats(0, 10),
    ),  # fmt: skip
    st.builds(
        lambda d, n, x, dur: {
            "day": d,
            "type": "lose_patrol",
            "count": n,
            "district": x,
            "duration_days": dur,
        },
        day,
        st.integers(1, 40),
        district,
        st.one_of(st.none(), st.floats(0, 10)),
    ),  # fmt: skip
    st.builds(lambda d, r: {"day": d, "type": "cut_post", "role": r}, day, role),
    st.builds(
        lambda d, x, lag: {
            "day": d,
            "type": "champion_departs",
            "role": "crpo",
            "district": x or "station_a",
            "replacement_after_days": lag,
        },
        day,
        district,
        st.one_of(st.none(), st.floats(0, 10)),
    ),  # fmt: skip
    st.builds(
        lambda d, c: {"day": d, "type": "scale_program", "program": "outreach", "cut_share": c}, day, share
    ),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=1, max_size=6))
def test_random_timelines_keep_staff_counts_sane(events):
    sc = with_overrides(base(), {"timeline": events}, label="<test>")
    model = CrisisModel(sc)
    tl = model.timeline
    while model.running:
        model.step()
        for r in ("patrol", "crpo", "nurse", "psychiatrist", "social_worker", "peer", "emt"):
            n = tl.in_post_count(r)
            assert 0 <= n <= len(tl.posts(r))
        assert tl.in_post_count("patrol") == sum(o.in_post for o in model.officers)
        for pool in model.patrol:
            on_duty = [o for team in pool.roster for o in team if o.on_duty]
            assert pool.on_duty == len(on_duty)
            assert all(
                o.in_post and o.on_duty for o in pool.store.items
            )  # nobody out of post waits for calls
            assert len(set(map(id, pool.store.items))) == len(pool.store.items)
    assert sorted(i for _, i, _ in tl.fired) == list(range(len(events)))
    for rows in tl.operational_days().values():
        for days in rows.values():
            assert 0 <= days <= DAYS + 1e-9


@functools.cache
def mobile_base():
    sc = load_scenario(SCENARIOS / "mobile_crisis.toml")
    return with_overrides(short(sc, DAYS), {"programs.mobile_crisis.teams": 3}, label="<test>")


MC_EVENTS = st.one_of(
    st.builds(
        lambda d, r, rate, lag: {
            "day": d,
            "type": "turnover",
            "role": r,
            "program": "mobile_crisis",
            "annual_rate": rate,
            "hiring_lag_days": lag,
            "training_days": 0.0,
        },
        day,
        st.sampled_from(("social_worker", "emt")),
        st.floats(0, 30),
        st.floats(0, 5),
    ),  # fmt: skip
    st.builds(
        lambda d, r, s: {"day": d, "type": "absence", "role": r, "share": s},
        day,
        st.sampled_from(("social_worker", "emt")),
        share,
    ),  # fmt: skip
    st.builds(
        lambda d, p, c: {"day": d, "type": "scale_program", "program": p, "cut_share": c},
        day,
        st.sampled_from(("mobile_crisis", "stabilization")),
        share,
    ),  # fmt: skip
    st.builds(
        lambda d, p, s: {"day": d, "type": "funding_ends", "program": p, "funder": "grant", "share": s},
        day,
        st.sampled_from(("mobile_crisis", "stabilization")),
        st.floats(0.05, 0.5),
    ),  # fmt: skip
    st.builds(
        lambda d, p: {"day": d, "type": "end_program", "program": p},
        day,
        st.sampled_from(("mobile_crisis", "stabilization")),
    ),  # fmt: skip
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MC_EVENTS, min_size=1, max_size=5))
def test_random_program_timelines_keep_teams_consistent(events):
    sc = with_overrides(mobile_base(), {"timeline": events}, label="<test>")
    model = CrisisModel(sc)
    mc = next(p for p in model.programs if p.key == "mobile_crisis")
    stab = next(p for p in model.programs if p.key == "stabilization")
    while model.running:
        model.step()
        assert mc.on_duty == sum(t.on_duty for t in mc.teams)
        for team in mc.store.items:  # idle teams waiting for calls are on duty, funded and fully staffed
            assert team.on_duty and mc._available(team)
        assert 0 <= stab.capacity <= stab.config.beds
    served = [c for c in model.mh_calls if c.responder == "mobile_crisis"]
    if mc.ended:
        t_end = max(t for t, i, kind in model.timeline.fired
                    if kind in ("end_program", "funding_ends", "scale_program")
                    and events[i]["program"] == "mobile_crisis")  # fmt: skip
        assert all(c.t_received <= t_end for c in served)
