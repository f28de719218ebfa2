"""Community referrals into outreach ([programs.outreach.community_referrals]; programs/outreach_referrals.py)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from crisis_sim import rng
from crisis_sim.programs.outreach import OutreachProgram
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import simulate

CR = "programs.outreach.community_referrals"
SCEN = Path(__file__).resolve().parent.parent / "scenarios"


def _sc(name: str = "outreach_echinops", days: int = 120, **over):
    sc = load_scenario(name)
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 10, **over})


def _outreach(model) -> OutreachProgram:
    return next(p for p in model.programs if p.key == "outreach")


@pytest.fixture(scope="module")
def on_run():
    return simulate(_sc(**{f"{CR}.enabled": True, f"{CR}.rate_elevated": 1.0}), 0, 2)


def test_stream_id_and_no_collisions():
    assert rng.STREAMS["referrals"] == 16 and rng.collisions() == []


def test_off_by_default_patrol_cases_only():
    sc = _sc(days=90)
    assert sc.programs.outreach.community_referrals.enabled is False
    model, res = simulate(sc, 0, 2)
    assert _outreach(model).community is None and "outreach_community_referrals" not in res.summary
    assert set(res.outreach["source"]) == {"patrol"}
    by = res.summary["outreach_cases_by_source"]
    assert by["patrol"] == res.summary["outreach_referrals"] and by["family"] == by["provider"] == by["list"] == 0


def test_sources_recorded_and_counts_add_up(on_run):
    model, res = on_run
    s, frame = res.summary, res.outreach
    assert {"patrol", "family", "provider"} <= set(frame["source"])
    community = frame[frame["source"].isin(["family", "provider"])]
    assert (community["call_id"] == -1).all()  # no police call behind a community referral
    assert sum(s["outreach_cases_by_source"].values()) == s["outreach_referrals"]
    assert sum(s["outreach_consents_by_source"].values()) == s["outreach_consents"]
    made = s["outreach_community_referrals"]
    opened = s["outreach_cases_by_source"]["family"] + s["outreach_cases_by_source"]["provider"]
    skipped = sum(s["outreach_community_not_opened"].values())
    assert opened <= made["family"] + made["provider"] <= opened + skipped + s["outreach_no_crpo"] + s[
        "outreach_suspended_reports"]  # fmt: skip
    assert sum(s["outreach_connected_by_source"].values()) <= s["outreach_stepdown_intakes"]


def test_consent_is_required_before_anything_is_shared_or_visited(on_run):
    """Community cases follow the pathway: no visit without a signed consent, and information shared only after."""
    model, res = on_run
    prog = _outreach(model)
    community = [c for c in prog.cases if c.source in ("family", "provider")]
    assert community
    assert any(c.visits for c in community)
    for c in community:
        if c.shared:
            assert c.consented
        if c.visits:
            assert c.consented and c.t_consent <= prog.visits[c.visits[0]]["t_start"]


def test_no_consent_no_visit():
    sc = _sc(days=90, **{f"{CR}.enabled": True, f"{CR}.rate_elevated": 1.0,
                         "programs.outreach.consent_at_mean_trust": 1e-6})  # fmt: skip
    model, res = simulate(sc, 0, 2)
    frame = res.outreach
    assert (frame["source"] != "patrol").sum() > 5
    assert not frame["consented"].any() and frame["t_first_visit"].isna().all()


def test_caseload_cap_holds_for_community_cases():
    """With a cap of 2, never more than 2 cases (whatever their source) hold a caseload slot at once."""
    sc = _sc(days=150, **{f"{CR}.enabled": True, f"{CR}.rate_elevated": 2.0, "programs.outreach.caseload_cap": 2})
    model, res = simulate(sc, 0, 2)
    prog = _outreach(model)
    delta = {"caseload_in": 1, "already_in_care": -1, "stepped_down": -1}
    level = peak = 0
    for _t, _case, step in sorted(prog.log, key=lambda x: (x[0], delta.get(x[2], 0))):  # leave first
        level += delta.get(step, 0)
        peak = max(peak, level)
    assert peak <= 2 and any(c.source in ("family", "provider") for c in prog.cases if c.in_caseload or c.visits)


def test_referral_rate_matches_the_configured_rate():
    """Every resident at the same rate (state ignored): referrals made are Poisson with mean n x rate x years."""
    rate = 0.5
    sc = _sc(days=120, **{f"{CR}.enabled": True, f"{CR}.rate_elevated": rate, f"{CR}.rate_stable": rate,
                          f"{CR}.engaged_ratio": 1.0,
                          f"{CR}.severity_ratio": {"mild": 1.0, "moderate": 1.0, "severe": 1.0}})  # fmt: skip
    made = []
    for rep in range(3):
        model, _ = simulate(sc, rep, 11)
        made.append(_outreach(model).community.made)
    expected = len(model.residents) * rate * 120 / 365
    total = sum(made)
    assert abs(total - 3 * expected) < 4.5 * math.sqrt(3 * expected), (made, expected)


def test_rate_follows_the_residents_state(monkeypatch):
    """With rate_stable 0, engaged_ratio 0 and mild residents at 0, every referral is of a resident in an elevated
    episode, not engaged in care, and not mild, at the moment it is made."""
    seen = []
    original = OutreachProgram.community_referral

    def spy(self, r, source, process):
        seen.append((r.elevated, r.engaged, r.severity, source))
        return original(self, r, source, process)

    monkeypatch.setattr(OutreachProgram, "community_referral", spy)
    sc = _sc(days=120, **{f"{CR}.enabled": True, f"{CR}.rate_elevated": 2.0, f"{CR}.rate_stable": 0.0,
                          f"{CR}.severity_ratio": {"mild": 0.0, "moderate": 1.0, "severe": 1.0}})  # fmt: skip
    simulate(sc, 0, 4)
    assert len(seen) > 30
    assert all(elev and not eng and sev > 0 for elev, eng, sev, _ in seen)
    family = sum(src == "family" for *_, src in seen) / len(seen)
    assert abs(family - 0.6) < 4.5 * math.sqrt(0.24 / len(seen))


def test_works_with_the_frequent_contact_list():
    sc = _sc("outreach_frequent_contact", days=200, **{
        f"{CR}.enabled": True, f"{CR}.rate_elevated": 1.0,
        "programs.outreach.frequent_contact.first_refresh_day": 60, "programs.outreach.frequent_contact.lookback_days": 60,
    })  # fmt: skip
    _, res = simulate(sc, 0, 2)
    sources = set(res.outreach["source"])
    assert "patrol" not in sources and {"list", "family", "provider"} <= sources


def test_same_seed_same_cases(on_run):
    _, res = on_run
    _, again = simulate(_sc(**{f"{CR}.enabled": True, f"{CR}.rate_elevated": 1.0}), 0, 2)
    pd.testing.assert_frame_equal(res.outreach, again.outreach)
    pd.testing.assert_frame_equal(res.ledger, again.ledger)


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{CR}.sources.family", 0.9, "sum to 1"),
        (f"{CR}.rate_elevated", -1.0, "rate_elevated"),
        (f"{CR}.severity_ratio", {"mild": 1.0}, "missing"),
        (f"{CR}.sources.school", 0.1, "school"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("outreach_echinops"), {path: value})
    text = str(exc.value)
    assert expect in text and CR in text and "\n" not in text.strip()


def test_crisis_sim_run_refuses_a_bad_file_in_one_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(f'base = "{SCEN / "outreach_echinops.toml"}"\nname = "x"\n\n[{CR}]\nenabled = true\n'
                 "rate_elevated = -0.5\n")  # fmt: skip
    out_dir = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "crisis_sim", "run", str(f), "--out", str(out_dir)],
                          capture_output=True, text=True)  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "bad.toml" in lines[0] and f"{CR}.rate_elevated" in lines[0]
    assert not out_dir.exists()


def test_run_writes_the_outreach_frame_and_names_the_sources(tmp_path):
    out_dir = tmp_path / "out"
    f = tmp_path / "on.toml"
    f.write_text(f'base = "{SCEN / "outreach_echinops.toml"}"\nname = "on"\n\n[{CR}]\nenabled = true\n')
    proc = subprocess.run([sys.executable, "-m", "crisis_sim", "run", str(f), "--days", "60", "--out", str(out_dir)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "outreach by way in" in proc.stdout
    frame = pd.read_parquet(out_dir / "outreach_cases.parquet")
    assert "source" in frame.columns and len(frame) > 0
