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


# --- monthly costs and counted outcomes (discounting, docs/uncertainty.md) ---------------------------------------
# Outcomes counted as the summary counts them (MH calls received after warm-up), by month received, so that their
# monthly values add up to the summary's totals and can be discounted (``counted_<metric>`` columns).
COUNTED_OUTCOMES = ("arrests", "use_of_force", "ed_transports", "involuntary_holds", "connected_to_services")
CORE_COSTS = ("cost_police", "cost_ed", "cost_inpatient", "cost_jail")


def _month_of(t_min: np.ndarray, day_end: np.ndarray) -> np.ndarray:
    """Index of the month (0-based) whose days hold each time: month k covers (day_end[k-1], day_end[k]]."""
    month = np.searchsorted(day_end * DAY_MIN, t_min, side="left")
    return np.minimum(month, len(day_end) - 1)


def add_cost_series(
    series: pd.DataFrame,
    daily: pd.DataFrame,
    ledger: pd.DataFrame,
    scenario: Any,
    program_costs: dict[str, float],
    other_cost: float = 0.0,
) -> pd.DataFrame:
    """Append monthly cost columns and the counted outcomes (new columns only; existing ones untouched).

    - ``cost_police``, ``cost_ed``, ``cost_inpatient``, ``cost_jail``: the summary's cost accounting applied to
      the counted calls received in each month (officer minutes of every counted call; ED visits, admissions and
      arrests of counted MH calls); they add up to the summary's totals.
    - ``cost_<program>``: each program's run cost spread over the counted days on which it operated (the daily
      ``program_active_<program>`` share of its districts with the program running: a launch, a suspension or an
      end moves the cost with it); exact for steady staffing, approximate when funded staff change within a
      month-to-month steady run (the total is always the summary's). ``cost_programs`` and ``cost_total`` sum them.
    - ``cost_other``: the costs of the mechanisms' switches (EMS and self-presented ED visits, sobering and
      respite beds, the crisis line, scene consults; ``other_cost``, their run total) spread evenly over the
      counted days (0 when every switch is off), so that ``cost_total`` adds up to the summary's.
    - ``counted_<outcome>`` for :data:`COUNTED_OUTCOMES`, by month received.
    """
    out = series.copy()
    if "day_end" not in out or out.empty:
        for col in (*CORE_COSTS, "cost_programs", "cost_other", "cost_total", *(f"counted_{m}" for m in COUNTED_OUTCOMES)):
            out[col] = pd.Series([], dtype="float64")
        return out
    day_end = out["day_end"].to_numpy(float)
    n = len(day_end)
    counted = ledger[~ledger["in_warmup"]] if "in_warmup" in ledger else ledger
    mh = counted[counted["mh"]] if "mh" in counted else counted.iloc[:0]
    c = scenario.costs
    disp = mh["disposition"].astype(str).to_numpy() if len(mh) else np.zeros(0, str)

    def by_month(frame: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
        if len(frame) == 0:
            return np.zeros(n)
        return np.bincount(_month_of(frame["t_received"].to_numpy(float), day_end), weights=weights, minlength=n)

    ed = (mh["destination"] == "ed").to_numpy(float) if "destination" in mh else np.isin(
        disp, ("voluntary_transport", "involuntary")).astype(float)  # fmt: skip
    arrests = (disp == "arrest").astype(float)
    parts = {
        "cost_police": by_month(counted, counted["officer_min"].to_numpy(float)) / 60 * c.officer_hour,
        "cost_ed": by_month(mh, ed) * c.ed_visit,
        "cost_inpatient": by_month(mh, mh["admitted"].to_numpy(float) if len(mh) else np.zeros(0))
        * c.inpatient_days_per_admission * c.inpatient_day,
        "cost_jail": by_month(mh, arrests) * c.jail_days_per_arrest * c.jail_day,
    }
    outcomes = {
        "arrests": arrests,
        "use_of_force": mh["force"].to_numpy(float) if len(mh) else np.zeros(0),
        "ed_transports": ed,
        "involuntary_holds": (disp == "involuntary").astype(float),
        "connected_to_services": mh["connected"].to_numpy(float) if len(mh) else np.zeros(0),
    }
    programs = {f"cost_{key}": _spread(total, daily, key, day_end, scenario.simulation.warmup_days)
                for key, total in program_costs.items()}  # fmt: skip
    other = _spread(other_cost, daily, None, day_end, scenario.simulation.warmup_days)
    total = sum(parts.values()) + sum(programs.values(), np.zeros(n)) + other
    new = {**parts, **programs, "cost_programs": sum(programs.values(), np.zeros(n)), "cost_other": other,
           "cost_total": total}
    new.update({f"counted_{m}": by_month(mh, w) for m, w in outcomes.items()})
    for col, values in new.items():
        if col not in out:
            out[col] = np.asarray(values, dtype=float)
    return out


def _spread(total: float, daily: pd.DataFrame, key: str | None, day_end: np.ndarray, warmup_days: int) -> np.ndarray:
    """A program's run cost over the months, in proportion to its operating share on each counted day (``key``
    None: evenly over the counted days)."""
    n_days = len(daily) - 1  # row i = end of day i; day i runs from row i-1 to row i
    days = np.arange(1, n_days + 1)
    col = f"program_active_{key}" if key is not None else None
    share = daily[col].to_numpy(float)[:-1] if col in daily else np.ones(n_days)  # the state the day starts in
    weight = np.where(days > warmup_days, share, 0.0)
    if weight.sum() <= 0:
        weight = (days > warmup_days).astype(float)
    if weight.sum() <= 0 or total == 0:
        return np.zeros(len(day_end))
    month = np.minimum(np.searchsorted(day_end, days, side="left"), len(day_end) - 1)
    return np.bincount(month, weights=weight, minlength=len(day_end)) / weight.sum() * float(total)
# Monthly response times (issue 14, item 2): minutes from a call's receipt to the first responder's arrival, by the
# month the call was received, for MH calls and for other police calls. Computed after the run from the ledger (no
# work in the event loop; the ledger is untouched); NaN in a month without an attended call of that kind.
RESPONSE_SERIES = ("median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                   "p90_response_other_min")  # fmt: skip


def _month_quantiles(month: np.ndarray, minutes: np.ndarray, n_months: int, qs: tuple[float, ...]) -> np.ndarray:
    """Per month 1..n_months (columns) the quantiles ``qs`` (rows; numpy's linear method, as pandas'
    ``quantile``) of ``minutes``; one grouping by month for all of them."""
    out = np.full((len(qs), n_months), np.nan)
    if minutes.size == 0:
        return out
    order = np.argsort(month, kind="stable")  # np.quantile orders each month's minutes itself
    month, minutes = month[order], minutes[order]
    bounds = np.searchsorted(month, np.arange(n_months + 1), side="left")
    for k in range(n_months):
        lo, hi = bounds[k], bounds[k + 1]
        if hi > lo:
            out[:, k] = np.quantile(minutes[lo:hi], qs)
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
        median, p90 = _month_quantiles(month[mask], resp[mask], len(ends), (0.5, 0.9))
        out[f"median_response_{kind}_min"] = median
        out[f"p90_response_{kind}_min"] = p90
    return out
