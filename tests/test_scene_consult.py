"""Police consult a clinician by phone from the scene ([channels.scene_consult]; model/scene_consult.py)."""

from __future__ import annotations

import pytest

from crisis_sim.model.scene_consult import CONSULT_RESPONDER
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import simulate

SC = "channels.scene_consult"


def _sc(days: int = 90, **over):
    sc = load_scenario("small_district")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 10, **over})


@pytest.fixture(scope="module")
def runs():
    on = _sc(**{f"{SC}.enabled": True, f"{SC}.share": 0.6, f"{SC}.clinicians": 2})
    off = _sc()
    return simulate(on, 0, 5), simulate(off, 0, 5)


def test_off_by_default_no_column(runs):
    _, (m_off, r_off) = runs
    assert m_off.scene_consult is None and "scene_consult" not in r_off.ledger.columns
    assert "scene_consults" not in r_off.summary


def test_consults_only_on_patrol_calls_and_add_scene_time(runs):
    (m_on, r_on), (_, r_off) = runs
    led = r_on.ledger
    consulted = led[led["scene_consult"]]
    assert len(consulted) > 0 and set(consulted["responder"].astype(str)) == {"patrol"}
    assert len(m_on.scene_consult.records) == len(consulted)
    # CRN: the same calls; consulted encounters last longer by the consult's minutes
    off = r_off.ledger.set_index("call_id")
    cons = consulted.set_index("call_id")
    common = cons.index.intersection(off.index)
    same = common[(off.loc[common, "t_received"] == cons.loc[common, "t_received"]).to_numpy()]
    assert len(same) > 10
    assert (cons.loc[same, "t_cleared"] - cons.loc[same, "t_arrived"]).mean() > (
        off.loc[same, "t_cleared"] - off.loc[same, "t_arrived"]
    ).mean()
    s = r_on.summary
    assert s["scene_consults"] <= len(consulted) and 0 < s["scene_consult_utilisation"] < 1


def test_consult_odds_shift_dispositions():
    """With odds that forbid arrest and holds, consulted encounters end in neither (the effect is an input)."""
    sc = _sc(60, **{f"{SC}.enabled": True, f"{SC}.share": 1.0, f"{SC}.clinicians": 50,
                    f"{SC}.disposition_odds": {"arrest": 0.0, "involuntary": 0.0}})  # fmt: skip
    model, res = simulate(sc, 0, 1)
    led = res.ledger
    consulted = led[led["scene_consult"]]
    assert len(consulted) > 20
    assert not consulted["disposition"].astype(str).isin(["arrest", "involuntary"]).any()
    assert CONSULT_RESPONDER in model.dispositions.responders


def test_one_seat_busy_means_no_consult():
    sc = _sc(60, **{f"{SC}.enabled": True, f"{SC}.share": 1.0, f"{SC}.clinicians": 1,
                    f"{SC}.consult_time": {"kind": "fixed", "minutes": 600.0}})  # fmt: skip
    _, res = simulate(sc, 0, 1)
    assert res.summary["scene_consults_no_seat"] > 0


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{SC}.clinicians", 0, "clinicians"),
        (f"{SC}.share", -0.1, "share"),
        (f"{SC}.disposition_odds", {"jail": 1.0}, "disposition_odds"),
        (f"{SC}.clinician_hour", -5, "clinician_hour"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("small_district"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()
