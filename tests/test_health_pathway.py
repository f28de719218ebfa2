"""The health-system pathway ([destinations.health_pathway]) and the programs' follow-up (model/health.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.health import ADMISSION, DISCHARGE, EMS_TRANSPORT, SELF_EMS, SELF_WALK_IN
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import simulate

HP = "destinations.health_pathway"
SMALL = Path(__file__).resolve().parent.parent / "scenarios" / "small_district.toml"


def _sc(name: str = "small_district", days: int = 120, **over):
    sc = load_scenario(name)
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 10, **over})


@pytest.fixture(scope="module")
def on_run():
    sc = _sc(**{f"{HP}.enabled": True})
    return sc, *simulate(sc, 0, 3)


@pytest.fixture(scope="module")
def off_run():
    sc = _sc()
    return sc, *simulate(sc, 0, 3)


def test_off_by_default_and_no_health_draws_when_nothing_asks(off_run):
    sc, model, res = off_run
    assert sc.destinations.health_pathway.enabled is False
    assert model.health is None and model._health_draws is None
    assert res.health.empty and "ems_transports" not in res.summary


@pytest.mark.parametrize("name", ["mobile_crisis", "mixed_city"])
def test_program_follow_ups_off_by_default_draw_nothing(name):
    sc = _sc(name, days=30)
    assert sc.programs.mobile_crisis.follow_up_share == 0.0
    assert sc.programs.stabilization.link_before_discharge_share == 0.0
    model, res = simulate(sc, 0, 0)
    assert model._health_draws is None
    assert "mobile_crisis_follow_ups" not in res.summary and "stabilization_links" not in res.summary


def test_share_of_crises_straight_to_the_ed_and_police_calls_kept(on_run, off_run):
    sc, model, res = on_run
    h = res.health
    self_ed = int(h["kind"].isin([SELF_EMS, SELF_WALK_IN]).sum())
    police = int(res.ledger["mh"].sum())
    hp = sc.destinations.health_pathway
    share = self_ed / (self_ed + police)
    # between the shares of people out of care and in care (most are out of care)
    assert hp.self_presented_share - 0.05 < share < hp.self_presented_share_connected
    by_ems = int((h["kind"] == SELF_EMS).sum()) / self_ed
    assert abs(by_ems - hp.self_presented_ems_share) < 0.12
    # the crisis hazard is scaled so police MH calls stay near demand.mh_share
    off_police = int(off_run[2].ledger["mh"].sum())
    assert abs(police / off_police - 1.0) < 0.12


def test_no_crisis_while_in_hospital_and_discharge_after_the_stay(on_run):
    sc, model, res = on_run
    h, led = res.health, res.ledger
    stay = sc.costs.inpatient_days_per_admission * DAY_MIN
    adm = h[h["kind"] == ADMISSION]
    assert len(adm) > 10
    mh = led[led["mh"]]
    self_ed = h[h["kind"].isin([SELF_EMS, SELF_WALK_IN])]
    for r, t in zip(adm["resident"], adm["t"], strict=True):
        calls = mh.loc[mh["resident"] == r, "t_received"].to_numpy()
        assert not ((calls > t) & (calls < t + stay)).any()
        visits = self_ed.loc[self_ed["resident"] == r, "t"].to_numpy()
        assert not ((visits > t) & (visits < t + stay)).any()
    dis = h[h["kind"] == DISCHARGE]
    first = adm.groupby("resident")["t"].min()
    for r, t in zip(dis["resident"], dis["t"], strict=True):
        assert t >= first[r] + stay - 1e-6
    held = led[led["admitted"]]
    assert set(held["call_id"]) <= set(adm["call_id"])  # every admitted hold starts a stay


def test_ems_transports_clear_the_police_unit_and_go_to_the_ed(on_run):
    sc, model, res = on_run
    h, led = res.health, res.ledger
    ems_ids = h.loc[h["kind"] == EMS_TRANSPORT, "call_id"]
    assert len(ems_ids) > 0
    calls = led.set_index("call_id").loc[ems_ids]
    assert (calls["destination"].astype(str) == "ed").all()
    assert (calls["disposition"].astype(str) == "voluntary_transport").all()
    assert calls["ed_wait_min"].isna().all()  # police do not wait at the ED
    police_transports = led[(led["disposition"].astype(str) == "voluntary_transport")
                            & ~led["call_id"].isin(ems_ids) & (led["destination"].astype(str) == "ed")]  # fmt: skip
    assert calls["officer_min"].mean() < police_transports["officer_min"].mean()
    s = res.summary
    assert s["cost_ems"] == (s["ems_transports"] + s["self_presented_by_ems"]) * sc.destinations.health_pathway.ems_transport_cost
    assert 0.0 < s["ems_utilisation"] < 1.0


def test_fewer_ambulances_longer_waits():
    few = simulate(_sc(days=90, **{f"{HP}.enabled": True, f"{HP}.ems_units": 1, f"{HP}.self_presented_share": 0.4,
                                   f"{HP}.self_presented_share_connected": 0.4, f"{HP}.self_presented_ems_share": 1.0}),
                   0, 0)[1].summary  # fmt: skip
    many = simulate(_sc(days=90, **{f"{HP}.enabled": True, f"{HP}.ems_units": 30, f"{HP}.self_presented_share": 0.4,
                                    f"{HP}.self_presented_share_connected": 0.4, f"{HP}.self_presented_ems_share": 1.0}),
                    0, 0)[1].summary  # fmt: skip
    assert many["ems_wait_min_mean"] == 0.0
    assert few["ems_wait_min_mean"] > 0.0


def test_discharge_follow_up_makes_priority_referrals():
    sc = _sc(**{f"{HP}.enabled": True, f"{HP}.discharge_follow_up_share": 1.0})
    _, res = simulate(sc, 0, 3)
    refs = res.referrals[res.referrals["source"] == "discharge_follow_up"]
    assert len(refs) > 0 and (refs["priority"] == 0).all()
    assert res.summary["discharge_links"] <= res.summary["discharges"]
    none = simulate(_sc(**{f"{HP}.enabled": True, f"{HP}.discharge_follow_up_share": 0.0}), 0, 3)[1]
    assert (none.referrals["source"] == "discharge_follow_up").sum() == 0


def test_mobile_team_follow_up_uses_team_time_and_links():
    base = _sc("mobile_crisis", days=90)
    _, off = simulate(base, 0, 1)
    sc = with_overrides(base, {"programs.mobile_crisis.follow_up_share": 1.0})
    _, on = simulate(sc, 0, 1)
    s = on.summary
    assert s["mobile_crisis_follow_ups"] > 0
    assert 0 < s["mobile_crisis_follow_up_links"] <= s["mobile_crisis_follow_ups"]
    assert s["mobile_crisis_follow_ups_within_72h"] <= s["mobile_crisis_follow_ups"]
    assert s["mobile_crisis_follow_up_hours"] > 0
    util_on = s["program_staff_utilisation"]["mobile_crisis"]
    assert util_on > off.summary["program_staff_utilisation"]["mobile_crisis"]
    refs = on.referrals[on.referrals["source"] == "mobile_crisis_follow_up"]
    assert len(refs) >= s["mobile_crisis_follow_up_links"]  # (the summary counts after warm-up only)
    assert (refs["priority"] == 0).all()


def test_stabilization_links_before_discharge():
    base = _sc("mixed_city", days=60)
    sc = with_overrides(base, {"programs.stabilization.link_before_discharge_share": 1.0})
    _, on = simulate(sc, 0, 2)
    refs = on.referrals[on.referrals["source"] == "stabilization_link"]
    assert on.summary["stabilization_links"] > 0 and (refs["priority"] == 0).all()
    _, off = simulate(base, 0, 2)
    assert on.summary["stabilization_links"] <= on.summary["stabilization_admissions"]
    assert (off.referrals["source"] == "stabilization_link").sum() == 0


def test_same_seed_same_ledger_and_health_events(on_run):
    sc, _, res = on_run
    _, again = simulate(sc, 0, 3)
    assert res.ledger.equals(again.ledger) and res.health.equals(again.health)


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{HP}.ems_units", 0, "ems_units"),
        (f"{HP}.self_presented_share", 1.5, "self_presented_share"),
        (f"{HP}.enabled", "yes", "enabled"),
        ("programs.mobile_crisis.follow_up_share", -0.1, "follow_up_share"),
        ("programs.stabilization.link_before_discharge_share", 2, "link_before_discharge_share"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("mixed_city"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9)), min_size=1, max_size=30))
def test_random_access_rows_match_sequential_rows(picks):
    """row(e, j) is the j-th row next_row would serve, whatever was read before (pre-drawn and overflow rows)."""
    seq = PerEntityDraws(5, 1, "health", 5, 3, 4, exp=False)
    expected = {e: [seq.next_row(e) for _ in range(10)] for e in range(5)}
    rnd = PerEntityDraws(5, 1, "health", 5, 3, 4, exp=False)
    for e, j in picks:
        assert rnd.row(e, j) == expected[e][j]


def test_health_rows_are_tied_to_resident_and_crisis(on_run):
    _, model, _ = on_run
    a = model.health_uniforms(3, 2)
    assert model.health_uniforms(3, 2) == a and model.health_uniforms(3, 1) != a
    assert all(0.0 <= x < 1.0 for x in a) and not any(math.isnan(x) for x in a)
    assert np.isfinite(a).all()


def test_ed_background_makes_room_for_self_presented_visits(on_run):
    sc, model, _ = on_run
    from crisis_sim.model.health import self_presented_per_day

    expect = sc.destinations.ed.background_arrivals_per_day - self_presented_per_day(model)
    assert 0 < self_presented_per_day(model) < sc.destinations.ed.background_arrivals_per_day
    assert model.ed.background_per_min * DAY_MIN == pytest.approx(expect)
    on_top = _sc(days=20, **{f"{HP}.enabled": True, f"{HP}.background_includes_self_presented": False})
    m2, _ = simulate(on_top, 0, 3)
    assert m2.ed.background_per_min * DAY_MIN == pytest.approx(sc.destinations.ed.background_arrivals_per_day)


def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "city.toml"
    f.write_text(f'base = "{SMALL}"\nname = "x"\n\n[destinations.health_pathway]\nenabled = true\n'
                 "self_presented_share_connected = 1.0\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "crisis_sim", "validate", str(f)], capture_output=True, text=True)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1
    assert "city.toml" in lines[0] and "destinations.health_pathway.self_presented_share_connected" in lines[0]
