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


# Monthly response times (issue 14, item 2): minutes from a call's receipt to the first responder's arrival, by the
# month the call was received, for MH calls and for other police calls. Computed after the run from the ledger (no
# work in the event loop; the ledger is untouched); NaN in a month without an attended call of that kind.
RESPONSE_SERIES = ("median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                   "p90_response_other_min")  # fmt: skip


def _month_quantiles(month: np.ndarray, minutes: np.ndarray, n_months: int, q: float) -> np.ndarray:
    """Per month 1..n_months the ``q`` quantile (numpy's linear method, as pandas' ``quantile``) of ``minutes``."""
    out = np.full(n_months, np.nan)
    if minutes.size == 0:
        return out
    order = np.lexsort((minutes, month))
    month, minutes = month[order], minutes[order]
    bounds = np.searchsorted(month, np.arange(n_months + 1), side="left")
    for k in range(n_months):
        lo, hi = bounds[k], bounds[k + 1]
        if hi > lo:
            out[k] = float(np.quantile(minutes[lo:hi], q))
    return out


def add_response_series(series: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`RESPONSE_SERIES`: the median and 90th percentile of response minutes per month received (warm-up
    months included, like every series; readers leave them out)."""
    out = series.copy()
    if "day_end" not in out or out.empty or "t_arrived" not in ledger:
        for col in RESPONSE_SERIES:
            out[col] = pd.Series([], dtype="float64") if out.empty else np.nan
        return out
    ends = out["day_end"].to_numpy(float) * DAY_MIN
    t_rec = ledger["t_received"].to_numpy(float)
    resp = ledger["t_arrived"].to_numpy(float) - t_rec
    mh = ledger["mh"].to_numpy(bool)
    month = np.searchsorted(ends, t_rec, side="left")  # index 0 = month 1 (months as in repeat_calls)
    keep = np.isfinite(resp) & (month < len(ends))
    for kind, mask in (("mh", keep & mh), ("other", keep & ~mh)):
        for name, q in (("median", 0.5), ("p90", 0.9)):
            out[f"{name}_response_{kind}_min"] = _month_quantiles(month[mask], resp[mask], len(ends), q)
    return out
