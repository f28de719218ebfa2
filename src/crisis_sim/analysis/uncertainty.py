"""The maths of decision uncertainty: PSA summaries, cost-effectiveness, incremental analysis, CEAC, EVPI/EVPPI.

Pure functions of tidy DataFrames (no simulation here; docs/uncertainty.md). A PSA runs table has one row per
(draw, strategy, replication) with one column per metric; the first strategy is the comparator. Conventions:

- ``DIRECTION[metric]`` says which way is better: ``"lower"`` (arrests, force, holds, ED transports, cost, ...)
  or ``"higher"`` (people connected to services, calls resolved on scene).
- A paired difference is ``x[strategy] - x[first]`` for the same draw and replication (common random numbers).
- "Averted" outcomes are ``first - strategy`` for lower-is-better metrics; "extra" ones ``strategy - first``.
- Probability best: the share of draws in which a strategy has the best draw mean (ties split evenly).
- EVPPI by regression (Strong, Oakley & Brennan 2014, [strong2014]): the net benefit of each strategy relative to
  the first is regressed on one parameter with a penalised cubic spline (scikit-learn), and
  ``EVPPI = mean(max fitted) - max(mean fitted)``; it is clipped to [0, EVPI] (the estimator can overshoot
  either bound by fitting noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

LOWER_BETTER = (
    "arrests", "arrest_rate", "use_of_force", "force_rate", "injuries", "ed_transports", "involuntary_holds",
    "repeat_callers_90d", "median_response_min", "p90_response_min", "officer_hours_mh", "ed_wait_hours",
    "cost_total", "hold_rate", "subject_injuries", "officer_injuries", "open_calls", "recurrence_90d",
    "repeat_12m", "cost_police", "cost_ed", "cost_inpatient", "cost_jail", "cost_programs",
)  # fmt: skip
HIGHER_BETTER = ("connected_to_services", "connection_rate", "resolved_on_scene")
DIRECTION: dict[str, str] = {**{m: "lower" for m in LOWER_BETTER}, **{m: "higher" for m in HIGHER_BETTER}}
# Outcomes of the cost-effectiveness table: (metric, what one unit of effect is called)
OUTCOMES: dict[str, str] = {
    "arrests": "arrest averted",
    "ed_transports": "ED transport averted",
    "involuntary_holds": "involuntary hold averted",
    "use_of_force": "use-of-force incident averted",
    "connected_to_services": "extra person connected to services",
}


def sign(metric: str) -> float:
    """+1 when higher is better, -1 when lower is better, NaN when the metric has no better direction."""
    d = DIRECTION.get(metric)
    return 1.0 if d == "higher" else -1.0 if d == "lower" else math.nan


def draw_means(runs: pd.DataFrame, metric: str, strategies: Sequence[str]) -> pd.DataFrame:
    """Draws × strategies: the mean of ``metric`` over replications."""
    table = runs.pivot_table(index="draw", columns="strategy", values=metric, aggfunc="mean")
    return table.reindex(columns=list(strategies))


def paired_differences(runs: pd.DataFrame, metric: str, strategies: Sequence[str]) -> pd.DataFrame:
    """One row per (draw, replication): ``x[strategy] - x[first]`` for each strategy (a column)."""
    wide = runs.pivot_table(index=["draw", "replication"], columns="strategy", values=metric, aggfunc="first")
    wide = wide.reindex(columns=list(strategies))
    return wide.sub(wide[strategies[0]], axis=0)


def quantile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(median, low, high) of the central ``level`` interval of the finite values (NaN if none)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    a = (1 - level) / 2
    lo, med, hi = np.quantile(x, [a, 0.5, 1 - a])
    return float(med), float(lo), float(hi)


def prob_best(means: pd.DataFrame, direction: str) -> pd.Series:
    """Share of draws (rows) in which each strategy (column) is best; ties share the draw."""
    x = means.to_numpy(dtype=float)
    x = -x if direction == "lower" else x
    best = np.nanmax(x, axis=1, keepdims=True)
    hits = np.isclose(x, best, rtol=0.0, atol=1e-12) & np.isfinite(x)
    weight = hits / hits.sum(axis=1, keepdims=True)
    return pd.Series(weight.mean(axis=0), index=means.columns)


def psa_summary(
    runs: pd.DataFrame, strategies: Sequence[str], metrics: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Per metric and strategy: the paired difference vs the first strategy over draws × replications (median
    and central ``level`` interval) and the probability of being best (NaN for a metric without a direction)."""
    rows = []
    for metric in metrics:
        diffs = paired_differences(runs, metric, strategies)
        direction = DIRECTION.get(metric)
        best = prob_best(draw_means(runs, metric, strategies), direction) if direction else None
        for s in strategies:
            med, lo, hi = quantile_interval(diffs[s].to_numpy())
            rows.append({"metric": metric, "strategy": s, "diff_median": med, "diff_low": lo, "diff_high": hi,
                         "prob_best": float(best[s]) if best is not None else math.nan,
                         "better": direction or ""})  # fmt: skip
    return pd.DataFrame(rows)


# --- cost-effectiveness ----------------------------------------------------------------------------------------
def effects(runs: pd.DataFrame, outcome: str, strategies: Sequence[str]) -> pd.DataFrame:
    """Draws × strategies: the outcome gained against the first strategy (averted or extra; draw means)."""
    means = draw_means(runs, outcome, strategies)
    return means.sub(means[strategies[0]], axis=0) * sign(outcome)


def incremental_costs(
    runs: pd.DataFrame, strategies: Sequence[str], cost: str = "cost_total"
) -> pd.DataFrame:
    """Draws × strategies: extra cost against the first strategy (draw means)."""
    means = draw_means(runs, cost, strategies)
    return means.sub(means[strategies[0]], axis=0)


def cost_per_outcome(
    runs: pd.DataFrame,
    strategies: Sequence[str],
    outcomes: Sequence[str] = tuple(OUTCOMES),
    cost: str = "cost_total",
    level: float = 0.95,
) -> pd.DataFrame:
    """Per strategy (not the first) and outcome: extra cost per unit of outcome gained.

    ``median``/``low``/``high`` are over draws of the per-draw ratio (undefined where a draw gains nothing, and
    unstable when the gain's interval spans 0: read ``effect_low``/``effect_high`` first); ``ratio_of_means`` is
    the expected extra cost over the expected gain (the ICER)."""
    rows = []
    dc = incremental_costs(runs, strategies, cost)
    for outcome in outcomes:
        de = effects(runs, outcome, strategies)
        for s in strategies[1:]:
            c, e = dc[s].to_numpy(dtype=float), de[s].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(e != 0, c / e, np.nan)
            med, lo, hi = quantile_interval(ratio, level)
            e_med, e_lo, e_hi = quantile_interval(e, level)
            c_med, c_lo, c_hi = quantile_interval(c, level)
            mean_e = float(np.nanmean(e))
            rows.append({
                "strategy": s, "outcome": outcome, "unit": OUTCOMES.get(outcome, outcome),
                "median": med, "low": lo, "high": hi,
                "ratio_of_means": float(np.nanmean(c)) / mean_e if mean_e else math.nan,
                "effect_median": e_med, "effect_low": e_lo, "effect_high": e_hi,
                "cost_median": c_med, "cost_low": c_lo, "cost_high": c_hi,
            })  # fmt: skip
    return pd.DataFrame(rows)


def incremental_analysis(costs: Mapping[str, float], effects: Mapping[str, float]) -> pd.DataFrame:
    """The textbook incremental analysis of mutually exclusive options.

    Sorted by cost; an option costing at least as much as another for no more effect (one strictly) is
    ``dominated``; of the rest, an option whose ICER exceeds the next option's is ``extendedly dominated``
    (a mix of its neighbours does better), repeated until the ICERs rise; the remaining options form the
    efficiency ``frontier``, each with its ICER against the previous frontier option (the cheapest: NaN)."""
    df = pd.DataFrame({"cost": pd.Series(costs, dtype=float), "effect": pd.Series(effects, dtype=float)})
    df.index.name = "strategy"
    df = df.sort_values(["cost", "effect"], ascending=[True, False])
    status = dict.fromkeys(df.index, "frontier")
    names = list(df.index)
    for a in names:
        for b in names:
            if a == b:
                continue
            ca, ea, cb, eb = df.at[a, "cost"], df.at[a, "effect"], df.at[b, "cost"], df.at[b, "effect"]
            if cb <= ca and eb >= ea and (cb < ca or eb > ea):
                status[a] = "dominated"
                break
    frontier = [n for n in names if status[n] == "frontier"]
    changed = True
    while changed and len(frontier) > 2:
        changed = False
        icers = [_icer(df, frontier[i - 1], frontier[i]) for i in range(1, len(frontier))]
        for i in range(len(icers) - 1):
            if icers[i] > icers[i + 1]:
                status[frontier[i + 1]] = "extendedly dominated"
                frontier.pop(i + 1)
                changed = True
                break
    icer = dict.fromkeys(names, math.nan)
    for i in range(1, len(frontier)):
        icer[frontier[i]] = _icer(df, frontier[i - 1], frontier[i])
    df["status"] = [status[n] for n in df.index]
    df["icer"] = [icer[n] for n in df.index]
    return df.reset_index()


def _icer(df: pd.DataFrame, a: str, b: str) -> float:
    de = df.at[b, "effect"] - df.at[a, "effect"]
    dc = df.at[b, "cost"] - df.at[a, "cost"]
    return dc / de if de else math.inf


def net_benefit(costs: pd.DataFrame, gains: pd.DataFrame, wtp: float) -> pd.DataFrame:
    """Net monetary benefit ``wtp × gain - cost`` (same shape as the inputs)."""
    return gains * float(wtp) - costs


def ceac(costs: pd.DataFrame, gains: pd.DataFrame, wtps: Sequence[float]) -> pd.DataFrame:
    """Cost-effectiveness acceptability curve: for each willingness to pay per unit of gain, the share of draws
    in which each strategy has the highest net monetary benefit. Tidy: wtp, strategy, probability."""
    rows = []
    for w in wtps:
        best = prob_best(net_benefit(costs, gains, w), "higher")
        rows.extend({"wtp": float(w), "strategy": s, "probability": float(p)} for s, p in best.items())
    return pd.DataFrame(rows)


def wtp_grid(ratios: Sequence[float], points: int = 21) -> list[float]:
    """A willingness-to-pay range from 0 to twice the largest finite positive ratio (at least 1)."""
    finite = [abs(r) for r in ratios if r is not None and math.isfinite(r)]
    top = max(finite, default=0.0) * 2 or 1.0
    return [float(x) for x in np.linspace(0.0, top, points)]


# --- discounting ------------------------------------------------------------------------------------------------
def discount_factors(
    months: Sequence[int] | np.ndarray, rate: float, months_per_year: float = 12.0
) -> np.ndarray:
    """``(1 + rate) ** -((month - 1) / 12)``: month 1 is not discounted, month 13 by one year's rate."""
    if rate < 0:
        raise ValueError(f"expected a discount rate >= 0, found {rate}")
    m = np.asarray(months, dtype=float)
    return (1.0 + rate) ** (-(m - 1.0) / months_per_year)


def discounted_totals(series: pd.DataFrame, rate: float, keys: Sequence[str] = ("scenario_index", "replication")
                      ) -> pd.DataFrame:  # fmt: skip
    """Tidy monthly series (``keys``, month, variable, value) → one row per key, one column per variable: the
    sum of the monthly values, each discounted by :func:`discount_factors`."""
    df = series.copy()
    df["value"] = df["value"].astype(float) * discount_factors(df["month"].to_numpy(), rate)
    return df.pivot_table(index=list(keys), columns="variable", values="value", aggfunc="sum").reset_index()


DEFAULT_DISCOUNT = 0.03  # a year: the reference case of [sanders2016] (3%); 0 allowed, range 0-0.2
MAX_DISCOUNT = 0.2


class DiscountError(ValueError):
    """The stored series cannot be discounted (a store written before monthly costs were kept)."""

DAYS_PER_YEAR = 365.0
DISCOUNTED = ("cost_total", "arrests", "use_of_force", "ed_transports", "involuntary_holds",
              "connected_to_services")  # the columns cost-effectiveness reads  # fmt: skip


def check_discount(rate: float) -> float:
    """``rate`` as a float in [0, MAX_DISCOUNT], else ValueError with one readable line."""
    try:
        x = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"expected a yearly discount rate from 0 to {MAX_DISCOUNT:g} (e.g. 0.03), found {rate!r}"
                         ) from None  # fmt: skip
    if not (math.isfinite(x) and 0.0 <= x <= MAX_DISCOUNT):
        raise ValueError(f"expected a yearly discount rate from 0 to {MAX_DISCOUNT:g} (e.g. 0.03), found {rate!r}")
    return x


def discount_text(rate: float) -> str:
    """"discounted at 3% a year" (or "not discounted" at 0)."""
    return f"discounted at {rate * 100:g}% a year" if rate > 0 else "not discounted (rate 0)"


def counted_year(day_start: np.ndarray, day_end: np.ndarray, warmup_days: float | np.ndarray) -> np.ndarray:
    """Whole years after warm-up at each month's midpoint (0 = the first counted year; warm-up months 0);
    ``warmup_days`` one value or one per month."""
    mid = (np.asarray(day_start, float) + np.asarray(day_end, float)) / 2.0
    return np.floor(np.maximum(mid - np.asarray(warmup_days, float), 0.0) / DAYS_PER_YEAR)


def annual_discount_factors(day_start: np.ndarray, day_end: np.ndarray, warmup_days: float | np.ndarray, rate: float
                            ) -> np.ndarray:  # fmt: skip
    """Per month: ``(1 + rate) ** -year`` with ``year`` = :func:`counted_year` — costs and outcomes of the first
    counted year are not discounted, the second year's by one year's rate, and so on (the usual annual
    convention; a horizon of one counted year gives the same totals at any rate). Computed with
    :func:`discount_factors` at the first month of each year."""
    years = counted_year(day_start, day_end, warmup_days)
    return discount_factors(12.0 * years + 1.0, rate)


def discounted_run_totals(
    series: pd.DataFrame, rate: float, warmup_days: Mapping[int, float],
    columns: Sequence[str] = DISCOUNTED, keys: Sequence[str] = ("scenario_index", "replication"),
) -> pd.DataFrame:  # fmt: skip
    """Tidy stored series (``keys``, month, day_end, variable, value) → one row per run: the discounted sum of
    each of ``columns`` (outcomes from their ``counted_<metric>`` series, costs from ``cost_total``), with
    :func:`annual_discount_factors` and each scenario's warm-up (``warmup_days[scenario_index]``)."""
    wanted = {("counted_" + c if c in OUTCOMES else c): c for c in columns}
    df = series[series["variable"].isin(list(wanted))].copy()
    missing = sorted(set(wanted) - set(df["variable"].unique()))
    if missing:
        raise DiscountError(f"the stored monthly series lack {missing[0]!r} (written by a crisis_sim version before "
                         "monthly costs were stored): run into a new store to discount, or give a discount rate of 0")  # fmt: skip
    df = df.sort_values([*keys, "variable", "month"])
    start = df.groupby([*keys, "variable"])["day_end"].shift(1).fillna(0.0).to_numpy(float)
    warm = df["scenario_index"].map(lambda i: float(warmup_days.get(int(i), 0.0))).to_numpy(float)
    df["value"] = df["value"].astype(float) * annual_discount_factors(start, df["day_end"].to_numpy(float), warm, rate)
    out = df.pivot_table(index=list(keys), columns="variable", values="value", aggfunc="sum")
    return out.rename(columns=wanted).reset_index()


def discount_runs(runs: pd.DataFrame, series: pd.DataFrame, rate: float, warmup_days: Mapping[int, float],
                  columns: Sequence[str] = DISCOUNTED) -> pd.DataFrame:  # fmt: skip
    """``runs`` with ``columns`` replaced by their discounted totals (other columns unchanged)."""
    totals = discounted_run_totals(series, rate, warmup_days, columns)
    keep = [c for c in runs.columns if c not in set(columns)]
    merged = runs[keep].merge(totals, on=["scenario_index", "replication"], how="left")
    return merged[[c for c in runs.columns if c in merged.columns]]


# --- value of information ---------------------------------------------------------------------------------------
def evpi(nb: pd.DataFrame) -> float:
    """Expected value of perfect information: ``mean over draws of max NB - max of mean NB`` (draws × strategies)."""
    x = nb.to_numpy(dtype=float)
    return float(np.mean(np.max(x, axis=1)) - np.max(np.mean(x, axis=0)))


def _smoother(n: int):
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    knots = int(max(3, min(6, n // 8)))
    return make_pipeline(SplineTransformer(n_knots=knots, degree=3), RidgeCV(alphas=np.logspace(-4, 3, 15)))


def evppi(nb: pd.DataFrame, params: pd.DataFrame) -> pd.Series:
    """Per parameter (column of ``params``, rows = draws aligned with ``nb``): the regression estimate of the
    expected value of partial perfect information, sorted high to low, clipped to [0, EVPI]."""
    x = nb.to_numpy(dtype=float)
    inc = x - x[:, [0]]  # relative to the first strategy: one fit fewer, same decision
    total = evpi(nb)
    out = {}
    for name in params.columns:
        theta = params[name].to_numpy(dtype=float).reshape(-1, 1)
        if np.ptp(theta) == 0:
            out[name] = 0.0
            continue
        fitted = np.zeros_like(inc)
        for j in range(1, inc.shape[1]):
            fitted[:, j] = _smoother(len(theta)).fit(theta, inc[:, j]).predict(theta)
        value = float(np.mean(np.max(fitted, axis=1)) - np.max(np.mean(fitted, axis=0)))
        scale = float(np.max(np.abs(inc))) or 1.0
        value = min(value, total)  # EVPPI <= EVPI; the regression estimate can overshoot by fitting noise
        out[name] = value if value > 1e-9 * scale else 0.0  # clipped at 0, rounding noise included
    return pd.Series(out, dtype=float).sort_values(ascending=False)


def metric_net_benefit(runs: pd.DataFrame, metric: str, strategies: Sequence[str]) -> pd.DataFrame:
    """Draws × strategies: the decision value of a metric (its draw mean, negated when lower is better)."""
    s = sign(metric)
    if math.isnan(s):
        raise ValueError(f"metric {metric!r} has no better direction; choose one of {sorted(DIRECTION)}")
    return draw_means(runs, metric, strategies) * s
