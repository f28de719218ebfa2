"""Monthly series from Mesa's DataCollector: cumulative counters become per-month counts, gauges month-end values.

The model collects once a day (row 0 is the state before day 1); a month is ``simulation.month_days`` days.
"""

from __future__ import annotations

import pandas as pd

from crisis_sim.model.crisis_model import COUNTERS


def monthly(daily: pd.DataFrame, month_days: int, cumulative: tuple[str, ...] = COUNTERS) -> pd.DataFrame:
    """One row per month (the last may be partial); counters differenced, other columns taken at month end."""
    if len(daily) < 2:
        return pd.DataFrame({"month": pd.Series([], dtype="int64")})
    days = daily.reset_index(drop=True)
    day = pd.Series(range(len(days)))  # row i = end of day i
    ends = [d for d in range(month_days, len(days), month_days)]
    if not ends or ends[-1] != len(days) - 1:
        ends.append(len(days) - 1)
    starts = [0, *ends[:-1]]
    out = {"month": list(range(1, len(ends) + 1)), "day_end": [int(day[e]) for e in ends]}
    for col in days.columns:
        values = days[col].to_numpy()
        if col in cumulative:
            out[col] = [values[e] - values[s] for s, e in zip(starts, ends, strict=True)]
        else:
            out[col] = [values[e] for e in ends]
    return pd.DataFrame(out)
