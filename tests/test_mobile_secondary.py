"""Secondary mobile-team response requested by officers from the scene ([programs.mobile_crisis]
secondary_response): only eligible police-attended calls, only a free team within hours, officers' time falls,
the team's rises; off adds nothing."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cached_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_sim.model.dispositions import ARREST
from crisis_sim.programs.mobile_crisis import MobileCrisis
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DAY = 24 * 60
MC = "programs.mobile_crisis"
ON = {f"{MC}.secondary_response": True, f"{MC}.secondary_request_share": 0.6}


@functools.cache
def _base(days: int):
    sc = load_scenario(SCENARIOS / "mobile_crisis.toml")
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0}, label="<test>")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "crisis_sim", *map(str, args)], capture_output=True, text=True)


def run(days: int = 90, seed: int = 0, **over):
    return cached_run(with_overrides(_base(days), over, label="<test>"), 0, seed)


def program(model) -> MobileCrisis:
    return next(p for p in model.programs if p.key == "mobile_crisis")


def test_off_adds_no_column_no_requester_no_summary():
    model, res = run()
    assert model.scene_requesters == []
    assert "secondary_team" not in res.ledger.columns
    assert not any(k.startswith("secondary") for k in res.summary)
    assert program(model).secondary_records == []


def test_hand_overs_only_on_eligible_police_calls_within_hours():
    model, res = run(**ON)
    mc = program(model)
    north_only = mc.covered
    handed = [c for c in model.mh_calls if c.call_id in mc.secondary_calls]
    assert len(handed) >= 10
    for c in handed:
        assert c.responder in ("patrol", "cit") and c.program == ""  # the ledger's responder stays police
        assert c.risk <= mc.max_risk and not c.weapon  # safe on scene: true risk and weapon
        assert north_only is None or c.district in north_only
        assert c.disposition != ARREST  # the team's odds: no arrest without police
        # the officers were released at the hand-over: their time covers travel, securing and the wait, and ends
        # before the call (the team's scene time and hand-off) does
        per_unit = c.officer_min / model.cfg.police.officers_per_unit
        assert c.t_arrived - c.t_dispatched + mc.config.secondary_secure_min - 1e-6 <= per_unit
        assert per_unit < c.t_cleared - c.t_dispatched
    for _cid, _counted, served, t, _saved, _team in mc.secondary_records:
        if served:
            assert mc.in_hours(t % DAY), t
    ledger = res.ledger.set_index("call_id")
    flagged = set(ledger.index[ledger["secondary_team"]])
    assert flagged == mc.secondary_calls
    assert res.summary["secondary_responses"] <= res.summary["secondary_requests"]


def test_officer_time_falls_and_team_time_rises():
    model_off, off = run()
    model_on, on = run(**ON)
    mc = program(model_on)
    mh_off = off.ledger[off.ledger["mh"]]
    mh_on = on.ledger[on.ledger["mh"]]
    assert on.summary["secondary_responses"] > 0
    assert mh_on["officer_min"].sum() < mh_off["officer_min"].sum()
    assert program(model_on).busy_min > program(model_off).busy_min
    # the same crises (CRN): the handed-over calls took the officers less time than without the team
    key = ["resident", "crisis"]
    handed = mh_on[mh_on["secondary_team"]].set_index(key)["officer_min"]
    before = mh_off.set_index(key)["officer_min"].reindex(handed.index)
    assert handed.sum() < before.sum()
    assert on.summary["secondary_team_hours"] > 0
    assert mc.secondary_calls


def test_no_response_while_the_team_is_busy_or_gone():
    """One team held for days by each visit: requests in the meantime find no team and the officers carry on."""
    long_visits = {
        f"{MC}.on_scene": {"kind": "lognormal", "median_min": 3000.0, "p90_min": 5000.0},
        f"{MC}.start_hour": 0.0,
        f"{MC}.end_hour": 0.0,
        f"{MC}.secondary_request_share": 1.0,
    }
    model, _res = run(60, **{**ON, **long_visits})
    mc = program(model)
    served = [r for r in mc.secondary_records if r[2]]
    refused = [r for r in mc.secondary_records if not r[2]]
    assert refused and len(refused) > len(served)
    # the team's busy intervals (own calls and hand-overs) never overlap: a hand-over needs the team free
    spans = [(c.t_dispatched, c.t_cleared) for c in model.mh_calls if c.responder == "mobile_crisis"]
    spans += [(t, t + team) for _c, _k, ok, t, _s, team in mc.secondary_records if ok]
    spans.sort()
    for (_a0, a1), (b0, _b1) in zip(spans, spans[1:], strict=False):
        assert b0 >= a1 - 1e-9
    for cid, *_ in refused:
        assert cid not in mc.secondary_calls


def test_no_request_after_the_program_ends():
    model, _res = run(60, **ON, timeline=[{"day": 20, "type": "end_program", "program": "mobile_crisis"}])
    mc = program(model)
    assert any(r[2] for r in mc.secondary_records)
    assert all(t < 20 * DAY for _c, _k, ok, t, _s, _m in mc.secondary_records if ok)


def test_off_hours_no_request():
    """A team on duty 09:00-17:00 takes no hand-over whose request falls outside those hours."""
    model, _res = run(**ON, **{f"{MC}.start_hour": 9.0, f"{MC}.end_hour": 17.0})
    mc = program(model)
    times = [t % DAY for _c, _k, ok, t, _s, _m in mc.secondary_records if ok]
    assert times and all(9 * 60 <= t < 17 * 60 for t in times)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(share=st.floats(0.05, 1.0), secure=st.floats(0.0, 30.0), seed=st.integers(0, 3))
def test_invariants(share, secure, seed):
    over = {**ON, f"{MC}.secondary_request_share": share, f"{MC}.secondary_secure_min": secure}
    model, res = cached_run(with_overrides(_base(30), over, label="<test>"), 0, seed)
    mc = program(model)
    s = res.summary
    assert 0 <= s["secondary_responses"] <= s["secondary_requests"] == len(mc.secondary_records)
    assert len(mc.secondary_calls) == s["secondary_responses"]
    for c in model.mh_calls:
        if c.call_id in mc.secondary_calls:
            assert not c.weapon and c.risk <= mc.max_risk and c.responder in ("patrol", "cit")


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{MC}.secondary_request_share", 1.5, "secondary_request_share"),
        (f"{MC}.secondary_response", "yes", "secondary_response"),
        (f"{MC}.secondary_secure_min", -1, "secondary_secure_min"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("mobile_crisis"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()


def test_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'base = "{SCENARIOS / "mobile_crisis.toml"}"\n[programs.mobile_crisis]\nsecondary_request_share = 2\n'
    )
    out = tmp_path / "o"
    r = cli("run", bad, "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "bad.toml" in lines[0] and "programs.mobile_crisis.secondary_request_share" in lines[0]
    assert not out.exists()

