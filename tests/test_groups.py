"""Who is affected ([population.groups]): off changes nothing, on with no assumed differences changes nothing but
adds group columns and by_group, assumed differences act through the latent uniforms as stated, bad input is one
line (exit 2 from the command line)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, cached_run, short
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model import calls as C
from crisis_sim.model.groups import odds_uniform
from crisis_sim.outcomes.groups import GROUP_COUNTS, group_column
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

TWO = {"categories": {"a": 0.6, "b": 0.4}}


def small(days: int = 90, **groups):
    sc = short(load_scenario(SCENARIOS / "small_district.toml"), days)
    return with_overrides(sc, {"population.groups": groups}, label="<test>") if groups else sc


def test_off_by_default_adds_nothing():
    assert load_scenario("small_district").population.groups.enabled is False
    model, res = cached_run(small())
    assert model.groups is None
    assert "by_group" not in res.summary
    assert not [c for c in res.ledger.columns if c.startswith("group_")]


def test_on_without_differences_keeps_every_ledger_column_and_adds_the_groups():
    _, off = cached_run(small())
    model, on = cached_run(small(enabled=True, attributes={"ethnicity": TWO, "housing": {"from_resident": "housing"}}))
    added = [c for c in on.ledger.columns if c not in off.ledger.columns]
    assert added == [group_column("ethnicity"), group_column("housing")]
    pd.testing.assert_frame_equal(off.ledger, on.ledger[off.ledger.columns])
    assert not model.groups.any_effect
    # the housing attribute is the resident's own unhoused flag; non-MH calls carry no category
    mh = on.ledger[on.ledger["mh"]]
    unhoused = np.array([model.residents[i].unhoused for i in mh["resident"]])
    assert ((mh["group_housing"] == "unhoused").to_numpy() == unhoused).all()
    assert on.ledger.loc[~on.ledger["mh"], "group_ethnicity"].isna().all()


def test_drawn_shares_follow_the_configuration_and_attributes_have_their_own_substreams():
    model, _ = cached_run(small(30, enabled=True, attributes={"x": {"categories": {"p": 0.3, "q": 0.7}}}))
    codes = model.groups.codes["x"]
    assert abs(codes.mean() - 0.7) < 4 * np.sqrt(0.21 / len(codes))
    # adding another attribute before it leaves x's draws unchanged (substream keyed by name)
    other, _ = cached_run(small(30, enabled=True, attributes={"y": TWO, "x": {"categories": {"p": 0.3, "q": 0.7}}}))
    assert (other.groups.codes["x"] == codes).all()
    assert not (other.groups.codes["y"] == codes).all()


def test_by_group_adds_up_to_the_city_totals_and_rates_are_per_1000_residents():
    model, res = cached_run(small(enabled=True, attributes={"ethnicity": TWO}))
    table = res.summary["by_group"]["ethnicity"]
    assert set(table) == {"a", "b"}
    for m in ("mh_calls", "arrests", "use_of_force", "involuntary_holds", "ed_transports", "referrals"):
        assert sum(row[m] for row in table.values()) == res.summary[m]
    assert sum(row["residents"] for row in table.values()) == len(model.residents)
    for row in table.values():
        for m in GROUP_COUNTS:
            assert row[f"{m}_per_1000"] == pytest.approx(1000 * row[m] / row["residents"])
        assert row["arrest_rate"] == pytest.approx(row["arrests"] / row["mh_calls"])


@settings(max_examples=300, deadline=None)
@given(
    u=st.floats(0.0, 1.0, exclude_max=True),
    p=st.floats(0.0, 1.0),
    k=st.floats(0.05, 20.0),
)
def test_odds_uniform_applies_the_odds_ratio_for_every_threshold(u, p, k):
    """u' < p exactly when u < the probability with k x the odds of p (away from the boundary)."""
    q = k * p / (1 + (k - 1) * p)
    if abs(u - q) > 1e-9:
        assert (odds_uniform(u, k) < p) == (u < q)
    assert 0.0 <= odds_uniform(u, k) < 1.0 + 1e-12


def test_identification_odds_and_risk_overrating_act_on_the_group_only():
    eff = {"identification_or": 0.25, "risk_overrating": 0.5, "force_or": 4.0}
    _, base = cached_run(small(120, enabled=True, attributes={"g": TWO}))
    model, res = cached_run(small(120, enabled=True, attributes={"g": {**TWO, "effects": {"b": eff}}}))
    assert model.groups.any_effect
    tb, tr = base.summary["by_group"]["g"], res.summary["by_group"]["g"]
    # identification of group b: p = 0.4 at odds x 0.25 -> 0.143; group a keeps its uniforms
    assert tr["b"]["identified_rate"] < 0.6 * tb["b"]["identified_rate"]
    assert tr["b"]["identified_rate"] == pytest.approx(0.4 / (0.4 + 0.6 * 4), abs=0.06)
    assert abs(tr["a"]["identified_rate"] - tb["a"]["identified_rate"]) < 0.02
    mh = res.ledger[res.ledger["mh"]]
    up = (mh["assessed_risk"].cat.codes > mh["risk"].cat.codes).to_numpy()
    b = (mh["group_g"] == "b").to_numpy()
    assert up[b].mean() > up[~b].mean() + 0.2


def test_shift_latents_and_overrate_touch_only_the_stated_columns():
    model, _ = cached_run(small(30, enabled=True, attributes={"g": {**TWO, "effects": {
        "b": {"identification_or": 2.0, "force_or": 3.0, "risk_overrating": 0.999}}}}))  # fmt: skip
    groups = model.groups
    b = int(np.flatnonzero(groups.codes["g"] == 1)[0])
    a = int(np.flatnonzero(groups.codes["g"] == 0)[0])
    lat = [0.5] * C.N_LATENTS
    groups.shift_latents(lat, b)
    assert lat[C.U_IDENTIFY] == pytest.approx(0.5 / (2 - 0.5))
    assert lat[C.U_FORCE] == pytest.approx(0.5 / (3 - 2 * 0.5))
    assert [x for i, x in enumerate(lat) if i not in (C.U_IDENTIFY, C.U_FORCE)] == [0.5] * (C.N_LATENTS - 2)
    lat_a = [0.5] * C.N_LATENTS
    groups.shift_latents(lat_a, a)
    assert lat_a == [0.5] * C.N_LATENTS

    call = C.Call(0, b, 0, 0, 0.0, [0.1] * C.N_LATENTS)
    call.risk = call.assessed_risk = 0
    groups.overrate_risk(call, b, model.dispatcher)  # 0.1 < accuracy: correctly rated, then overrated
    assert call.assessed_risk == 1
    call.risk = call.assessed_risk = 2
    groups.overrate_risk(call, b, model.dispatcher)  # nothing above high
    assert call.assessed_risk == 2


def test_example_scenario_has_by_group_in_run_json():
    sc = load_scenario("small_district_groups")
    assert sc.population.groups.enabled
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "run", "small_district_groups", "--days", "40", "--json"],
                       capture_output=True, text=True, check=True)  # fmt: skip
    by_group = json.loads(r.stdout)["by_group"]
    assert set(by_group) == {"age_band", "gender", "race_ethnicity", "housing", "diagnosis"}
    assert set(by_group["housing"]) == {"housed", "unhoused"}
    assert "arrests_per_1000" in by_group["race_ethnicity"]["black"]


@pytest.mark.parametrize(
    "section, needle",
    [
        ({"enabled": True}, "population.groups"),
        ({"enabled": True, "attributes": {"x": {"categories": {"a": 0.5, "b": 0.4}}}}, "population.groups.attributes.x"),
        ({"enabled": True, "attributes": {"x": {"categories": {"a": 1.0}}}}, "population.groups.attributes.x"),
        ({"attributes": {"x": {**TWO, "from_resident": "housing"}}}, "population.groups.attributes.x"),
        ({"attributes": {"x": {**TWO, "effects": {"c": {}}}}}, "population.groups.attributes.x"),
        ({"attributes": {"x": {**TWO, "effects": {"a": {"force_or": 0}}}}}, "attributes.x.effects.a.force_or"),
        ({"attributes": {"x": {"from_resident": "income"}}}, "population.groups.attributes.x.from_resident"),
        ({"attributes": {"Bad Name": TWO}}, "population.groups.attributes"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(small(), {"population.groups": section}, label="city.toml")
    assert len(exc.value.lines) == 1
    line = exc.value.lines[0]
    assert line.startswith("city.toml") and needle in line and "expected" in line


def test_cli_rejects_bad_shares_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'base = "{SCENARIOS / "small_district.toml"}"\n[population.groups]\nenabled = true\n'
                   '[population.groups.attributes.age]\ncategories = { young = 0.5, old = 0.6 }\n')  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "validate", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
    assert "population.groups.attributes.age" in r.stderr and str(bad) in r.stderr


def test_run_text_summary_lists_each_attribute(capsys):
    from crisis_sim.cli import main

    assert main(["run", "small_district_groups", "--days", "20"]) == 0
    out = capsys.readouterr().out
    assert "by group, per 1,000 at-risk residents" in out
    assert "    housing: housed " in out and "unhoused" in out and "    race_ethnicity: black " in out
    assert main(["run", "small_district", "--days", "20"]) == 0
    assert "by group" not in capsys.readouterr().out


def test_police_dispatch_odds_move_the_mobile_teams_dispatcher_bias_for_the_group_only():
    sc = short(load_scenario(SCENARIOS / "mobile_crisis.toml"), 120)

    def biased(res):
        mh = res.ledger[res.ledger["mh"]]
        reason = mh["unserved_reason"].astype(str)
        out = {}
        for g in ("a", "b"):
            m = (mh["group_g"] == g).to_numpy()
            decided = reason[m].isin(["dispatcher_bias"]) | (mh["program"][m].astype(str) == "mobile_crisis")
            out[g] = (reason[m] == "dispatcher_bias").sum() / max(1, decided.sum())
        return out

    _, base = cached_run(with_overrides(sc, {"population.groups": {"enabled": True, "attributes": {"g": TWO}}}))
    on = {"enabled": True, "attributes": {"g": {**TWO, "effects": {"b": {"police_dispatch_or": 6.0}}}}}
    _, res = cached_run(with_overrides(sc, {"population.groups": on}))
    b0, b1 = biased(base), biased(res)
    assert b1["b"] > b0["b"] + 0.1
    assert abs(b1["a"] - b0["a"]) < 0.05
