"""Helpers shared by the metrics: rates and repeat contacts within a window."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_MIN = 24 * 60


def _rate(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def repeats_within(
    mh: pd.DataFrame, window_days: float, horizon_min: float, warm_min: float
) -> tuple[int, float]:
    """(people with a counted call that followed their previous call within the window,
    share of counted calls followed by another within the window among calls with full follow-up)."""
    calls = mh.sort_values(["resident", "t_received"])
    t = calls["t_received"].to_numpy()
    res = calls["resident"].to_numpy()
    same_prev = np.r_[False, res[1:] == res[:-1]]
    gap_prev = np.r_[np.inf, np.diff(t)]
    window = window_days * DAY_MIN
    counted = t >= warm_min
    repeat = same_prev & (gap_prev <= window) & counted
    people = int(np.unique(res[repeat]).size)
    same_next = np.r_[res[1:] == res[:-1], False]
    gap_next = np.r_[np.diff(t), np.inf]
    followed = same_next & (gap_next <= window)
    eligible = counted & (t + window <= horizon_min)
    share = _rate(int((followed & eligible).sum()), int(eligible.sum()))
    return people, share
