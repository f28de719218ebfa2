"""Trust that moves and matters ([population.trust_dynamics]; model/trust.py)."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim import rng
from crisis_sim.model.dispositions import ARREST, REFERRAL, RESOLVED
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import CrisisModel, simulate

TD = "population.trust_dynamics"
SMALL = Path(__file__).resolve().parent.parent / "scenarios" / "small_district.toml"


def _sc(name: str = "small_district", days: int = 120, **over):
    return with_overrides(load_scenario(name), {"simulation.horizon_days": days, **over})


@pytest.fixture(scope="module")
def off_run():
    return simulate(_sc(), 0, 5)


@pytest.fixture(scope="module")
def on_run():
    # strong settings so that a short run shows every effect
    sc = _sc(
        **{f"{TD}.enabled": True, f"{TD}.uncalled_per_lost_trust": 2.0, f"{TD}.force_or_per_lost_trust": 6.0}
    )
    return simulate(sc, 0, 5)


def test_stream_id_and_no_collisions():
    assert rng.STREAMS["trust"] == 15 and rng.collisions() == []


def test_off_by_default_nothing_added(off_run):
    model, res = off_run
    assert model.cfg.population.trust_dynamics.enabled is False and model.trust is None
    assert "crises_uncalled" not in res.summary


def test_on_counts_uncalled_crises_and_reports_trust(on_run, off_run):
    model, res = on_run
    s = res.summary
    warm = model.cfg.simulation.warmup_days * 1440.0
    assert s["crises_uncalled"] > 0 and s["crises_uncalled"] == sum(
        t >= warm for *_, t in model.trust.uncalled
    )
    assert s["mh_calls"] < off_run[1].summary["mh_calls"]  # uncalled crises never become calls
    assert s["residents_coerced"] + s["residents_not_coerced"] == len(model.residents)
    # people with a coercive contact end with less trust in police than the others
    assert s["trust_police_mean_end_coerced"] < s["trust_police_mean_end_not_coerced"]
    # every uncalled crisis belongs to someone who had lost trust in police
    lost = {i for i, _k, _t in model.trust.uncalled}
    assert all(model.trust.police0[i] > model.residents[i].trust_police for i in lost)


def test_the_same_until_trust_moves(on_run, off_run):
    """Trust is measured against each person's start: the first calls are identical with the switch on."""
    on, off = on_run[1].ledger, off_run[1].ledger
    first_coercion = off[off["disposition"].isin(["arrest", "involuntary"]) | off["force"]][
        "t_received"
    ].min()
    a = on[on["t_received"] < first_coercion].reset_index(drop=True)
    b = off[off["t_received"] < first_coercion].reset_index(drop=True)
    assert len(a) > 0 and a.equals(b)


def test_same_seed_same_ledger(on_run):
    sc = on_run[0].cfg
    again = simulate(sc, 0, 5)[1]
    assert (
        again.ledger.equals(on_run[1].ledger)
        and again.summary["crises_uncalled"] == on_run[1].summary["crises_uncalled"]
    )


def _model(**over):
    sc = _sc(days=40, **{f"{TD}.enabled": True, "simulation.warmup_days": 0, **over})
    return CrisisModel(sc, replication=0, root_seed=1)


class _Call:
    def __init__(self, disposition, responder, force=False):
        self.disposition, self.responder, self.force = disposition, responder, force


def test_helpful_contacts_raise_trust_and_coercion_does_not():
    m = _model()
    t, r = m.trust, m.residents[0]
    p0, s0 = r.trust_police, r.trust_services
    t.after_encounter(_Call(RESOLVED, "patrol"), r)
    assert r.trust_police == pytest.approx(p0 + 0.04 * (1 - p0)) and r.trust_services == s0
    t.after_encounter(_Call(REFERRAL, "mobile_crisis"), r)  # referral by a civilian team: services only
    assert r.trust_services == pytest.approx(s0 + 0.05 * (1 - s0))
    before = (r.trust_police, r.trust_services)
    t.after_encounter(_Call(ARREST, "patrol"), r)
    t.after_encounter(_Call(RESOLVED, "patrol", force=True), r)
    assert (r.trust_police, r.trust_services) == before and 0 in t.coerced


def test_lost_trust_raises_force_odds_and_the_uncalled_probability():
    m = _model(**{f"{TD}.force_or_per_lost_trust": 4.0})
    t, r = m.trust, m.residents[0]
    # nothing lost yet: no draw, no change
    assert t.force_probability(0.1, r) == 0.1 and not t.goes_uncalled(r)
    m.adjust_trust(r, police=-0.5)
    lost = t.lost_police(r)
    assert lost > 0
    odds = 0.1 / 0.9 * 4.0**lost
    assert t.force_probability(0.1, r) == pytest.approx(odds / (1 + odds))
    assert t.line_extra(r) == pytest.approx(0.5 * lost)


@functools.cache
def _shared_model():
    return _model()


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([RESOLVED, REFERRAL, ARREST]),
            st.sampled_from(["patrol", "mobile_crisis"]),
            st.booleans(),
            st.floats(-1.0, 1.0),
        ),  # fmt: skip
        max_size=40,
    ),
    gain=st.floats(0.0, 1.0),
)
def test_trust_stays_in_unit_interval(steps, gain):
    m = _shared_model()
    t, r = m.trust, m.residents[3]
    t.cfg = t.cfg.model_copy(update={"police_gain": gain, "services_gain": gain})
    for disp, responder, connect, shock in steps:
        t.after_encounter(_Call(disp, responder), r)
        if connect:
            t.after_connection(r)
        m.adjust_trust(r, police=shock, services=-shock)
        assert 0.0 <= r.trust_police <= 1.0 and 0.0 <= r.trust_services <= 1.0
        assert 0.0 <= t.force_probability(0.3, r) <= 1.0


def test_line_takes_more_when_trust_in_police_is_lost():
    sc = _sc(
        days=120,
        **{
            f"{TD}.enabled": True,
            f"{TD}.line_per_lost_police_trust": 5.0,
            "channels.crisis_line.enabled": True,
        },
    )
    on = simulate(sc, 0, 5)[1].summary
    base = simulate(with_overrides(sc, {f"{TD}.enabled": False}), 0, 5)[1].summary
    assert on["line_contacts"] > base["line_contacts"]


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{TD}.police_gain", 1.5, "police_gain"),
        (f"{TD}.uncalled_max", -0.1, "uncalled_max"),
        (f"{TD}.force_or_per_lost_trust", 0.5, "force_or_per_lost_trust"),
        (f"{TD}.police_responders", ["Patrol Car"], "police_responders"),
        (f"{TD}.enabled", "yes", "enabled"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("small_district"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()


def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path):
    f = tmp_path / "city.toml"
    f.write_text(
        f'base = "{SMALL}"\nname = "x"\n\n[population.trust_dynamics]\nenabled = true\nservices_gain = 2\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "validate", str(f)], capture_output=True, text=True
    )
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1
    assert "city.toml" in lines[0] and "population.trust_dynamics.services_gain" in lines[0]


def test_run_summary_text_names_trust(on_run, off_run):
    from crisis_sim.cli.run import format_summary

    ids = {"scenario": "x", "seed": 5, "replication": 0}
    assert "crises nobody called" in format_summary({**on_run[1].summary, **ids}, 120)
    assert "crises nobody called" not in format_summary({**off_run[1].summary, **ids}, 120)


def test_moved_trust_flows_into_attendance_at_intake():
    """(b) attendance at the step-down intake reads the moved trust in services; a connection raises it again."""
    from crisis_sim.model import calls as C
    from crisis_sim.model.destinations import Referral

    m = _model()
    pop, cs = m.cfg.population, m.cfg.destinations.community_services
    r = next(
        x
        for x in m.residents
        if cs.attendance_at_mean_trust * x.trust_services / pop.trust_services_mean < 0.5
    )
    p_before = cs.attendance_at_mean_trust * r.trust_services / pop.trust_services_mean
    lat = [0.5] * rng.N_LATENTS
    lat[C.U_ATTEND] = p_before + 0.01  # would not attend at the starting trust
    for _ in range(10):  # referrals by a clinician team raise trust in services
        m.trust.after_encounter(_Call(REFERRAL, "mobile_crisis"), r)
    trust_before_intake = r.trust_services
    assert cs.attendance_at_mean_trust * trust_before_intake / pop.trust_services_mean > lat[C.U_ATTEND]
    r.waitlisted = True
    m._intake(Referral(r.idx, 1, 0, 0.0, 1, "encounter", lat))
    assert m.counters["connected_to_services"] == 1 and r.engaged
    assert r.trust_services > trust_before_intake  # the connection itself is a helpful contact


def test_moved_trust_flows_into_outreach_consent():
    m = CrisisModel(
        with_overrides(
            load_scenario("outreach_echinops"),
            {"simulation.horizon_days": 40, "simulation.warmup_days": 0, f"{TD}.enabled": True},
        ),
        replication=0,
        root_seed=1,
    )
    outreach = next(p for p in m.programs if p.key == "outreach")
    r = m.residents[0]
    before = outreach.consent_probability(r.trust_services)
    m.trust.after_encounter(_Call(REFERRAL, "co_response"), r)
    assert outreach.consent_probability(r.trust_services) > before


@settings(max_examples=6, deadline=None)
@given(
    gain=st.floats(0.0, 1.0),
    uncalled=st.floats(0.0, 5.0),
    force_or=st.floats(1.0, 100.0),
    loss=st.floats(0.0, 1.0),
    rep=st.integers(0, 3),
)
def test_trust_stays_in_unit_interval_over_a_run(gain, uncalled, force_or, loss, rep):
    sc = _sc(
        days=30,
        **{
            f"{TD}.enabled": True,
            f"{TD}.police_gain": gain,
            f"{TD}.services_gain": gain,
            f"{TD}.uncalled_per_lost_trust": uncalled,
            f"{TD}.force_or_per_lost_trust": force_or,
            "dispositions.coercion_trust_loss": loss,
            "simulation.warmup_days": 0,
        },
    )
    model, res = simulate(sc, rep, 2)
    assert all(0.0 <= r.trust_police <= 1.0 and 0.0 <= r.trust_services <= 1.0 for r in model.residents)
    assert 0 <= res.summary["crises_uncalled"] <= len(model.trust.uncalled)
    assert 0.0 <= res.summary["trust_police_mean_end"] <= 1.0
