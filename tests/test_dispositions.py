"""Disposition tables: proper distributions, odds ratios move outcomes the right way, one outcome per draw."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisis_sim.model.dispositions import ARREST, INVOLUNTARY, DispositionModel
from crisis_sim.scenario.schema import DISPOSITIONS, Dispositions


@pytest.fixture(scope="module")
def dm():
    m = DispositionModel(Dispositions())
    m.register("gentle", {"arrest": 0.48, "referral": 2.0})
    return m


def test_tables_are_distributions(dm):
    for risk in (0, 1, 2):
        for sub in (False, True):
            for ident in (False, True):
                p = dm.probabilities("patrol", risk, sub, ident)
                assert len(p) == len(DISPOSITIONS)
                assert sum(p) == pytest.approx(1.0) and min(p) >= 0


def test_medium_risk_identified_patrol_matches_configured_mix(dm):
    p = dm.probabilities("patrol", 1, False, True)
    base = Dispositions().police_medium_risk
    assert p == pytest.approx([getattr(base, d) for d in DISPOSITIONS])


def test_odds_move_outcomes_in_the_stated_direction(dm):
    low, high = dm.probabilities("patrol", 0, False, True), dm.probabilities("patrol", 2, False, True)
    assert high[INVOLUNTARY] > low[INVOLUNTARY] and high[ARREST] > low[ARREST]
    assert dm.probabilities("patrol", 1, True, True)[ARREST] > dm.probabilities("patrol", 1, False, True)[ARREST]
    assert dm.probabilities("gentle", 1, False, True)[ARREST] < dm.probabilities("patrol", 1, False, True)[ARREST]
    assert dm.force_probability("patrol", 2, ARREST, True) > dm.force_probability("patrol", 0, 0, False)


@given(st.floats(0.0, 1.0, exclude_max=True), st.sampled_from([0, 1, 2]), st.booleans(), st.booleans())
def test_every_draw_is_exactly_one_valid_disposition(u, risk, sub, ident):
    dm = DispositionModel(Dispositions())
    d = dm.draw("patrol", risk, sub, ident, u)
    assert 0 <= d < len(DISPOSITIONS)


def test_unknown_disposition_rejected(dm):
    with pytest.raises(ValueError, match="unknown dispositions"):
        dm.register("x", {"hug": 2.0})
