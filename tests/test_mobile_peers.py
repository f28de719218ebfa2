"""A peer as the mobile team's partner ([programs.mobile_crisis] partner_role = "peer"): a staff post the timeline
reaches (a vacancy stands the team down, or it goes with the clinician alone), and its assumed effect on
engagement (intake attendance, follow-up links)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import cached_run

from crisis_sim.programs.mobile_crisis import MobileCrisis
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DAY = 24 * 60
MC = "programs.mobile_crisis"
PEER = {f"{MC}.partner_role": "peer"}
VACANT_DAY = 30


def vacancy(role: str) -> list[dict]:
    return [{"day": VACANT_DAY, "type": "vacancy", "role": role, "share": 1.0, "program": "mobile_crisis"}]


@functools.cache
def _base(days: int):
    sc = load_scenario(SCENARIOS / "mobile_crisis.toml")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0}, label="<test>")


def run(days: int = 60, seed: int = 0, **over):
    return cached_run(with_overrides(_base(days), over, label="<test>"), 0, seed)


def program(model) -> MobileCrisis:
    return next(p for p in model.programs if p.key == "mobile_crisis")


def team_calls(model):
    return [c for c in model.mh_calls if c.responder == "mobile_crisis"]


def test_partner_is_a_staff_post_with_its_role():
    model, _res = run(**PEER)
    mc = program(model)
    roles = sorted(m.role for t in mc.teams for m in t.members)
    assert roles == ["peer", "social_worker"]
    assert model.timeline is not None


def test_peer_vacancy_stands_the_team_down_by_default():
    model, _res = run(**PEER, timeline=vacancy("peer"))
    calls = team_calls(model)
    assert any(c.t_dispatched < VACANT_DAY * DAY for c in calls)
    assert not any(c.t_dispatched >= VACANT_DAY * DAY for c in calls)
    late = [c for c in model.mh_calls if c.eligible and c.t_received >= VACANT_DAY * DAY]
    assert late and all(c.unserved_reason == "suspended" and c.responder != "mobile_crisis" for c in late)


def test_peer_vacancy_clinician_alone_goes_on_without_the_peer_effect():
    model, res = run(**PEER, **{f"{MC}.without_partner": "clinician_alone"}, timeline=vacancy("peer"))
    mc = program(model)
    calls = team_calls(model)
    before = [c for c in calls if c.t_dispatched < VACANT_DAY * DAY]
    after = [c for c in calls if c.t_dispatched >= VACANT_DAY * DAY]
    assert before and after
    assert all(c.call_id in mc.peer_calls for c in before)  # a peer in post: its calls carry the effect
    assert not any(c.call_id in mc.peer_calls for c in after)
    assert res.summary["mobile_crisis_peer_calls"] == len(before)


def test_emt_partner_has_no_peer_effect_and_default_keeps_summary():
    model, res = run()
    mc = program(model)
    assert mc.peer_or == 1.0 and not mc.peer_calls
    assert "mobile_crisis_peer_calls" not in res.summary


def attendance_from_peer_calls(odds_ratio: float, seeds=(0, 1, 2)):
    attended = total = links = 0
    for seed in seeds:
        over = {**PEER, f"{MC}.peer_engagement_or": odds_ratio, f"{MC}.teams": 2, f"{MC}.follow_up_share": 0.5}
        model, res = run(240, seed, **over)
        mc = program(model)
        refs = [r for r in model.waitlist.referrals if r.call_id in mc.peer_calls and r.t_intake == r.t_intake]
        attended += sum(r.attended for r in refs)
        total += len(refs)
        links += sum(1 for rec in mc.follow_up_records if rec[5])
    return attended / total, links, total


@pytest.mark.slow
def test_peer_odds_ratio_raises_connections():
    """The assumption at work (an input, not a finding): odds x3 lifts attendance of the peer calls' referrals
    and the follow-up links, on the same crises (common random numbers)."""
    p1, links1, n1 = attendance_from_peer_calls(1.0)
    p3, links3, n3 = attendance_from_peer_calls(3.0)
    assert n1 > 60 and n3 > 60
    assert p3 > p1 + 0.08, (p1, p3)
    assert links3 > links1


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{MC}.peer_engagement_or", 0.0, "peer_engagement_or"),
        (f"{MC}.without_partner", "alone", "without_partner"),
        (f"{MC}.partner_role", "nurse", "partner_role"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("mobile_crisis"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()


def test_partner_paid_apart_only_while_in_post():
    cost = {f"{MC}.partner_hour_cost": 40.0}
    model, res = run(**PEER, **cost)
    s = res.summary
    team_h, partner_h = s["mobile_crisis_team_hours"], s["mobile_crisis_partner_hours"]
    assert partner_h == pytest.approx(team_h)
    team_cost = program(model).config.team_hour_cost
    assert s["program_cost"]["mobile_crisis"] == pytest.approx(team_h * team_cost + partner_h * 40.0)
    # the clinician goes alone after the peer's post falls vacant: the partner's hours stop, the team's go on
    alone = {**cost, f"{MC}.without_partner": "clinician_alone"}
    _m, res2 = run(**PEER, **alone, timeline=vacancy("peer"))
    s2 = res2.summary
    assert s2["mobile_crisis_team_hours"] == pytest.approx(team_h)
    assert 0 < s2["mobile_crisis_partner_hours"] < 0.6 * s2["mobile_crisis_team_hours"]
    # unset: the team-hour pays both, as before
    _m, res3 = run(**PEER)
    assert "mobile_crisis_partner_hours" not in res3.summary
