"""More places to go (model/places.py): a sobering centre and respite beds instead of the ED when a bed is free."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SCENARIOS, cached_run, short, small

from crisis_sim import rng
from crisis_sim.model.dispositions import INVOLUNTARY, VOLUNTARY
from crisis_sim.scenario import ScenarioError, load_scenario
from crisis_sim.sim import simulate

SOB, RES = "destinations.sobering", "destinations.respite"
DAY_MIN = 24 * 60


def _sc(days: int = 90, **overrides):
    return short(small(days), days, **overrides)


def test_off_builds_nothing_and_adds_no_summary_keys():
    model, res = cached_run(small(60))
    assert model.places is None
    assert not any(k.startswith(("sobering_", "respite_")) or k == "cost_places" for k in res.summary)
    assert not set(res.ledger["destination"].astype(str)) & {"sobering", "respite"}


def test_sobering_takes_only_eligible_substance_transports_and_same_calls_happen():
    off_model, off = cached_run(_sc())
    on_model, on = cached_run(_sc(**{f"{SOB}.enabled": True}))
    took = [c for c in on_model.mh_calls if c.destination == "sobering"]
    assert took, "no call went to the sobering centre"
    assert all(c.substance_use and c.disposition == VOLUNTARY and c.risk <= 1 for c in took)
    # the place changes where a transported person goes, not which calls or dispositions happen (CRN)
    a, b = off.ledger, on.ledger
    assert list(a["call_id"]) == list(b["call_id"]) and list(a["disposition"]) == list(b["disposition"])
    assert on.summary["ed_transports"] == off.summary["ed_transports"] - on.summary["sobering_admissions"]
    assert on.summary["officer_hours_mh"] < off.summary["officer_hours_mh"]


def test_respite_takes_low_and_medium_risk_and_a_hold_there_is_not_admitted():
    sc = _sc(**{f"{RES}.enabled": True, f"{RES}.accepts_involuntary": True, f"{RES}.max_risk": "low"})
    model, res = cached_run(sc)
    took = [c for c in model.mh_calls if c.destination == "respite"]
    assert any(c.disposition == INVOLUNTARY for c in took)
    assert all(c.risk == 0 and c.disposition in (VOLUNTARY, INVOLUNTARY) for c in took)
    assert not any(c.admitted for c in took)


def test_full_beds_send_people_on_to_the_ed_and_cost_is_funded_bed_days():
    days = 90
    sc = _sc(days, **{f"{RES}.enabled": True, f"{RES}.beds": 1, f"{RES}.bed_day_cost": 100.0,
                      f"{RES}.length_of_stay": {"kind": "fixed", "minutes": 20 * DAY_MIN}})  # fmt: skip
    model, res = simulate(sc, 0, 0)
    s = res.summary
    assert s["respite_admissions"] <= days // 20 + 1 and s["respite_full_to_ed"] > 0
    assert s["cost_respite"] == pytest.approx(1 * days * 100.0) == s["cost_places"]
    _, off = cached_run(_sc(days))
    assert s["cost_total"] > off.summary["cost_total"]
    stays = sorted(c.t_cleared for c in model.mh_calls if c.destination == "respite")
    assert all(
        b - a >= 20 * DAY_MIN - 60 for a, b in zip(stays, stays[1:], strict=False)
    )  # one bed at a time


def test_same_inputs_same_ledger_and_own_stream():
    sc = _sc(40, **{f"{SOB}.enabled": True, f"{RES}.enabled": True})
    a, b = simulate(sc, 1, 5)[1], simulate(sc, 1, 5)[1]
    assert a.ledger.equals(b.ledger) and a.summary["cost_places"] == b.summary["cost_places"]
    assert rng.STREAMS["places"] == 13 and not rng.collisions()


@pytest.mark.parametrize(("key", "value"), [("beds", 0), ("max_risk", "extreme"), ("bed_day_cost", -1)])
def test_bad_values_are_refused(key, value):
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIOS / "small_district.toml", {f"{SOB}.{key}": value})
    assert f"{SOB}.{key}" in str(err.value) and "\n" not in str(err.value).strip()


def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path):
    f = tmp_path / "city.toml"
    f.write_text(f'base = "{SCENARIOS / "small_district.toml"}"\nname = "x"\n\n[destinations.respite]\n'
                 "enabled = true\nbeds = 0\n")  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "validate", str(f)], capture_output=True, text=True
    )
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1
    assert "city.toml" in lines[0] and f"{RES}.beds" in lines[0]
