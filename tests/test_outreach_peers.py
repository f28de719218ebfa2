"""Team composition of the outreach program: peer specialists (``peer_fte``), off at 0."""

from __future__ import annotations

import math

import pytest
from conftest import SCENARIOS, cached_run, short

from crisis_sim.scenario import ScenarioError, load_scenario
from crisis_sim.sim import simulate

P = "programs.outreach"


def _sc(days: int = 120, **overrides):
    return short(load_scenario(SCENARIOS / "outreach_echinops.toml"), days, 30, **overrides)


def _program(model):
    return next(p for p in model.programs if p.key == "outreach")


def test_no_peer_adds_nothing():
    model, res = cached_run(_sc())
    prog = _program(model)
    assert not prog.peer and prog._peer_logit == 0.0
    assert not any(k.startswith("outreach_peer") for k in res.summary)


def test_peer_raises_consent_odds_by_the_odds_ratio_and_trust_after_the_first_visit():
    off_model, off = cached_run(_sc())
    on_model, on = cached_run(_sc(**{f"{P}.peer_fte": 0.5, f"{P}.peer_consent_or": 2.0}))
    a, b = _program(off_model), _program(on_model)
    for trust in (0.2, 0.5, 0.8):
        p0, p1 = a.consent_probability(trust), b.consent_probability(trust)
        assert p1 / (1 - p1) == pytest.approx(2.0 * p0 / (1 - p0))
    s0, s1 = off.summary, on.summary
    assert s1["outreach_consents"] >= s0["outreach_consents"] and s1["outreach_peer_hours"] > 0
    # the first uniform decides the first offer: every case that consented at once without a peer does with one
    assert s1["outreach_declined"] <= s0["outreach_declined"]


def test_peer_is_paid_for_the_fte_over_the_counted_period():
    days, fte, salary = 120, 0.5, 50_000.0
    model, res = simulate(
        _sc(days, **{f"{P}.peer_fte": fte, f"{P}.costs.peer_salary_per_year": salary}), 0, 0
    )
    s = res.summary
    assert s["outreach_peer_cost"] == pytest.approx(fte * salary * (days - 30) / 365)
    assert s["outreach_peer_cost"] == pytest.approx(s["program_cost"]["outreach"] - sum(
        s["outreach_cost_breakdown"].values()))  # fmt: skip
    assert s["outreach_peer_utilisation"] > 0 and math.isfinite(s["outreach_peer_utilisation"])


@pytest.mark.parametrize(
    ("key", "value"), [("peer_fte", -0.5), ("peer_consent_or", 0), ("peer_trust_gain", 1.5)]
)
def test_bad_values_are_refused_in_one_line(key, value):
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "outreach_echinops.toml", {f"{P}.{key}": value})
    assert f"{P}.{key}" in str(err.value) and "\n" not in str(err.value).strip()
