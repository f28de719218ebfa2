"""Paired comparison of scenarios over common random numbers.

For every metric and scenario: the mean over replications with a 95% t-interval, and the paired difference
against the first scenario: the mean of per-replication differences ``x[s, k] - x[0, k]`` with a 95% paired-t
interval. Replication k of every scenario saw the same crises (CRN), so these intervals are much narrower than
the difference of two independent means. A scenario compared with itself gives differences of exactly 0 with
interval [0, 0]. Replications where either value is missing (e.g. no MH call, so no median response) are
left out of that metric's difference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crisis_sim.outcomes import KEY_METRICS

FIELDS = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of a t-interval; NaN bounds with fewer than two values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(x))
    if n < 2:
        return mean, math.nan, math.nan
    sd = float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def paired_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval of ``b - a`` over pairs where both are finite."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    return t_interval(b[ok] - a[ok], level)


def metric_matrix(runs: pd.DataFrame, metric: str, n_scenarios: int) -> np.ndarray:
    """Scenarios × replications (NaN where a run is missing)."""
    reps = int(runs["replication"].max()) + 1 if len(runs) else 0
    out = np.full((n_scenarios, reps), np.nan)
    s = runs["scenario_index"].to_numpy(dtype=int)
    r = runs["replication"].to_numpy(dtype=int)
    out[s, r] = runs[metric].to_numpy(dtype=float)
    return out


def compare_runs(
    runs: pd.DataFrame, labels: Sequence[str], metrics: Sequence[str] = KEY_METRICS, level: float = 0.95
) -> dict[str, Any]:
    """``{"scenarios": labels, "metrics": {metric: {label: {mean, ci_low, ci_high, diff, diff_ci_low,
    diff_ci_high, significant, n}}}}``; the first scenario's diff fields are 0."""
    result: dict[str, Any] = {"scenarios": list(labels), "metrics": {}}
    for metric in metrics:
        x = metric_matrix(runs, metric, len(labels))
        per: dict[str, Any] = {}
        for s, label in enumerate(labels):
            mean, lo, hi = t_interval(x[s], level)
            if s == 0:
                d, dlo, dhi = 0.0, 0.0, 0.0
            else:
                d, dlo, dhi = paired_interval(x[0], x[s], level)
            significant = bool(s > 0 and np.isfinite(dlo) and (dlo > 0 or dhi < 0))
            per[label] = {"mean": mean, "ci_low": lo, "ci_high": hi, "diff": d, "diff_ci_low": dlo,
                          "diff_ci_high": dhi, "significant": significant,
                          "n": int(np.isfinite(x[s]).sum())}  # fmt: skip
        result["metrics"][metric] = per
    return result


def _extras(runs: pd.DataFrame) -> list[dict[str, Any]]:
    if "extra" not in runs:
        return [{} for _ in range(len(runs))]
    return [json.loads(text) if isinstance(text, str) else {} for text in runs["extra"]]


def numeric_extras(runs: pd.DataFrame) -> list[str]:
    """Scalar numeric entries of the ``extra`` JSON column (program-specific figures such as program_cost)."""
    names: dict[str, None] = {}
    for extra in _extras(runs):
        for key, value in extra.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                names[key] = None
    return sorted(names)


def with_extra_metrics(runs: pd.DataFrame, metrics: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Add requested metrics that are not columns from the ``extra`` JSON (missing → NaN); also return the
    names found nowhere."""
    wanted = [m for m in metrics if m not in runs.columns]
    if not wanted:
        return runs, []
    available = set(numeric_extras(runs))
    unknown = [m for m in wanted if m not in available]
    extras = _extras(runs)
    runs = runs.copy()
    for m in wanted:
        if m in available:
            runs[m] = [_as_float(e.get(m)) for e in extras]
    return runs, unknown


def _as_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


# --- text table ----------------------------------------------------------------------------------------------
def fmt_number(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax == 0:
        return "0"
    return f"{x:.3g}"


def _ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"[{fmt_number(lo)}, {fmt_number(hi)}]"


def format_table(result: dict[str, Any], replications: int | None = None) -> str:
    """A readable table: one block per metric, one line per scenario; * marks a difference whose 95% CI
    excludes 0."""
    labels = result["scenarios"]
    base = labels[0]
    w_metric = max(len("metric"), *(len(m) for m in result["metrics"]))
    w_label = max(len("scenario"), *(len(lab) for lab in labels))
    rows = []
    for metric, per in result["metrics"].items():
        for i, label in enumerate(labels):
            v = per[label]
            diff = "" if i == 0 else fmt_number(v["diff"])
            diff_ci = (
                ""
                if i == 0
                else _ci(v["diff_ci_low"], v["diff_ci_high"]) + (" *" if v["significant"] else "")
            )
            rows.append((metric if i == 0 else "", label, fmt_number(v["mean"]), _ci(v["ci_low"], v["ci_high"]),
                         diff, diff_ci))  # fmt: skip
    heads = ("metric", "scenario", "mean", "95% CI", f"diff vs {base}", "95% CI (paired)")
    widths = [w_metric, w_label] + [
        max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(heads) if k >= 2
    ]
    lines = []
    if replications is not None:
        lines.append(f"{len(labels)} scenarios x {replications} replications (common random numbers); "
                     f"* = paired 95% CI excludes 0")  # fmt: skip
    lines.append(
        "  ".join(
            h.ljust(w) if k < 2 else h.rjust(w) for k, (h, w) in enumerate(zip(heads, widths, strict=True))
        ).rstrip()
    )
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)
