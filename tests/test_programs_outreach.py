"""Outreach (ÉCHINOPS, seed 000): the pathway's rules, measured from model runs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.programs.outreach import OutreachProgram
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.loader import read_with_bases, validate_raw
from crisis_sim.sim import CrisisModel, simulate

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "outreach_echinops.toml"
AFTER_CONSENT = {"shared", "caseload_in", "assessment", "meeting", "visit", "stepped_down", "already_in_care"}


def short(days: int = 120, **over):
    sc = load_scenario(SCENARIO)
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 0, **over})


def run(sc, replication: int = 0, seed: int = 0) -> tuple[CrisisModel, OutreachProgram]:
    model = CrisisModel(sc, replication=replication, root_seed=seed).run()
    (program,) = [p for p in model.programs if p.key == "outreach"]
    return model, program


@pytest.fixture(scope="module")
def default_run():
    return run(short(150))


def steps_by_case(program: OutreachProgram) -> dict[int, list[tuple[float, str]]]:
    out: dict[int, list[tuple[float, str]]] = {}
    for t, case_id, step in program.log:
        out.setdefault(case_id, []).append((t, step))
    return out


def check_consent(program: OutreachProgram) -> None:
    steps = steps_by_case(program)
    for case in program.cases:
        names = [s for _, s in steps[case.case_id]]
        if not case.consented:
            assert not case.shared
            assert not AFTER_CONSENT & set(names), (case.case_id, names)
            assert not case.visits
        else:
            first_shared = names.index("shared")
            assert "consent" in names[:first_shared]
            assert not AFTER_CONSENT & set(names[:first_shared])


def check_visits(model: CrisisModel, program: OutreachProgram, officers: int = 2) -> None:
    cfg = program.config
    district_of = {o.unique_id: o.district for o in model.officers}
    for v in program.visits:
        ids = v["officers"]
        assert sum(n for *_, n in ids) >= officers and len({i[:2] for i in ids}) == len(ids), v
        for kind, uid, _ in ids:
            if kind == "patrol":
                assert district_of[uid] == v["district"]
            else:
                assert kind == "crpo" and uid == model.crpos[v["district"]].unique_id
        assert v["t_end"] - v["t_start"] == pytest.approx(v["minutes"])
    # visits take real patrol capacity: each unit's busy time covers the visits it attended
    on_visits = Counter()
    for v in program.visits:
        for kind, uid, _ in v["officers"]:
            if kind == "patrol":
                on_visits[uid] += v["t_end"] - v["t_start"]
    by_id = {o.unique_id: o for o in model.officers}
    assert all(by_id[uid].busy_min >= minutes - 1e-6 for uid, minutes in on_visits.items())
    # the nurse does one thing at a time: visits never overlap
    spans = sorted((v["t_start"], v["t_end"]) for v in program.visits)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end - 1e-6
    # weekly budget: minutes charged to any week never exceed the nurse's weekly time less the meeting
    allotment = cfg.nurse_fte * cfg.hours_per_fte_week * 60 - cfg.meeting_min
    assert max(program.nurse.used_by_week.values()) <= allotment + 1e-6
    per_week = Counter(v["nurse_week"] for v in program.visits)
    shortest = min(v["minutes"] for v in program.visits)
    assert max(per_week.values()) <= allotment / shortest + 1e-9


def caseload_path(program: OutreachProgram) -> list[int]:
    level, path = 0, []
    for _, _, step in sorted(program.log, key=lambda x: x[0]):
        if step == "caseload_in":
            level += 1
        elif step in ("stepped_down", "already_in_care"):
            level -= 1
        path.append(level)
    return path


def test_no_information_shared_without_consent(default_run):
    _, program = default_run
    declined = [c for c in program.cases if not c.consented and c.status == "declined"]
    consented = [c for c in program.cases if c.consented]
    assert declined and consented  # both branches were exercised
    check_consent(program)
    assert sum(c.shared for c in program.cases) == len(consented)


def test_consent_depends_on_trust(default_run):
    model, program = default_run
    p = program.consent_probability
    mean = model.cfg.population.trust_services_mean
    assert p(mean) == pytest.approx(program.config.consent_at_mean_trust)
    assert p(0.1) < p(mean) < p(0.9)
    trust = {True: [], False: []}
    for c in program.cases:
        if c.consented or c.status == "declined":
            trust[c.consented].append(model.residents[c.resident].trust_services)
    assert sum(trust[True]) / len(trust[True]) > sum(trust[False]) / len(trust[False])


def test_every_home_visit_has_two_officers_and_respects_nurse_time(default_run):
    model, program = default_run
    assert len(program.visits) > 20
    check_visits(model, program)
    # patrol time on visits is real patrol capacity: officers' busy minutes include it
    assert program.patrol_visit_min > 0


def test_three_officers_when_configured():
    model, program = run(short(90, **{"programs.outreach.officers_per_visit": 3}))
    assert program.visits
    check_visits(model, program, officers=3)


def test_two_officer_cars_send_one_unit():
    model, program = run(
        short(90, **{"police.officers_per_unit": 2, "programs.outreach.crpo_attends_visits": False})
    )
    assert program.visits
    check_visits(model, program)
    assert all(len(v["officers"]) == 1 and v["officers"][0][2] == 2 for v in program.visits)


def test_scarce_nurse_limits_visits_per_week():
    sc = short(150, **{"programs.outreach.nurse_fte": 0.2, "programs.outreach.station_visits_per_month": 1.0})
    model, program = run(sc)
    check_visits(model, program)
    _, full = run(short(150))
    assert len(program.visits) < len(full.visits)


def test_caseload_never_above_cap():
    model, program = run(short(150, **{"programs.outreach.caseload_cap": 4}))
    path = caseload_path(program)
    assert max(path) == 4  # binding, never above
    assert program.caseload.count <= 4
    assert any(c.status == "dropped_waiting" for c in program.cases) or program.caseload.queue


def test_step_down_refers_ahead_of_waitlist(default_run):
    model, program = default_run
    stepped = [c for c in program.cases if c.status == "stepped_down"]
    assert stepped
    refs = [r for r in model.waitlist.referrals if r.source == "outreach"]
    assert refs and all(r.priority == 0 for r in refs)
    assert {r.resident for r in refs} <= {c.resident for c in stepped}
    by_case = steps_by_case(program)
    for c in stepped:  # nurse visits: a first visit plus the configured follow-ups, after a meeting
        names = [s for _, s in by_case[c.case_id]]
        assert names.count("visit") == 1 + program.config.follow_up_visits
        assert names.index("meeting") < names.index("visit")


def test_station_visits_keep_awareness_up():
    with_visits = run(short(240))[1]
    model, without = run(short(240, **{"programs.outreach.station_visits_per_month": 0.0}))
    cfg = without.config
    start = model.cfg.police.referral_awareness
    assert not without.station_visits and with_visits.station_visits
    a_with, a_without = with_visits.mean_awareness(), without.mean_awareness()
    assert a_without < a_with
    # no reminders: awareness decays towards the floor with the configured half-life
    expected = cfg.awareness_floor + (start - cfg.awareness_floor) * 0.5 ** (
        240 / cfg.awareness_half_life_days
    )
    assert a_without == pytest.approx(expected, rel=1e-6)
    assert len(without.cases) < len(with_visits.cases)


def test_only_participating_districts_refer():
    model, program = run(short(120, **{"programs.outreach.districts": ["station_a", "station_c"]}))
    assert program.cases
    assert {c.district for c in program.cases} <= {0, 2}
    assert {d for _, d in program.station_visits} == {0, 2}
    assert program.crpo[1] is None and model.crpos[1].hours_per_week == 0.0


def test_nurse_post_cut_stops_nurse_work_and_pay():
    """Seed 000 §2.4: the nurse post was cut; from then on only the week's remaining nurse time can be used."""
    cut_day = 63  # a Monday
    model = CrisisModel(short(150), replication=0, root_seed=0)
    (program,) = model.programs
    cut = cut_day * DAY_MIN
    model.env.timeout(cut - 1).callbacks.append(lambda _e: setattr(program.nurse_agent, "in_post", False))
    model.run()
    nurse = program.nurse
    allotment = nurse.allotment
    cut_week = cut_day // 7
    assert sum(m for w, m in nurse.used_by_week.items() if w >= cut_week) <= allotment + 1e-6
    before = sum(1 for v in program.visits if cut - 42 * DAY_MIN <= v["t_start"] < cut)
    after = sum(1 for v in program.visits if cut + 21 * DAY_MIN <= v["t_start"] < cut + 63 * DAY_MIN)
    assert before > 10 and after < before / 5  # only the remnant of the week of the cut can still be used
    assert nurse.paid_counted == pytest.approx(nurse.minutes_per_week * cut_week)
    full = run(short(150))[1]
    assert program.summary()["cost"] < full.summary()["cost"]


def test_switched_off_ledger_identical_to_baseline():
    raw = read_with_bases(SCENARIO)
    raw["simulation"] = {"horizon_days": 90, "warmup_days": 0}
    section = raw["programs"].pop("outreach")
    baseline = validate_raw(raw, "baseline")
    raw["programs"]["outreach"] = {**section, "enabled": False}
    disabled = validate_raw(raw, "disabled")
    _, base = simulate(baseline, 0, 3)
    model, off = simulate(disabled, 0, 3)
    assert not model.programs
    assert base.ledger.equals(off.ledger)
    assert base.referrals.equals(off.referrals)
    _, on = simulate(short(90), 0, 3)
    assert not base.ledger.equals(on.ledger)  # the comparison can fail


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("programs.outreach.officers_per_visit", 1, "officers_per_visit"),
        ("programs.outreach.awareness_floor", 0.9, "awareness_floor"),
        ("programs.outreach.crpo_hours_per_week", 0.5, "crpo_hours_per_week"),
        ("programs.outreach.nurse_fte", "one", "nurse_fte"),
        ("programs.outreach.no_such_key", 1, "no_such_key"),
    ],
)
def test_bad_input_rejected(key, value, fragment):
    with pytest.raises(ScenarioError) as err:
        load_scenario(SCENARIO, {key: value})
    assert fragment in str(err.value) and "programs" in str(err.value)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), cap=st.integers(2, 30), fte=st.sampled_from([0.3, 1.0, 2.0]))
def test_invariants_hold_for_any_seed(seed, cap, fte):
    sc = short(60, **{"programs.outreach.caseload_cap": cap, "programs.outreach.nurse_fte": fte})
    model, program = run(sc, seed=seed)
    check_consent(program)
    if program.visits:
        check_visits(model, program)
    assert max(caseload_path(program), default=0) <= cap


@pytest.mark.slow
def test_outreach_priority_lengthens_regular_waits():
    """Seed 000's equity concern: with scarce intake, step-downs ahead of the queue push regular referrals back."""
    diffs = []
    for rep in range(3):
        sc = short(365, **{"destinations.community_services.intake_slots_per_week": 11})
        off = with_overrides(sc, {"programs.outreach.enabled": False})
        on_wait = simulate(sc, rep, 11)[1].summary["waitlist_wait_days_regular"]
        off_wait = simulate(off, rep, 11)[1].summary["waitlist_wait_days_regular"]
        diffs.append(on_wait - off_wait)
    assert all(d > 0 for d in diffs), diffs
    assert sum(diffs) / len(diffs) > 3.0  # days
