"""WeeklyProfile: operational time and real time are inverse maps (property tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.profile import WEEK_MIN, WeeklyProfile

THREE_YEARS = 3 * 365 * 24 * 60.0
TOL = 1e-6  # minutes

positive = st.floats(0.05, 10.0, allow_nan=False)
maybe_zero = st.one_of(st.just(0.0), positive)
times = st.floats(0.0, THREE_YEARS, allow_nan=False)


@st.composite
def profiles(draw, value=positive):
    hourly = draw(st.lists(value, min_size=24, max_size=24).filter(lambda xs: sum(xs) > 0))
    weekday = draw(st.lists(value, min_size=7, max_size=7).filter(lambda xs: sum(xs) > 0))
    return WeeklyProfile(hourly, weekday)


@settings(max_examples=200, deadline=None)
@given(profiles(), times)
def test_from_op_inverts_to_op_when_every_hour_has_calls(profile, t):
    assert abs(profile.from_op(profile.to_op(t)) - t) <= TOL


@settings(max_examples=200, deadline=None)
@given(profiles(maybe_zero), times)
def test_to_op_inverts_from_op_even_with_silent_hours(profile, op):
    assert abs(profile.to_op(profile.from_op(op)) - op) <= TOL
    # A real time in a silent stretch maps back to a time with the same operational time.
    t = op
    assert abs(profile.to_op(profile.from_op(profile.to_op(t))) - profile.to_op(t)) <= TOL


@settings(max_examples=100, deadline=None)
@given(profiles(maybe_zero), st.lists(times, min_size=2, max_size=20))
def test_maps_are_monotone_and_match_the_vectorised_form(profile, ts):
    ts = sorted(ts)
    ops = [profile.to_op(t) for t in ts]
    assert all(a <= b + TOL for a, b in zip(ops, ops[1:], strict=False))
    back = [profile.from_op(op) for op in ops]
    assert all(a <= b + TOL for a, b in zip(back, back[1:], strict=False))
    assert np.allclose(profile.from_op_many(np.array(ops)), back, rtol=0, atol=TOL)


def test_a_week_of_real_time_is_a_week_of_operational_time():
    profile = WeeklyProfile([1.0 + (h % 5) for h in range(24)], [1, 1, 1, 1, 1, 0.5, 0.5])
    assert abs(profile.to_op(WEEK_MIN) - WEEK_MIN) <= TOL
    assert abs(profile.to_op(5 * WEEK_MIN + 100.0) - 5 * WEEK_MIN - profile.to_op(100.0)) <= TOL
