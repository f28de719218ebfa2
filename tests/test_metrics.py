"""Metrics are pure functions of the ledger: checked on a hand-made ledger with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import small

from crisis_sim.outcomes.ledger import DISPOSITION_CATEGORIES
from crisis_sim.outcomes.metrics import repeats_within, summarize
from crisis_sim.outcomes.timeseries import monthly

DAY = 24 * 60


def ledger_of(rows):
    defaults = {"mh": True, "identified_mh": False, "force": False, "subject_injury": False, "officer_injury": False,
                "ed_wait_min": np.nan, "officer_min": 60.0, "referred": False, "connected": False, "admitted": False,
                "in_warmup": False, "t_dispatched": 0.0, "responder": "patrol", "eligible": False,
                "unserved_reason": "", "program": ""}  # fmt: skip
    df = pd.DataFrame([{**defaults, **row} for row in rows])
    df["t_arrived"] = df["t_received"] + 10.0
    df["t_cleared"] = np.where(df["disposition"] == "open", np.nan, df["t_received"] + 60)
    df["disposition"] = pd.Categorical(df["disposition"], DISPOSITION_CATEGORIES)
    return df


def test_summary_counts_and_rates():
    rows = [
        {"resident": 1, "t_received": 0.0, "disposition": "arrest", "force": True},
        {"resident": 1, "t_received": 10 * DAY, "disposition": "involuntary", "ed_wait_min": 30.0, "admitted": True},
        {"resident": 2, "t_received": 20 * DAY, "disposition": "referral", "referred": True, "connected": True},
        {"resident": 3, "t_received": 30 * DAY, "disposition": "resolved"},
        {"resident": -1, "t_received": 31 * DAY, "disposition": "non_mh_service", "mh": False},
    ]
    s = summarize(ledger_of(rows), pd.DataFrame(), small(60))
    assert s["calls"] == 5 and s["mh_calls"] == 4
    assert s["arrests"] == 1 and s["arrest_rate"] == pytest.approx(0.25)
    assert s["use_of_force"] == 1 and s["force_rate"] == pytest.approx(0.25)
    assert s["involuntary_holds"] == 1 and s["ed_transports"] == 1
    assert s["connected_to_services"] == 1 and s["referrals"] == 1
    assert s["repeat_callers_90d"] == 1
    assert s["ed_wait_hours"] == pytest.approx(0.5)
    costs = small(60).costs
    assert s["cost_ed"] == pytest.approx(costs.ed_visit)
    assert s["cost_jail"] == pytest.approx(costs.jail_day * costs.jail_days_per_arrest)
    assert s["cost_inpatient"] == pytest.approx(costs.inpatient_day * costs.inpatient_days_per_admission)
    assert s["cost_police"] == pytest.approx(5 * costs.officer_hour)
    # MH calls on days 0, 10, 20, 30: Monday, Thursday, Sunday, Wednesday (day 0 is a Monday)
    assert s["mh_weekday_share"] == [0.25, 0.0, 0.25, 0.25, 0.0, 0.0, 0.25]


def test_warmup_calls_excluded():
    rows = [{"resident": 1, "t_received": 0.0, "disposition": "arrest", "in_warmup": True},
            {"resident": 2, "t_received": 40 * DAY, "disposition": "resolved"}]  # fmt: skip
    s = summarize(ledger_of(rows), pd.DataFrame(), small(60))
    assert s["mh_calls"] == 1 and s["arrests"] == 0


def test_repeats_within_window_and_censoring():
    mh = pd.DataFrame({"resident": [1, 1, 2, 2, 3], "t_received": [0, 89 * DAY, 0, 91 * DAY, 5 * DAY]})
    people, share = repeats_within(mh, 90, horizon_min=400 * DAY, warm_min=0)
    assert people == 1
    # calls with 90 days of follow-up: all five; followed within 90 days: resident 1's first only
    assert share == pytest.approx(1 / 5)
    people, share = repeats_within(mh, 90, horizon_min=60 * DAY, warm_min=0)
    assert math.isclose(share, 0.0)  # only 0-day calls lack follow-up... none have 90 days left


def test_monthly_differencing_adds_up():
    daily = pd.DataFrame({"calls": np.cumsum(np.arange(91)), "engaged": np.arange(91)})
    m = monthly(daily, 30, cumulative=("calls",))
    assert m["calls"].sum() == daily["calls"].iloc[-1]
    assert list(m["engaged"]) == [30, 60, 90]
    assert list(m["month"]) == [1, 2, 3]


def test_monthly_series_carry_program_columns_in_every_run():
    """Issue 3: monthly series gain handled_by, coverage, unserved reasons and the regular wait, program on or off."""
    from conftest import SCENARIOS

    from crisis_sim.scenario import load_scenario
    from crisis_sim.scenario.loader import shorten_horizon
    from crisis_sim.sim import run_single

    base = run_single(shorten_horizon(load_scenario(SCENARIOS / "small_district.toml"), 75), 0, 0)
    prog = run_single(shorten_horizon(load_scenario(SCENARIOS / "mobile_crisis.toml"), 75), 0, 0)
    for res in (base, prog):
        ts = res.timeseries
        for col in ("handled_by_patrol", "handled_by_mobile_crisis", "specialized_coverage", "unserved_busy",
                    "unserved_off_hours", "unserved_out_of_area", "unserved_misidentified",
                    "waitlist_wait_days_regular", "backup_requests", "stabilization_admissions"):  # fmt: skip
            assert col in ts.columns, col
        mh = res.ledger[res.ledger["mh"]]
        assert ts["handled_by_mobile_crisis"].sum() == int((mh["responder"] == "mobile_crisis").sum())
    assert base.timeseries["handled_by_mobile_crisis"].sum() == 0
    assert prog.timeseries["handled_by_mobile_crisis"].sum() > 0


def test_hourly_coverage_counts_eligible_and_served_by_hour_received():
    from crisis_sim.outcomes.program_metrics import hourly_coverage

    mh = pd.DataFrame({"t_received": [60.0 * 2 + 5, 60.0 * 2 + 50, 1440.0 + 60 * 14, 60.0 * 23 + 59, 60.0 * 14]})
    responder = pd.Series(["mobile_crisis", "patrol", "co_response", "mobile_crisis", "mobile_crisis"])
    eligible = np.array([True, True, True, True, False])
    out = hourly_coverage(mh, eligible, responder)
    assert out["eligible_by_hour"][2] == 2 and out["eligible_by_hour"][14] == 1 and out["eligible_by_hour"][23] == 1
    assert sum(out["eligible_by_hour"]) == 4  # the ineligible call at 14:00 is not counted
    assert out["served_by_hour"]["mobile_crisis"][2] == 1 and out["served_by_hour"]["mobile_crisis"][23] == 1
    assert out["served_by_hour"]["co_response"][14] == 1 and "cit" not in out["served_by_hour"]
    assert hourly_coverage(mh.iloc[:0], eligible[:0], responder.iloc[:0]) == {"eligible_by_hour": [0] * 24,
                                                                             "served_by_hour": {}}  # fmt: skip
