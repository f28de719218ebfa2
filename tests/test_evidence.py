"""crisis_sim.analysis.evidence: the packaged file, bad files, joint draws, applying a draw."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from crisis_sim.analysis.evidence import apply_draw, draw, load_evidence, overrides_for, parse_evidence
from crisis_sim.scenario import ScenarioError, load_scenario

PROGRAM_EFFECTS = (
    "programs.co_response.arrest_or", "programs.co_response.involuntary_or", "programs.co_response.referral_or",
    "programs.co_response.voluntary_transport_or", "programs.co_response.force_or", "programs.cit.arrest_or",
    "programs.cit.force_or", "programs.cit.referral_or_max", "programs.mobile_crisis.backup_probability",
    "programs.mobile_crisis.disposition_odds.referral", "programs.mobile_crisis.disposition_odds.involuntary",
    "programs.triage.identification", "programs.triage.phone_resolution_share",
    "programs.outreach.consent_at_mean_trust", "programs.outreach.crpo_champion_strength",
    "population.engaged_hazard_ratio", "dispositions.mh_on_scene", "destinations.ed.handover.minutes",
    "costs.officer_hour", "costs.ed_visit", "costs.jail_day",
)  # fmt: skip


def _entry(**kw):
    base = {"name": "x", "path": "programs.co_response.arrest_or", "source": "assumption: test 0.1-1",
            "why": "test", "distribution": "uniform", "low": 0.1, "high": 1.0}  # fmt: skip
    base.update(kw)
    return {"entries": [{k: v for k, v in base.items() if v is not None}]}


def test_default_file_covers_the_program_effects_and_cites_sources():
    ev = load_evidence()
    paths = {e.path for e in ev.entries}
    missing = [p for p in PROGRAM_EFFECTS if p not in paths]
    assert not missing
    assert all(e.source and e.why for e in ev.entries)
    assert {o.name for o in ev.options} == {"cit_compton2014", "mobile_backup_cahoots"}


def test_lognormal_from_an_odds_ratio_ci_reproduces_the_interval():
    ev = load_evidence()
    e = next(x for x in ev.entries if x.name == "co_response_arrest_or")
    assert e.dist.median() == pytest.approx(0.48)
    assert e.dist.ppf([0.025, 0.975]) == pytest.approx(
        [0.48 / math.sqrt(0.92 / 0.25), 0.48 * math.sqrt(0.92 / 0.25)]
    )


def test_beta_from_counts():
    e = next(x for x in load_evidence().entries if x.name == "mobile_backup_probability")
    assert e.dist.mean() == pytest.approx(1 / 750)


def test_structural_option_replaces_the_entry_for_its_path():
    ev = load_evidence(options=["cit_compton2014"])
    cit = {e.path: e for e in ev.entries}["programs.cit.arrest_or"]
    assert cit.name == "cit_arrest_or_compton" and cit.dist.median() == pytest.approx(0.47)
    with pytest.raises(ScenarioError, match="an option of this file"):
        load_evidence(options=["nope"])


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"path": "programs.co_response.nope"}, "a path of the scenario schema"),
        ({"distribution": "normal", "low": None, "high": None, "mean": 0.5, "sd": -1.0}, "sd"),
        ({"low": 0.9, "high": 0.2}, "low < high"),
        ({"distribution": "lognormal_ci", "low": -0.2, "high": 0.9, "estimate": 0.5}, "greater than 0"),
        ({"path": "programs.triage.identification", "low": 0.5, "high": 1.5}, "schema's bounds"),
        ({"distribution": "gamma"}, "one of lognormal_ci"),
        ({"source": "my notes"}, "references.md"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_entries_give_one_line_naming_the_entry(kw, expected):
    with pytest.raises(ScenarioError) as info:
        parse_evidence(_entry(**kw), "ev.toml")
    lines = info.value.lines
    assert len(lines) == 1 and lines[0].startswith("ev.toml: entries[0]") and expected in lines[0]


def test_draws_are_reproducible_and_follow_the_distributions():
    ev = load_evidence()
    a, b = draw(ev, 64, seed=5), draw(ev, 64, seed=5)
    assert a.equals(b) and not a.equals(draw(ev, 64, seed=6))
    x = a["co_response_arrest_or"].to_numpy()
    # a Latin hypercube puts exactly one draw in each 1/64 probability stratum
    e = next(x for x in ev.entries if x.name == "co_response_arrest_or")
    strata = np.floor(e.dist.cdf(x) * 64).astype(int)
    assert sorted(strata) == list(range(64))


def test_overrides_skip_programs_the_strategy_does_not_run_and_scale_durations():
    ev = load_evidence()
    values = draw(ev, 1, seed=0).iloc[0]
    police = load_scenario("small_district")
    ov = overrides_for(police, ev, values)
    assert not any(p.startswith("programs.") for p in ov)
    co = load_scenario("co_response")
    ov_co = overrides_for(co, ev, values)
    assert ov_co["programs.co_response.arrest_or"] == pytest.approx(values["co_response_arrest_or"])
    scale = values["police_on_scene_scale"]
    median = police.dispositions.mh_on_scene.median_min
    assert ov["dispositions.mh_on_scene.median_min"] == pytest.approx(median * scale)
    applied = apply_draw(co, ev, values, 0)
    assert applied.programs.co_response.arrest_or == pytest.approx(values["co_response_arrest_or"])


def test_packaged_file_is_package_data_and_valid_toml():
    text = resources.files("crisis_sim.evidence").joinpath("default.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["entries"]
