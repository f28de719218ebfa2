"""Case mix by hour and weekday (dispatch.case_mix_by_time): off changes nothing, neutral factors change nothing,
the shifts move risk, weapons, substance use and identification by hour, CRN holds, bad input is one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import SCENARIOS, cached_run, short
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.case_mix import CaseMix
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.schema import CaseMixByTime, RiskMix

DAY = 24 * 60
NEUTRAL = {
    "enabled": True,
    "risk_odds_hourly": [1.0] * 24,
    "identification_hourly": [1.0] * 24,
    "weapon_hourly": [1.0] * 24,
    "weapon_weekday": [1.0] * 7,
    "substance_hourly": [1.0] * 24,
    "substance_weekday": [1.0] * 7,
    "substance_involvement_user": 1.0,
    "substance_involvement_other": 0.0,
}


def small(days: int = 90, **case_mix):
    sc = short(load_scenario(SCENARIOS / "small_district.toml"), days)
    return with_overrides(sc, {"dispatch.case_mix_by_time": case_mix}, label="<test>") if case_mix else sc


def mh_frame(res):
    led = res.ledger
    return led[led["mh"]].copy()


def test_off_by_default():
    assert load_scenario("small_district").dispatch.case_mix_by_time.enabled is False
    model, _ = cached_run(small())
    assert model.case_mix is None


def test_neutral_factors_give_the_ledger_of_the_switch_off():
    """All factors 1 and substance involvement equal to the person's attribute: the same ledger, bit for bit."""
    _, off = cached_run(small())
    model, on = cached_run(small(**NEUTRAL))
    assert model.case_mix is not None
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(off.ledger, on.ledger)


def _hours(frame):
    return ((frame["t_received"].to_numpy() % DAY) // 60).astype(int)


def test_night_factors_move_risk_weapons_and_identification_at_night_only():
    night = [1.0 if (h < 1 or h >= 9) else 0.0 for h in range(24)]  # 01:00-09:00 factor 0
    day_weapon = [1.0 if (h < 1 or h >= 9) else 6.0 for h in range(24)]
    sc = small(
        120,
        enabled=True,
        risk_odds_hourly=night,  # no medium or high risk at night
        identification_hourly=[
            1.0 if (h < 1 or h >= 9) else 2.5 for h in range(24)
        ],  # 0.4 x 2.5: all at night
        weapon_hourly=day_weapon,
        weapon_weekday=[1.0] * 7,
    )
    _, off = cached_run(small(120))
    _, on = cached_run(sc)
    f_off, f_on = mh_frame(off), mh_frame(on)
    n_on = (_hours(f_on) >= 1) & (_hours(f_on) < 9)
    n_off = (_hours(f_off) >= 1) & (_hours(f_off) < 9)
    assert n_on.sum() > 50
    risk_on = f_on["risk"].astype(str).to_numpy()
    assert (risk_on[n_on] == "low").all()
    assert f_on["identified_mh"].to_numpy()[n_on].all()
    # daytime calls keep the base mix: some are not low risk and some are not identified
    assert (risk_on[~n_on] != "low").any() and not f_on["identified_mh"].to_numpy()[~n_on].all()
    weapon_night_on = f_on["weapon"].to_numpy()[n_on].mean()
    weapon_night_off = f_off["weapon"].to_numpy()[n_off].mean()
    assert weapon_night_on > 2 * weapon_night_off


def test_same_crises_see_the_same_uniforms():
    """CRN: the crises (residents, times) do not depend on the switch before any routing feedback can act."""
    _, off = cached_run(small())
    _, on = cached_run(small(enabled=True))
    a, b = mh_frame(off), mh_frame(on)
    first = min(len(a), len(b), 40)
    assert np.array_equal(a["resident"].to_numpy()[:first], b["resident"].to_numpy()[:first])
    assert np.array_equal(a["t_received"].to_numpy()[:first], b["t_received"].to_numpy()[:first])


def test_substance_involvement_follows_the_factors():
    sc = small(
        90,
        enabled=True,
        substance_involvement_user=1.0,
        substance_involvement_other=0.0,
        substance_hourly=[0.0] * 12 + [1.0] * 12,
        substance_weekday=[1.0] * 7,
    )
    model, _ = cached_run(sc)
    calls = model.mh_calls
    morning = [c for c in calls if (c.t_received % DAY) < 12 * 60]
    afternoon = [c for c in calls if (c.t_received % DAY) >= 12 * 60]
    assert morning and not any(c.substance_use for c in morning)
    residents = model.residents
    assert all(c.substance_use == residents[c.resident].substance_use for c in afternoon)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0.0, 1.0),
    med_frac=st.floats(0.0, 1.0),
    k1=st.floats(0.0, 5.0),
    k2=st.floats(0.0, 5.0),
)
def test_risk_shares_are_a_distribution_and_monotone_in_the_odds(low, med_frac, k1, k2):
    medium = (1.0 - low) * med_frac
    mix = RiskMix.model_construct(low=low, medium=medium, high=1.0 - low - medium)
    cm = CaseMix(CaseMixByTime())
    cm.risk_odds = [k1, k2] + [1.0] * 166
    pl1, pm1 = cm.risk_shares(mix, 0)
    pl2, _ = cm.risk_shares(mix, 1)
    assert 0.0 <= pl1 <= 1.0 and pm1 >= 0.0 and pl1 + pm1 <= 1.0 + 1e-12
    pl_base, pm_base = cm.risk_shares(mix, 2)
    assert pl_base == pytest.approx(low) and pm_base == pytest.approx(medium)
    if k1 < k2:
        assert pl1 >= pl2 - 1e-12  # higher odds of elevated risk: fewer low-risk calls


def test_hour_of_week_starts_monday_midnight():
    assert CaseMix.hour_of_week(0.0) == 0
    assert CaseMix.hour_of_week(DAY + 61.0) == 25
    assert CaseMix.hour_of_week(7 * DAY - 0.5) == 167
    assert CaseMix.hour_of_week(7 * DAY) == 0


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"risk_odds_hourly": [1.0] * 23}, "dispatch.case_mix_by_time.risk_odds_hourly"),
        ({"weapon_weekday": [1.0] * 6 + [-1.0]}, "dispatch.case_mix_by_time.weapon_weekday"),
        ({"substance_involvement_user": 1.5}, "dispatch.case_mix_by_time.substance_involvement_user"),
        ({"enabled": "yes"}, "dispatch.case_mix_by_time.enabled"),
        ({"bogus": 1}, "dispatch.case_mix_by_time.bogus"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(small(), {"dispatch.case_mix_by_time": section}, label="city.toml")
    assert len(exc.value.lines) == 1
    line = exc.value.lines[0]
    assert line.startswith("city.toml") and needle in line and "expected" in line


def test_cli_rejects_a_bad_profile_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'base = "{SCENARIOS / "small_district.toml"}"\n[dispatch.case_mix_by_time]\nenabled = true\n'
        "identification_hourly = [1.0, 2.0]\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "validate", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "dispatch.case_mix_by_time.identification_hourly" in r.stderr and str(bad) in r.stderr


@pytest.mark.slow
def test_night_share_of_identified_eligible_calls_rises_towards_the_audit():
    """mobile_crisis.toml: the share of identified, eligible calls received 01:00-09:00 is ~19% with a constant
    case mix (the MH share of those hours); with the shipped case-mix defaults it is emergent, near 27.7%."""
    base = load_scenario("mobile_crisis")

    def share(sc):
        night = total = 0
        for rep in range(2):
            _, res = cached_run(sc, rep, 3)
            f = mh_frame(res)
            f = f[~f["in_warmup"] & f["eligible"] & f["identified_mh"]]
            h = _hours(f)
            night += int(((h >= 1) & (h < 9)).sum())
            total += len(f)
        return night / total

    off = share(base)
    on = share(with_overrides(base, {"dispatch.case_mix_by_time.enabled": True}))
    assert 0.15 < off < 0.23
    assert 0.24 < on < 0.33 and on > off + 0.04
