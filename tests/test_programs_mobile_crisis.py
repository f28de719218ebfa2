"""Mobile crisis team: its dispatch rules hold in model runs, backup takes a patrol unit, unserved reasons add up."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
from conftest import cached_run
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import ARREST, DISPOSITION_LABELS
from crisis_sim.programs.mobile_crisis import MobileCrisis
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DAY = 24 * 60
REASONS = ("busy", "off_hours", "out_of_area", "misidentified", "dispatcher_bias")


@functools.cache
def _base(days: int = 60):
    sc = load_scenario(SCENARIOS / "small_district.toml")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0}, label="<test>")


def scenario(days: int = 60, over: dict | None = None, **section):
    return with_overrides(_base(days), {"programs.mobile_crisis": section, **(over or {})}, label="<test>")


def run(days: int = 60, seed: int = 0, over: dict | None = None, **section):
    """Cached (the session's cache, conftest.cached_run): the model is deterministic for a scenario and seed."""
    return cached_run(scenario(days, over, **section), 0, seed)


def program(model) -> MobileCrisis:
    return next(p for p in model.programs if p.key == "mobile_crisis")


# More MH demand and a structured triage protocol (seed 001: ~85% identified), so that one team is often busy.
BUSY_CITY = {"demand.mh_share": 0.15, "dispatch.mh_identification": 0.85}
# A pilot covering one district, B-HEARD hours, a frequent backup so that backups occur in a short run.
PILOT = dict(districts=["north"], start_hour=9.0, end_hour=1.0, backup_probability=0.25, police_bias=0.1)


def test_no_team_dispatched_off_hours_or_out_of_area():
    model, res = run(**PILOT)
    mc = program(model)
    north = [d.name for d in model.cfg.city.districts].index("north")
    served = [c for c in model.mh_calls if c.responder == "mobile_crisis"]
    assert len(served) > 20
    for c in served:
        assert c.district == north
        assert mc.in_hours(c.t_dispatched % DAY), c.t_dispatched
        # eligibility rules: identified MH, assessed low risk, no weapon
        assert c.identified and c.assessed_risk == 0 and not c.weapon
    # and the off-hours / out-of-area calls it could not take did happen, and went to police
    reasons = {c.unserved_reason for c in model.mh_calls if c.eligible}
    assert {"off_hours", "out_of_area"} <= reasons
    for c in model.mh_calls:
        if c.unserved_reason in ("off_hours", "out_of_area"):
            assert c.responder in ("patrol", "")
            if c.unserved_reason == "off_hours":
                assert not mc.in_hours(c.t_received % DAY)
            else:
                assert c.district != north


def test_hours_wrap_past_midnight():
    mc = MobileCrisis(scenario(**PILOT).programs.mobile_crisis)
    mc.start, mc.end = mc.config.hours_mask()
    assert (mc.start, mc.end) == (540, 60)
    assert mc.in_hours(9 * 60) and mc.in_hours(23 * 60) and mc.in_hours(30)
    assert not mc.in_hours(60) and not mc.in_hours(5 * 60) and not mc.in_hours(8 * 60 + 59)


def test_backup_takes_a_patrol_unit_until_the_encounter_ends():
    model, res = run(**PILOT)
    mc = program(model)
    led = res.ledger
    assert len(mc.backups) >= 3
    by_id = {c.call_id: c for c in model.mh_calls}
    units = led["unit"].to_numpy()
    t_disp, t_clear = led["t_dispatched"].to_numpy(), led["t_cleared"].to_numpy()
    for b in mc.backups:
        if "t_officer_released" not in b:
            continue  # still on scene at the horizon
        call = by_id[b["call_id"]]
        officer = next(o for o in model.officers if o.unique_id == b["officer"])
        assert officer.district == call.district
        # the unit is requested during the visit, travels, and stays until the encounter ends
        assert call.t_arrived <= b["t_request"] <= b["t_officer_dispatched"] <= b["t_officer_arrived"]
        assert b["t_officer_arrived"] <= b["t_encounter_end"] <= b["t_officer_released"] <= call.t_cleared
        assert call.officer_min == pytest.approx((b["t_officer_released"] - b["t_officer_dispatched"]) * 1)
        # while on backup, the officer attends no other call
        own = units == officer.unique_id
        overlap = own & (t_disp < b["t_officer_released"]) & (t_clear > b["t_officer_dispatched"])
        assert not overlap.any()
    summary_backups = sum(1 for b in mc.backups if b["counted"])
    assert res.summary["backup_requests"] == summary_backups == len(mc.backups)


def test_team_alone_never_arrests_or_uses_force():
    model, _ = run(**PILOT)
    backed = {b["call_id"] for b in program(model).backups}
    alone = [c for c in model.mh_calls if c.responder == "mobile_crisis" and c.call_id not in backed]
    assert alone
    assert all(
        c.disposition != ARREST and not c.force and c.officer_min == 0 for c in alone if c.disposition >= 0
    )


def test_no_backup_when_probability_zero_and_team_time_on_scene_counts():
    model, res = run(backup_probability=0.0)
    assert program(model).backups == [] and res.summary["backup_requests"] == 0
    assert res.summary["handled_by"]["mobile_crisis"] > 0


def test_unserved_reasons_add_up():
    model, res = run(**PILOT)
    s = res.summary
    by = s["unserved_eligible_by_reason"]
    assert set(REASONS) <= set(by)
    assert s["eligible_mh_calls"] == s["specialized_served"] + sum(by.values())
    led = res.ledger
    mh = led[led["mh"] & (led["disposition"].astype(str) != "open")]
    eligible = mh[mh["eligible"]]
    served = eligible[eligible["responder"].astype(str) == "mobile_crisis"]
    assert (served["unserved_reason"] == "").all()
    assert len(eligible) == len(served) + (eligible["unserved_reason"] != "").sum()
    for r in REASONS[1:4]:
        assert by[r] == int((eligible["unserved_reason"] == r).sum())
    assert s["specialized_coverage"] == pytest.approx(len(served) / len(eligible))


def test_busy_means_every_team_was_out():
    model, res = run(over=BUSY_CITY, teams=1, police_bias=0.0)
    calls = model.mh_calls
    busy = [c for c in calls if c.unserved_reason == "busy"]
    visits = [(c.t_dispatched, c.t_cleared if not math.isnan(c.t_cleared) else math.inf)
              for c in calls if c.responder == "mobile_crisis"]  # fmt: skip
    assert busy, "one team in a 60-day run should be busy sometimes"
    for c in busy:
        assert any(t0 <= c.t_received < t1 for t0, t1 in visits), c.call_id


def test_wait_tolerance_holds_calls_briefly():
    model, res = run(over=BUSY_CITY, teams=1, police_bias=0.0, wait_tolerance_min=20.0)
    waited = [c.t_dispatched - c.t_received for c in model.mh_calls if c.responder == "mobile_crisis"]
    assert max(waited) <= 20.0 + 1e-9 and max(waited) > 0
    for c in model.mh_calls:
        if c.unserved_reason == "busy":
            assert c.responder in ("patrol", "") and (
                math.isnan(c.t_dispatched) or c.t_dispatched >= c.t_received + 20.0 - 1e-9
            )


def test_police_bias_one_sends_every_eligible_call_to_police():
    model, res = run(police_bias=1.0)
    assert res.summary["handled_by"].get("mobile_crisis", 0) == 0
    assert res.summary["unserved_eligible_by_reason"]["dispatcher_bias"] > 0


def test_teams_are_clinician_agents_and_utilisation_is_a_share():
    model, res = run(teams=3, partner_role="peer")
    mc = program(model)
    roles = sorted(m.role for t in mc.teams for m in t.members)
    assert roles == ["peer"] * 3 + ["social_worker"] * 3
    assert 0 < res.summary["program_staff_utilisation"]["mobile_crisis"] <= 1
    # cost: team hours on duty (16 h a day, overtime included) times the hourly rate
    hours, days = res.summary["mobile_crisis_team_hours"], 60
    assert 3 * 16 * days <= hours <= 3 * 16 * days + 3 * 4 * days  # at most 4 h of overtime a team-day
    assert res.summary["program_cost"]["mobile_crisis"] == pytest.approx(hours * 150.0)


def test_monthly_series_has_program_columns():
    _, res = run(**PILOT)
    ts = res.timeseries
    assert {"mobile_crisis_calls", "backup_requests"} <= set(ts.columns)
    assert ts["mobile_crisis_calls"].sum() == res.summary["handled_by"]["mobile_crisis"]  # no warm-up here
    assert ts["backup_requests"].sum() == res.summary["backup_requests"]


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"districts": ["nowhere"]}, "programs.mobile_crisis.districts"),
        ({"districts": []}, "at least one district"),
        ({"start_hour": 25.0}, "start_hour"),
        ({"police_bias": 1.5}, "police_bias"),
        ({"teams": 0}, "teams"),
        ({"max_assessed_risk": "high"}, "max_assessed_risk"),
        ({"disposition_odds": {"arrest": 1.0}}, "disposition_odds"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_schema_rejects_bad_sections(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(_base(), {"programs.mobile_crisis": section}, label="city.toml")
    text = str(exc.value)
    assert needle in text and "expected" in text and "found" in text
    assert all(line.startswith("city.toml") for line in exc.value.lines)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), days=st.integers(10, 40), teams=st.integers(1, 3),
       start=st.integers(0, 23), length=st.integers(1, 24))  # fmt: skip
def test_rules_hold_for_any_seed_and_hours(seed, days, teams, start, length):
    end = (start + length) % 24
    model, res = run(
        days, seed, teams=teams, start_hour=float(start), end_hour=float(end), backup_probability=0.05
    )
    mc = program(model)
    for c in model.mh_calls:
        if c.responder == "mobile_crisis":
            assert (
                mc.in_hours(c.t_dispatched % DAY) and not c.weapon and c.assessed_risk == 0 and c.identified
            )
        if c.disposition >= 0:
            assert DISPOSITION_LABELS[c.disposition]
    s = res.summary
    assert s["eligible_mh_calls"] == s["specialized_served"] + sum(s["unserved_eligible_by_reason"].values())
    assert 0 <= s["program_staff_utilisation"]["mobile_crisis"] <= 1
    assert 0 <= mc.on_duty <= teams and res.timeseries["mobile_crisis_teams_on_duty"].between(0, teams).all()


@pytest.mark.slow
def test_backup_share_matches_the_parameter():
    """Backup requests are a per-call probability (CAHOOTS ~0.6%); check the rate at a larger value over a year."""
    p = 0.05
    model, res = run(365, 1, over=BUSY_CITY, teams=3, backup_probability=p)
    n = res.summary["handled_by"]["mobile_crisis"]
    k = len(program(model).backups)
    assert n > 500
    sd = math.sqrt(p * (1 - p) / n)
    assert abs(k / n - p) < 4 * sd, (k, n)


# --- risk-based safety (risk_based_safety): backup and clinician injury follow the call's true risk and weapon ---
SAFETY = dict(risk_based_safety=True, max_assessed_risk="medium")


def test_safety_off_by_default_and_summary_has_no_injury_key():
    cfg = load_scenario("mobile_crisis").programs.mobile_crisis
    assert cfg.risk_based_safety is False
    _, res = run()
    assert "clinician_injuries" not in res.summary


@settings(max_examples=40, deadline=None)
@given(low=st.floats(0.0, 0.5), med=st.floats(0.0, 0.5), high=st.floats(0.0, 0.5), weapon_or=st.floats(1.0, 10.0))
def test_backup_risk_is_by_true_risk_and_a_weapon_raises_it(low, med, high, weapon_or):
    cfg = scenario(
        risk_based_safety=True, backup_by_true_risk={"low": low, "medium": med, "high": high}, backup_weapon_or=weapon_or
    ).programs.mobile_crisis
    for risk, p in enumerate((low, med, high)):
        assert cfg.backup_risk(risk, False) == p
        assert p <= cfg.backup_risk(risk, True) <= 1.0


def test_backup_only_on_truly_high_risk_calls_when_only_those_escalate():
    model, res = run(120, over=BUSY_CITY, teams=3, backup_by_true_risk={"low": 0.0, "medium": 0.0, "high": 1.0},
                     **SAFETY)  # fmt: skip
    calls = {c.call_id: c for c in model.mh_calls}
    backups = program(model).backups
    served_high = [c for c in model.mh_calls if c.program == "mobile_crisis" and c.risk == 2]
    assert backups and served_high  # dispatch assessed them medium: triage errors send teams to risky calls
    assert all(calls[b["call_id"]].risk == 2 for b in backups)
    assert len(backups) == len(served_high)


def test_unreported_weapons_reach_teams_only_under_the_switch():
    over = {**BUSY_CITY, "dispatch.weapon_share": 0.3}
    model, _ = run(90, over=over, teams=3, risk_based_safety=True, weapon_reported_share=0.0)
    assert any(c.weapon for c in model.mh_calls if c.program == "mobile_crisis")
    model, _ = run(90, over=over, teams=3, risk_based_safety=True, weapon_reported_share=1.0)
    assert not any(c.weapon for c in model.mh_calls if c.program == "mobile_crisis")
    model, _ = run(90, over=over, teams=3)
    assert not any(c.weapon for c in model.mh_calls if c.program == "mobile_crisis")


def test_clinician_injuries_are_counted_per_backup():
    section = dict(SAFETY, teams=3, backup_by_true_risk={"low": 0.1, "medium": 0.1, "high": 0.1})
    model, res = run(90, over=BUSY_CITY, clinician_injury_given_backup=1.0, **section)
    n = res.summary["backup_requests"]
    assert n > 0 and res.summary["clinician_injuries"] == n
    model, res = run(90, over=BUSY_CITY, clinician_injury_given_backup=0.0, **section)
    assert res.summary["backup_requests"] == n and res.summary["clinician_injuries"] == 0


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"backup_by_true_risk": {"low": 0.1, "medium": 0.1}}, "backup_by_true_risk"),
        ({"backup_by_true_risk": {"low": 0.1, "medium": 0.1, "high": 1.2}}, "backup_by_true_risk.high"),
        ({"weapon_reported_share": 1.5}, "weapon_reported_share"),
        ({"backup_weapon_or": 0.0}, "backup_weapon_or"),
        ({"risk_based_safety": 1}, "risk_based_safety"),
    ],
)
def test_schema_rejects_bad_safety_settings(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(_base(), {"programs.mobile_crisis": section}, label="city.toml")
    assert len(exc.value.lines) == 1
    line = exc.value.lines[0]
    assert line.startswith("city.toml") and f"programs.mobile_crisis.{needle}" in line and "expected" in line


@pytest.mark.slow
def test_widening_eligibility_raises_the_backup_rate_under_risk_based_safety():
    """Shipped eligibility (assessed low): about CAHOOTS's 0.6%; assessed medium admitted: clearly more."""

    def rate(**section):
        n = k = 0
        for seed in range(3):
            model, res = run(365, seed, over=BUSY_CITY, teams=3, risk_based_safety=True, **section)
            n += res.summary["handled_by"]["mobile_crisis"]
            k += res.summary["backup_requests"]
        return k / n, n

    shipped, n = rate()
    widened, m = rate(max_assessed_risk="medium")
    assert n > 1500 and m > n
    assert 0.002 < shipped < 0.012
    assert widened > 2 * shipped
