"""outcomes.series_columns.add_response_series: monthly median and p90 response minutes of MH and other calls,
computed after the run from the ledger (the ledger itself is untouched: the golden digest in
tests/test_events_programs.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.outcomes.series_columns import RESPONSE_SERIES, add_response_series


def _ledger(t_received, response, mh):
    t = np.asarray(t_received, float)
    return pd.DataFrame({"t_received": t, "t_arrived": t + np.asarray(response, float), "mh": np.asarray(mh, bool)})


def _months(n, month_days=30):
    return pd.DataFrame({"month": range(1, n + 1), "day_end": [month_days * (k + 1) for k in range(n)]})


def test_hand_computed_months():
    day = DAY_MIN
    ledger = _ledger([1 * day, 2 * day, 3 * day, 40 * day, 41 * day, 5 * day],
                     [10, 20, 30, 5, np.nan, 7], [True, True, True, True, True, False])  # fmt: skip
    out = add_response_series(_months(3), ledger)
    assert out["median_response_mh_min"].tolist()[:2] == [20.0, 5.0]  # month 2: the unanswered call left out
    assert out["p90_response_mh_min"].iloc[0] == pytest.approx(np.quantile([10, 20, 30], 0.9))
    assert out["median_response_other_min"].iloc[0] == 7.0
    assert out[list(RESPONSE_SERIES)].iloc[2].isna().all()  # month 3: no call → NaN, not 0
    assert np.isnan(out["median_response_other_min"].iloc[1])


def test_the_run_carries_them_and_they_match_the_ledger():
    from crisis_sim.experiments.spec import apply_days
    from crisis_sim.scenario import load_scenario
    from crisis_sim.sim import run_single

    result = run_single(apply_days(load_scenario("small_district"), 90, "t"), 0, 0)
    series, ledger = result.timeseries, result.ledger
    assert set(RESPONSE_SERIES) <= set(series.columns)
    mh = ledger[ledger["mh"] & ledger["t_arrived"].notna()]
    month = np.searchsorted(series["day_end"].to_numpy(float) * DAY_MIN, mh["t_received"].to_numpy(float))
    expected = (mh["t_arrived"] - mh["t_received"]).groupby(month + 1).median()
    got = series.set_index("month")["median_response_mh_min"]
    assert np.allclose(got.loc[expected.index], expected.to_numpy())


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(st.tuples(st.floats(0, 89.99), st.floats(0, 600) | st.just(float("nan")), st.booleans()),
                      max_size=60))  # fmt: skip
def test_median_never_above_p90_and_empty_months_are_nan(calls):
    ledger = _ledger([c[0] * DAY_MIN for c in calls], [c[1] for c in calls], [c[2] for c in calls])
    out = add_response_series(_months(3), ledger)
    for kind in ("mh", "other"):
        med, p90 = out[f"median_response_{kind}_min"], out[f"p90_response_{kind}_min"]
        both = med.notna() & p90.notna()
        assert (med[both] <= p90[both] + 1e-9).all() and (med.isna() == p90.isna()).all()
        for k in range(3):
            answered = [c for c in calls if c[2] == (kind == "mh") and not np.isnan(c[1])
                        and (k == 0 or k * 30 < c[0]) and c[0] <= (k + 1) * 30]  # months as searchsorted(left)
            assert med.iloc[k] != med.iloc[k] if not answered else np.isfinite(med.iloc[k])
