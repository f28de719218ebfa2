"""Who initiated an MH call and by which channel ([channels.record_initiator]; model/initiator.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim import rng
from crisis_sim.model.initiator import pick
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.channels import INITIATORS, LINE_INITIATORS
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import simulate

RI = "channels.record_initiator"
SMALL = Path(__file__).resolve().parent.parent / "scenarios" / "small_district.toml"


def _sc(name: str = "small_district", days: int = 60, **over):
    sc = load_scenario(name)
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 5, **over})


@pytest.fixture(scope="module")
def off_run():
    return simulate(_sc(), 0, 5)[1]


@pytest.fixture(scope="module")
def on_run():
    return simulate(_sc(**{f"{RI}.enabled": True}), 0, 5)[1]


def test_stream_id_and_no_collisions():
    assert rng.STREAMS["initiator"] == 17 and rng.collisions() == []


def test_off_by_default_no_columns(off_run):
    assert load_scenario("small_district").channels.record_initiator.enabled is False
    assert "initiator" not in off_run.ledger.columns and "channel" not in off_run.ledger.columns


def test_on_adds_channel_and_initiator_and_moves_nothing_else(on_run, off_run):
    led = on_run.ledger
    assert list(led.columns[-2:]) == ["channel", "initiator"]
    assert led.drop(columns=["channel", "initiator"]).equals(off_run.ledger)
    mh = led[led["mh"]]
    assert (mh["channel"] == "911").all()  # no crisis line: every MH call came by 911
    assert mh["initiator"].isin(INITIATORS).all() and (led.loc[~led["mh"], "initiator"] == "").all()
    for key in ("mh_calls", "arrests", "cost_total"):
        assert on_run.summary[key] == off_run.summary[key]


def test_initiator_shares_match_the_configured_ones():
    """Over many calls the share of each initiator is within 4.5 binomial standard deviations of its input."""
    shares = {"self": 0.1, "family": 0.5, "bystander": 0.15, "provider": 0.2, "officer_on_view": 0.05}
    _, res = simulate(_sc(days=120, **{f"{RI}.enabled": True, f"{RI}.by_911": shares}), 1, 9)
    mh = res.ledger[res.ledger["mh"]]
    n = len(mh)
    assert n > 500
    got = mh["initiator"].value_counts()
    for key, p in shares.items():
        assert abs(got[key] / n - p) < 4.5 * np.sqrt(p * (1 - p) / n), (key, got[key], n)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=5, max_size=5).filter(lambda w: sum(w) > 0))
def test_pick_is_the_inverse_cdf_of_the_shares(weights):
    """On an even grid of uniforms, each initiator takes its share of the grid (to one grid step per key)."""
    total = sum(weights)
    shares = {k: w / total for k, w in zip(INITIATORS, weights, strict=True)}
    grid = 2000
    counts = np.bincount([pick((i + 0.5) / grid, INITIATORS, shares) for i in range(grid)], minlength=5)
    for i, key in enumerate(INITIATORS):
        assert abs(counts[i] / grid - shares[key]) <= 1.0 / grid + 1e-9


def test_line_contacts_take_line_initiators_and_911_calls_keep_theirs(on_run):
    """With the crisis line on, line contacts are started by self/family/provider only; a crisis that came by
    911 in both runs has the same initiator (tied to resident and crisis number, not to the order of events)."""
    sc = _sc(**{f"{RI}.enabled": True, "channels.crisis_line.enabled": True, "channels.crisis_line.share": 0.3})
    _, res = simulate(sc, 0, 5)
    mh = res.ledger[res.ledger["mh"]]
    line = mh[mh["channel"] != "911"]
    assert len(line) > 20 and line["initiator"].isin(LINE_INITIATORS).all()
    both = mh[mh["channel"] == "911"].merge(
        on_run.ledger[on_run.ledger["mh"]], on=["resident", "crisis"], suffixes=("", "_off")
    )
    assert len(both) > 100 and (both["initiator"].astype(str) == both["initiator_off"].astype(str)).all()


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{RI}.by_911", {"self": 0.5, "family": 0.5, "bystander": 0.2, "provider": 0.0, "officer_on_view": 0.0},
         "sum to 1"),
        (f"{RI}.by_line", {"self": 1.0}, "missing"),
        (f"{RI}.by_line", {"self": 0.5, "family": 0.5, "provider": 0.0, "police": 0.0}, "by_line"),
        (f"{RI}.enabled", "yes", "enabled"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("small_district"), {path: value})
    text = str(exc.value)
    assert expect in text and RI in text and "\n" not in text.strip()


def test_crisis_sim_run_refuses_a_bad_file_in_one_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(f'base = "{SMALL}"\nname = "x"\n\n[{RI}]\nenabled = true\n'
                 'by_911 = { self = 0.9, family = 0.9, bystander = 0.0, provider = 0.0, officer_on_view = 0.0 }\n')
    out_dir = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "crisis_sim", "run", str(f), "--out", str(out_dir)],
                          capture_output=True, text=True)  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "bad.toml" in lines[0] and f"{RI}" in lines[0] and "sum to 1" in lines[0]
    assert not out_dir.exists()
