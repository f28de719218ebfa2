"""Metrics as recorded (outcomes.recorded): identified MH calls only, beside the true ones; off changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SCENARIOS, cached_run, short
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.outcomes.metrics import summarize
from crisis_sim.outcomes.recorded import COUNTS, recorded_metrics
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

DAY = 24 * 60


def scenario(days: int = 120, **recorded):
    sc = short(load_scenario(SCENARIOS / "small_district.toml"), days)
    return with_overrides(sc, {"outcomes.recorded": recorded}, label="<test>") if recorded else sc


def test_off_by_default_adds_nothing():
    _, res = cached_run(scenario())
    assert "recorded" not in res.summary and "true_repeats" not in res.summary


def test_recorded_counts_are_the_identified_calls_and_never_exceed_the_true_ones():
    sc = scenario(enabled=True, repeat_windows_days=[30, 90])
    _, res = cached_run(sc)
    s, rec = res.summary, res.summary["recorded"]
    led = res.ledger
    mh = led[led["mh"] & ~led["in_warmup"]]
    assert rec["mh_calls"] == int(mh["identified_mh"].sum()) == s["mh_identified"]
    assert rec["arrests"] == int(((mh["disposition"] == "arrest") & mh["identified_mh"]).sum())
    for key in COUNTS:
        assert 0 <= rec["share_recorded"][key] <= 1
    assert rec["share_recorded"]["mh_calls"] == pytest.approx(rec["mh_calls"] / s["mh_calls"])
    # dispatch data link repeat contacts only among identified calls: far fewer repeat callers are seen
    assert rec["repeat_callers_90d"] <= s["true_repeats"]["repeat_callers_90d"] == s["repeat_callers_90d"]
    assert rec["repeat_callers_30d"] <= rec["repeat_callers_90d"]
    assert rec["share_recorded"]["repeat_callers_90d"] < rec["share_recorded"]["mh_calls"]
    assert s["true_repeats"]["recurrence_90d"] == s["recurrence_90d"]


def test_recurrence_is_none_without_full_follow_up():
    _, res = cached_run(scenario(60, enabled=True, repeat_windows_days=[90]))
    assert res.summary["recorded"]["recurrence_90d"] is None
    assert res.summary["true_repeats"]["recurrence_90d"] is None


def test_the_true_metrics_do_not_change_when_recorded_is_on():
    _, off = cached_run(scenario())
    _, on = cached_run(scenario(enabled=True))
    skip = {"recorded", "true_repeats", "wall_s", "sim_wall_s"}
    assert {k: v for k, v in on.summary.items() if k not in skip} == {
        k: v for k, v in off.summary.items() if k not in skip
    }
    pd.testing.assert_frame_equal(on.ledger, off.ledger)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 5), st.floats(0, 200 * DAY), st.booleans(), st.booleans()), min_size=1, max_size=40
    )
)
def test_identifying_every_call_makes_recorded_equal_true(rows):
    """Invariant: with every MH call identified the recorded metrics equal the true ones (shares all 1)."""
    sc = scenario(200, enabled=True, repeat_windows_days=[30])
    n = len(rows)
    ledger = pd.DataFrame(
        {
            "mh": [True] * n,
            "resident": [r[0] for r in rows],
            "t_received": [r[1] for r in rows],
            "identified_mh": [True] * n,
            "in_warmup": [False] * n,
            "disposition": pd.Categorical(["arrest" if r[2] else "resolved" for r in rows]),
            "force": [r[3] for r in rows],
            "subject_injury": [False] * n,
            "officer_injury": [False] * n,
            "destination": [""] * n,
            "referred": [False] * n,
            "connected": [False] * n,
        }
    )
    out = recorded_metrics(ledger, sc)
    rec = out["recorded"]
    assert rec["repeat_callers_30d"] == out["true_repeats"]["repeat_callers_30d"]
    assert rec["recurrence_30d"] == out["true_repeats"]["recurrence_30d"]
    assert all(v == 1.0 for k, v in rec["share_recorded"].items() if k in ("mh_calls",))
    half = ledger.assign(identified_mh=[i % 2 == 0 for i in range(n)])
    rec2 = recorded_metrics(half, sc)["recorded"]
    assert rec2["mh_calls"] == (n + 1) // 2 and rec2["arrests"] <= rec["arrests"]


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"repeat_windows_days": []}, "outcomes.recorded.repeat_windows_days"),
        ({"repeat_windows_days": [0]}, "outcomes.recorded.repeat_windows_days.0"),
        ({"enabled": "true"}, "outcomes.recorded.enabled"),
        ({"window": 3}, "outcomes.recorded.window"),
    ],
)
def test_bad_input_is_one_line(section, needle):
    with pytest.raises(ScenarioError) as exc:
        with_overrides(scenario(), {"outcomes.recorded": section}, label="city.toml")
    assert len(exc.value.lines) == 1
    assert exc.value.lines[0].startswith("city.toml") and needle in exc.value.lines[0]


def test_summarize_uses_the_switch():
    _, res = cached_run(scenario())
    sc_on = scenario(enabled=True)
    s = summarize(res.ledger, pd.DataFrame(columns=["t_referred", "t_intake", "priority"]), sc_on)
    assert s["recorded"]["mh_calls"] == res.summary["mh_identified"]
