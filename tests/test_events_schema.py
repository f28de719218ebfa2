"""Timeline events in scenario files: each bad event is one line on stderr and exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SCENARIOS

from crisis_sim.scenario import ScenarioError, load_scenario
from crisis_sim.scenario.timeline import EVENT_TYPES


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "crisis_sim", *map(str, args)], capture_output=True, text=True
    )


@pytest.mark.parametrize("name", ["nurse_post_cut", "champion_retires", "patrol_shortage", "grant_ends"])
def test_shipped_event_scenarios_validate(name):
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    assert sc.timeline, "each stressor scenario carries a timeline"


def _write(tmp_path, event: str, base: str = "outreach_echinops.toml"):
    p = tmp_path / "bad.toml"
    p.write_text(f'base = "{SCENARIOS / base}"\nname = "bad"\n\n[[timeline]]\n{event}\n')
    return p


BAD = {
    "unknown type": ('day = 10\ntype = "earthquake"', "timeline.0.type", "'earthquake'"),
    "beyond horizon": ('day = 5000\ntype = "note"', "before the horizon", "5000"),
    "unknown district": (
        'day = 10\ntype = "champion_departs"\nrole = "crpo"\ndistrict = "nowhere"',
        "district",
        "'nowhere'",
    ),
    "program not enabled": (
        'day = 10\ntype = "end_program"\nprogram = "mobile_crisis"',
        "program",
        "'mobile_crisis'",
    ),
    "role not employed": (
        'day = 10\ntype = "cut_post"\nrole = "emt"\nprogram = "outreach"',
        "role",
        "'emt'",
    ),
    "unknown role": ('day = 10\ntype = "cut_post"\nrole = "janitor"', "timeline.0", "janitor"),
    "unknown key": (
        'day = 10\ntype = "note"\ncolour = "red"',
        "timeline.0.colour",
        "one of day, label, type",
    ),
    "negative day": ('day = -1\ntype = "note"', "timeline.0", "-1"),
    "bad share": ('day = 10\ntype = "vacancy"\nshare = 1.5', "share", "1.5"),
    "crpo without district": ('day = 10\ntype = "champion_departs"\nrole = "crpo"', "district", "nothing"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_event_is_one_line(tmp_path, case):
    event, where, found = BAD[case]
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_write(tmp_path, event))
    lines = exc.value.lines
    assert len(lines) == 1, lines
    assert where in lines[0] and found in lines[0], lines[0]


def test_cli_bad_event_exit_2_one_line(tmp_path):
    r = cli("validate", _write(tmp_path, 'day = 10\ntype = "earthquake"'))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "timeline.0.type" in err and "'earthquake'" in err, err


def test_funding_shares_cannot_exceed_one(tmp_path):
    ev = 'day = 10\ntype = "funding_ends"\nprogram = "outreach"\nfunder = "grant"\nshare = 0.7'
    p = tmp_path / "bad.toml"
    p.write_text(
        f'base = "{SCENARIOS / "outreach_echinops.toml"}"\nname = "bad"\n\n[[timeline]]\n{ev}\n\n[[timeline]]\n{ev}\n'
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    assert len(exc.value.lines) == 1 and "at most 1" in exc.value.lines[0]


def test_every_event_type_is_listed():
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)
    assert {"note", "vacancy", "absence", "turnover", "lose_patrol", "cit_training", "champion_departs", "champion",
            "cut_post", "scale_program", "end_program", "funding_ends", "consent_change", "demand_surge",
            "demand_trend", "ed_boarding", "launch_program", "expand_program", "restore_post", "add_post"} == set(
        EVENT_TYPES)  # fmt: skip


def test_days_option_drops_events_after_the_shortened_horizon():
    from crisis_sim.cli.common import load_for_run

    sc = load_for_run(str(SCENARIOS / "champion_retires.toml"), 300)
    assert [e.type for e in sc.timeline] == ["turnover"]  # the retirement on day 545 would never fire
    assert len(load_for_run(str(SCENARIOS / "champion_retires.toml"), 600).timeline) == 2
