"""Experiment specs, variant syntax, sweeps and the paired statistics (no simulation runs: fast)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crisis_sim.experiments.compare import compare_runs, format_table, paired_interval, t_interval
from crisis_sim.experiments.spec import (
    ScenarioRequest,
    SpecError,
    build_spec,
    parse_assignments,
    parse_scenario_arg,
    parse_value,
    split_top_level,
)
from crisis_sim.experiments.sweep import grid_points, lhs_points, parse_param, parse_range, sweep_requests
from crisis_sim.scenario import ScenarioError

SMALL = str(SCENARIOS / "small_district.toml")


def test_variant_syntax():
    assert parse_scenario_arg("a.toml") == ScenarioRequest("a.toml")
    r = parse_scenario_arg("a.toml::fewer:programs.outreach.nurse_fte=0,city.population=90_000")
    assert (r.file, r.name, dict(r.overrides)) == ("a.toml", "fewer", {"programs.outreach.nurse_fte": 0,
                                                                       "city.population": 90_000})  # fmt: skip
    r = parse_scenario_arg(
        "a.toml::t:city.districts.north.patrol_units={day = 5, evening = 5, night = 3},x.y=true"
    )
    assert r.overrides == {
        "city.districts.north.patrol_units": {"day": 5, "evening": 5, "night": 3},
        "x.y": True,
    }
    assert parse_scenario_arg("a.toml::renamed").overrides == {}
    with pytest.raises(SpecError):
        parse_scenario_arg("a.toml::")
    with pytest.raises(SpecError):
        parse_assignments("no_equals_sign")


def test_values_are_toml_literals():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value('"a,b"') == "a,b" and parse_value("lognormal") == "lognormal"
    assert split_top_level('a=1,b="x,y",c=[1,2]') == ["a=1", 'b="x,y"', "c=[1,2]"]


def test_spec_hash_is_content_based(tmp_path):
    copy = tmp_path / "copy.toml"
    shutil.copy(SMALL, copy)
    a = build_spec([ScenarioRequest(SMALL)], 3, 0, 20)
    b = build_spec([ScenarioRequest(str(copy))], 3, 0, 20)
    assert a.content_hash() == b.content_hash()  # same contents from another path: same experiment
    assert a.content_hash() != build_spec([ScenarioRequest(SMALL)], 4, 0, 20).content_hash()
    assert a.content_hash() != build_spec([ScenarioRequest(SMALL)], 3, 1, 20).content_hash()
    assert a.content_hash() != build_spec([ScenarioRequest(SMALL)], 3, 0, 21).content_hash()
    variant = ScenarioRequest(SMALL, "small_district", {"city.districts.north.patrol_units.day": 5})
    assert a.content_hash() != build_spec([variant], 3, 0, 20).content_hash()


def test_duplicate_labels_are_made_unique_and_errors_are_collected():
    spec = build_spec([ScenarioRequest(SMALL), ScenarioRequest(SMALL)], 2, 0, 20)
    assert spec.labels == ["small_district", "small_district#2"]
    with pytest.raises(ScenarioError) as err:
        build_spec([ScenarioRequest(SMALL, "a", {"city.population": -5}),
                    ScenarioRequest(SMALL, "b", {"city.nonsense": 1})], 2, 0, 20)  # fmt: skip
    assert len(err.value.lines) == 2
    assert all(line.startswith(SMALL) for line in err.value.lines)


def test_grid_and_lhs():
    params = [parse_param("a.b=1,2,3"), parse_param("c.d=true,false")]
    points = grid_points(params)
    assert len(points) == 6 and points[0] == {"a.b": 1, "c.d": True}
    ranges = [parse_range("x.n=0:4"), parse_range("y.f=0.5:1.5")]
    p1, p2 = lhs_points(ranges, 8, seed=3), lhs_points(ranges, 8, seed=3)
    assert p1 == p2 and p1 != lhs_points(ranges, 8, seed=4)
    assert all(isinstance(p["x.n"], int) and 0 <= p["x.n"] <= 4 for p in p1)
    assert all(0.5 <= p["y.f"] <= 1.5 for p in p1)
    # Latin property: each of the 8 strata of y holds exactly one point
    assert sorted(int((p["y.f"] - 0.5) * 8) for p in p1) == list(range(8))
    reqs = sweep_requests("s.toml", points)
    assert reqs[0].name == "base" and len({r.name for r in reqs}) == len(reqs)
    with pytest.raises(SpecError):
        parse_range("x=3:1")
    with pytest.raises(SpecError):
        grid_points([parse_param("a=1"), parse_param("a=2")])


def test_intervals_match_scipy():
    x = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    mean, lo, hi = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(5.2) and (lo, hi) == pytest.approx(ref)
    d, dlo, dhi = paired_interval(x, x + np.array([1.0, 2.0, 1.0, 2.0, np.nan]))
    assert d == pytest.approx(1.5) and dlo < 1.5 < dhi
    assert np.isnan(t_interval(np.array([1.0]))[1])


def _runs(values_a, values_b):
    n = len(values_a)
    return pd.DataFrame({"scenario_index": [0] * n + [1] * n, "replication": list(range(n)) * 2,
                         "m": list(values_a) + list(values_b)})  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=30))
def test_self_comparison_is_exactly_zero(values):
    result = compare_runs(_runs(values, values), ["a", "a#2"], ["m"])
    b = result["metrics"]["m"]["a#2"]
    assert (b["diff"], b["diff_ci_low"], b["diff_ci_high"]) == (0.0, 0.0, 0.0)
    assert not b["significant"]
    a = result["metrics"]["m"]["a"]
    assert (a["diff"], a["diff_ci_low"], a["diff_ci_high"]) == (0.0, 0.0, 0.0)


def test_significance_marks_and_table():
    result = compare_runs(_runs([1, 2, 3, 4], [2, 3, 4, 5.5]), ["base", "more"], ["m"])
    assert result["metrics"]["m"]["more"]["significant"]
    table = format_table(result, 4)
    assert "diff vs base" in table and "*" in table.splitlines()[-1]
