"""The 988/crisis line ([channels.crisis_line]; model/crisis_line.py): a way in besides 911."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim import rng
from crisis_sim.model.crisis_line import BY_PHONE, CLOSED, MOBILE, TRANSFER, UNANSWERED
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import simulate

CL = "channels.crisis_line"
SMALL = Path(__file__).resolve().parent.parent / "scenarios" / "small_district.toml"


def _sc(name: str = "mobile_crisis", days: int = 90, **over):
    sc = load_scenario(name)
    return with_overrides(sc, {"simulation.horizon_days": days, "simulation.warmup_days": 10, **over})


@pytest.fixture(scope="module")
def on_run():
    sc = _sc(**{f"{CL}.enabled": True, f"{CL}.share": 0.3, f"{CL}.share_connected": 0.5})
    return sc, *simulate(sc, 0, 3)


@pytest.fixture(scope="module")
def off_run():
    sc = _sc()
    return sc, *simulate(sc, 0, 3)


def test_stream_id_and_no_collisions():
    assert rng.STREAMS["channels"] == 14 and rng.collisions() == []


def test_off_by_default_no_channel_column_no_draws(off_run):
    sc, model, res = off_run
    assert sc.channels.crisis_line.enabled is False and model.crisis_line is None
    assert "channel" not in res.ledger.columns and "line_contacts" not in res.summary and res.line.empty


def test_every_outcome_is_accounted_for(on_run):
    sc, model, res = on_run
    s, line, led = res.summary, res.line, res.ledger
    assert s["line_contacts"] > 0
    assert s["line_contacts"] == sum(
        s[k] for k in ("line_resolved_by_phone", "line_mobile_dispatches", "line_transfers_911", "line_unanswered",
                       "line_closed")
    )  # fmt: skip
    mh = led[led["mh"]].set_index("call_id")
    by_outcome = line.groupby("outcome")["call_id"].apply(list).to_dict()
    for cid in by_outcome.get(BY_PHONE, []):
        row = mh.loc[cid]
        assert row["channel"] == "988" and row["responder"] == "crisis_line"
        assert row["disposition"] == "phone_resolved" and math.isnan(row["t_dispatched"])
    for cid in by_outcome.get(MOBILE, []):
        row = mh.loc[cid]
        assert row["channel"] == "988" and row["responder"] in ("mobile_crisis", "mobile_crisis_backup")
    for cid in by_outcome.get(TRANSFER, []) + by_outcome.get(UNANSWERED, []) + by_outcome.get(CLOSED, []):
        row = mh.loc[cid]
        assert row["channel"] == "988_to_911" and row["responder"] != "crisis_line"
    assert s["line_mobile_dispatches"] > 0 and s["line_transfers_911"] > 0 and s["line_resolved_by_phone"] > 0
    assert set(led.loc[~led["mh"], "channel"].unique()) == {"911"}
    # every contact answered is recognised as MH
    answered = line.loc[line["outcome"].isin([BY_PHONE, MOBILE, TRANSFER]), "call_id"]
    assert mh.loc[answered, "identified_mh"].all()


def test_waits_within_the_limit_and_seats_bind(on_run):
    sc, model, res = on_run
    line = res.line
    waits = line["wait_min"].dropna()
    assert (waits >= 0).all() and (waits <= sc.channels.crisis_line.max_wait_min + 1e-9).all()
    s = res.summary
    assert 0 < s["line_counsellor_utilisation"] < 1
    one_seat = _sc(days=60, **{f"{CL}.enabled": True, f"{CL}.share": 0.6, f"{CL}.share_connected": 0.6,
                               f"{CL}.counsellors": 1, f"{CL}.max_wait_min": 0.5})  # fmt: skip
    _, r1 = simulate(one_seat, 0, 3)
    assert r1.summary["line_unanswered"] > 0


def test_line_takes_calls_from_police(on_run, off_run):
    _, _, on = on_run
    _, _, off = off_run
    assert on.summary["mh_calls_911"] < off.summary["mh_calls"]
    # CRN: the same crises happen (same residents, same crisis numbers) whichever way they come in
    a = on.ledger[on.ledger["mh"]][["resident", "crisis"]].apply(tuple, axis=1)
    b = off.ledger[off.ledger["mh"]][["resident", "crisis"]].apply(tuple, axis=1)
    assert len(set(a) ^ set(b)) < 0.1 * len(b)  # only feedback (referrals, follow-up) moves later crises


def test_no_mobile_team_no_mobile_dispatch():
    sc = _sc("small_district", days=60, **{f"{CL}.enabled": True, f"{CL}.share": 0.5})
    _, res = simulate(sc, 0, 1)
    assert res.summary["line_mobile_dispatches"] == 0 and res.summary["line_contacts"] > 0


def test_closed_line_sends_everyone_to_911():
    sc = _sc("small_district", days=40, **{f"{CL}.enabled": True, f"{CL}.share": 0.5,
                                           f"{CL}.start_hour": 9.0, f"{CL}.end_hour": 17.0})  # fmt: skip
    _, res = simulate(sc, 0, 1)
    line = res.line
    closed = line[line["outcome"] == CLOSED]
    minute = closed["t_contact"] % 1440
    assert len(closed) > 0 and ((minute < 540) | (minute >= 1020)).all()
    assert res.summary["cost_crisis_line"] == pytest.approx(
        1 * 8 * (40 - 10) * sc.channels.crisis_line.counsellor_hour
    )


@pytest.mark.parametrize("start, end", [(0.0, 0.0), (24.0, 0.0), (0.0, 24.0), (24.0, 24.0)])
def test_start_equal_to_end_modulo_a_day_is_around_the_clock(start, end):
    """24:00 is midnight: 24-0, 0-24 and 0-0 all mean the line never closes (as for the mobile team's hours)."""
    sc = _sc("small_district", days=40, **{f"{CL}.enabled": True, f"{CL}.share": 0.5,
                                           f"{CL}.start_hour": start, f"{CL}.end_hour": end})  # fmt: skip
    assert sc.channels.crisis_line.hours_mask() == (0, 0)
    _, res = simulate(sc, 0, 1)
    assert res.summary["line_contacts"] > 0 and res.summary["line_closed"] == 0


def test_same_seed_same_ledger(on_run):
    sc, _, res = on_run
    _, again = simulate(sc, 0, 3)
    assert again.ledger.equals(res.ledger) and again.line.equals(res.line)


def test_line_rows_are_tied_to_resident_and_crisis(on_run):
    _, model, _ = on_run
    a = model.crisis_line.uniforms(3, 2)
    assert model.crisis_line.uniforms(3, 2) == a and model.crisis_line.uniforms(3, 1) != a
    assert np.all((np.array(a) >= 0) & (np.array(a) < 1))


def test_zero_share_means_no_contact_and_the_off_ledger():
    """With both shares 0 the line is never reached: the ledger equals the switch-off ledger bar the column."""
    sc = _sc("small_district", days=20, **{f"{CL}.enabled": True, f"{CL}.share": 0.0,
                                           f"{CL}.share_connected": 0.0})  # fmt: skip
    _, res = simulate(sc, 0, 2)
    _, off = simulate(_sc("small_district", days=20), 0, 2)
    assert res.summary["line_contacts"] == 0 and (res.ledger["channel"] == "911").all()
    assert res.ledger.drop(columns="channel").equals(off.ledger)


@settings(max_examples=4, deadline=None)
@given(st.floats(0.05, 0.9), st.integers(1, 3), st.floats(0.0, 1.0), st.floats(0.5, 5.0))
def test_contacts_add_up_whatever_the_settings(share, seats, mobile, wait):
    sc = _sc(days=25, **{f"{CL}.enabled": True, f"{CL}.share": share, f"{CL}.share_connected": share,
                         f"{CL}.counsellors": seats, f"{CL}.mobile_share": mobile, f"{CL}.max_wait_min": wait})
    _, res = simulate(sc, 0, 4)
    line, led = res.line, res.ledger
    assert line["call_id"].is_unique and set(line["call_id"]) == set(led.loc[led["channel"] != "911", "call_id"])
    stayed = line["outcome"].isin([BY_PHONE, MOBILE])
    ch = led.set_index("call_id").loc[line["call_id"], "channel"].to_numpy()
    assert (ch[stayed.to_numpy()] == "988").all() and (ch[~stayed.to_numpy()] == "988_to_911").all()
    assert (line["wait_min"].dropna() <= wait + 1e-9).all()


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (f"{CL}.counsellors", 0, "counsellors"),
        (f"{CL}.share", 1.5, "share"),
        (f"{CL}.max_wait_min", 0, "max_wait_min"),
        (f"{CL}.transfer_by_risk.high", -0.2, "transfer_by_risk.high"),
        (f"{CL}.end_hour", 25, "end_hour"),
        (f"{CL}.enabled", "yes", "enabled"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(path, value, expect):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(load_scenario("small_district"), {path: value})
    text = str(exc.value)
    assert expect in text and "\n" not in text.strip()


def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path):
    f = tmp_path / "city.toml"
    f.write_text(f'base = "{SMALL}"\nname = "x"\n\n[channels.crisis_line]\nenabled = true\ncounsellors = -1\n')
    out = subprocess.run([sys.executable, "-m", "crisis_sim", "validate", str(f)], capture_output=True, text=True)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1
    assert "city.toml" in lines[0] and "channels.crisis_line.counsellors" in lines[0]


def test_run_summary_text_names_the_line(on_run, off_run):
    from crisis_sim.cli.run import format_summary

    _, _, on = on_run
    _, _, off = off_run
    ids = {"scenario": "x", "seed": 3, "replication": 0}
    assert "crisis line:" in format_summary({**on.summary, **ids}, 80)
    assert "crisis line:" not in format_summary({**off.summary, **ids}, 80)
