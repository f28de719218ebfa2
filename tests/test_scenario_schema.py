"""Scenario files: the shipped ones validate; bad input gets one clear line naming file, key path, expected, found."""

from __future__ import annotations

import textwrap
from operator import attrgetter
from pathlib import Path

import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.scenario import Scenario, ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.loader import set_path

MINIMAL = """
name = "t"
[city]
population = 10000
[[city.districts]]
name = "a"
population_share = 1.0
patrol_units = { day = 2, evening = 2, night = 1 }
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.lines


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    assert isinstance(load_scenario(path), Scenario)


def test_minimal_scenario_takes_defaults(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL))
    assert s.demand.mh_share == pytest.approx(0.06)
    assert s.police.shifts[0].name == "day"


@pytest.mark.parametrize(
    ("extra", "path", "found"),
    [
        ("[demand]\nmh_share = 1.5", "demand.mh_share", "1.5"),
        ("[demand]\nmh_share = \"high\"", "demand.mh_share", "'high'"),
        ("[destinations.ed]\nassessment_slots = -1", "destinations.ed.assessment_slots", "-1"),
        ("[demand]\nbogus_key = 3", "demand.bogus_key", "unknown key 'bogus_key'"),
        ("[simulation]\nhorizon_days = 10\nwarmup_days = 10", "<top level>", "10"),
        ("[police]\nshifts = [{name = 'day', start_hour = 25.0, hours = 8.0}]", "police.shifts.0.start_hour", "25.0"),
    ],
)
def test_bad_values_name_file_path_expected_found(tmp_path, extra, path, found):
    lines = problems(write(tmp_path, MINIMAL + "\n" + extra))
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(str(tmp_path / "s.toml") + ": ")
    assert f": {path}: " in line
    assert "expected" in line and f"found {found}" in line


def test_negative_patrol_units(tmp_path):
    text = MINIMAL.replace("day = 2, evening = 2, night = 1", "day = -2, evening = 2, night = 1")
    (line,) = problems(write(tmp_path, text))
    assert "city.districts.0.patrol_units.day" in line and "found -2" in line


def test_shift_gap_is_impossible(tmp_path):
    text = MINIMAL + """
[police]
shifts = [{name = "day", start_hour = 7.0, hours = 8.0}, {name = "evening", start_hour = 15.0, hours = 8.0},
          {name = "night", start_hour = 0.0, hours = 6.0}]
"""
    (line,) = problems(write(tmp_path, text))
    assert "police" in line and "cover all 24 hours" in line and "06:00" in line


def test_patrol_units_must_name_the_shifts(tmp_path):
    text = MINIMAL.replace("night = 1", "graveyard = 1")
    (line,) = problems(write(tmp_path, text))
    assert "patrol_units" in line and "graveyard" in line


def test_population_shares_must_sum_to_one(tmp_path):
    text = MINIMAL.replace("population_share = 1.0", "population_share = 0.7")
    (line,) = problems(write(tmp_path, text))
    assert "city" in line and "sum to 1" in line and "0.7" in line


def test_missing_file_and_bad_toml(tmp_path):
    (line,) = problems(tmp_path / "nope.toml")
    assert "nope.toml" in line and "no such file" in line
    (line,) = problems(write(tmp_path, "name = [unclosed"))
    assert "valid TOML" in line and "line 1" in line


def test_base_inheritance_and_cycles(tmp_path):
    write(tmp_path, MINIMAL, "base.toml")
    child = write(tmp_path, 'base = "base.toml"\nname = "child"\n[demand]\nmh_share = 0.1\n', "child.toml")
    s = load_scenario(child)
    assert s.name == "child" and s.demand.mh_share == 0.1 and s.city.population == 10000
    write(tmp_path, 'base = "b.toml"\n' + MINIMAL, "a.toml")
    write(tmp_path, 'base = "a.toml"\n', "b.toml")
    (line,) = problems(tmp_path / "a.toml")
    assert "base" in line and "cycles" in line


def test_overrides_by_index_and_name():
    s = load_scenario(SCENARIOS / "small_district.toml")
    t = with_overrides(s, {"city.districts.south.patrol_units.day": 9, "demand.mh_share": 0.1})
    assert t.city.districts[1].patrol_units["day"] == 9 and t.demand.mh_share == 0.1
    with pytest.raises(ScenarioError) as info:
        with_overrides(s, {"city.districts.nowhere.patrol_units.day": 1})
    assert "city.districts.nowhere" in info.value.lines[0]


@settings(max_examples=40, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["demand.mh_share", "dispatch.mh_identification"]))
def test_shares_outside_unit_interval_rejected(value, path):
    s = load_scenario(SCENARIOS / "small_district.toml")
    if 0.0 <= value <= 1.0:
        assert attrgetter(path)(with_overrides(s, {path: value})) == value  # accepted and applied
    else:
        with pytest.raises(ScenarioError) as info:
            with_overrides(s, {path: value})
        assert path in info.value.lines[0]


def test_every_parameter_names_a_source_and_assumptions_a_range():
    """Walk the JSON schema: every field declared with param() carries a source; assumptions give a range."""
    schema = Scenario.model_json_schema()
    seen = 0

    def walk(node):
        nonlocal seen
        if isinstance(node, dict):
            if "source" in node:
                seen += 1
                assert node["source"], node
                if node["source"].lower().startswith("assumption"):
                    assert "range" in node, node
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert seen > 40


def test_set_path_rejects_descending_into_a_scalar():
    raw = {"demand": {"mh_share": 0.1}}
    with pytest.raises(ScenarioError):
        set_path(raw, "demand.mh_share.x", 1)
