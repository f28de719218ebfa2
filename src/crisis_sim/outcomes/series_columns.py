"""Monthly-series columns every run carries, whatever its programs, so that series compare across scenarios and the
months before and after a timeline event can be read side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.model.destinations import DAY_MIN

REPEAT_WINDOW_DAYS = 90  # as the summary's repeat_callers_90d / recurrence_90d
ALWAYS = ("outreach_visits", "outreach_referrals", "repeat_calls", "arrests", "ed_transports")


def repeat_call_flags(
    ledger: pd.DataFrame, window_days: float = REPEAT_WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """(t_received, is_repeat) of MH calls: a repeat follows the same person's previous MH call within the window."""
    mh = ledger[ledger["mh"]] if "mh" in ledger else ledger.iloc[:0]
    if mh.empty:
        return np.zeros(0), np.zeros(0, bool)
    calls = mh.sort_values(["resident", "t_received"])
    t = calls["t_received"].to_numpy(float)
    res = calls["resident"].to_numpy()
    same_prev = np.r_[False, res[1:] == res[:-1]]
    gap_prev = np.r_[np.inf, np.diff(t)]
    return t, same_prev & (gap_prev <= window_days * DAY_MIN)


def add_series_columns(series: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Add ``repeat_calls`` (MH calls, by month received, that repeat a call of the previous 90 days) and zero
    columns for any of :data:`ALWAYS` the run did not report."""
    out = series.copy()
    if "day_end" not in out or out.empty:
        for col in ALWAYS:
            out[col] = pd.Series([], dtype="int64")
        return out
    t, rep = repeat_call_flags(ledger)
    ends = out["day_end"].to_numpy(float) * DAY_MIN
    month = np.searchsorted(ends, t[rep], side="left")  # a call at exactly a month's end belongs to the next
    month = month[month < len(ends)]
    out["repeat_calls"] = np.bincount(month, minlength=len(ends)).astype("int64")
    for col in ALWAYS:
        if col not in out:
            out[col] = 0
    return out


def summary_extras(model: Any) -> dict[str, Any]:
    return model.timeline.summary()
