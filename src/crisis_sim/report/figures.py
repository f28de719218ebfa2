"""Figures for the report and the dashboard: monthly series with bands, and key outcomes with intervals.

A band is the 95% t-interval of the monthly mean over replications (the same interval the outcome table uses);
with common random numbers the replications of two scenarios are paired, so bands that overlap can still hide
a clear paired difference — the table's paired intervals are the test.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.experiments.compare import t_interval

# Series a planner looks at first, in this order (those a scenario does not collect are skipped).
DEFAULT_SERIES = (
    "mh_calls", "arrests", "use_of_force", "ed_transports", "resolved_on_scene", "referrals",
    "connected_to_services", "repeat_calls", "outreach_visits", "mobile_crisis_calls", "patrol_on_duty",
    "waitlist_length",
)  # fmt: skip


def series_bands(series: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Columns scenario_index, month, mean, low, high, n for one variable of a store's long series table."""
    df = series[series["variable"] == variable]
    rows = []
    for (s, month), g in df.groupby(["scenario_index", "month"], sort=True):
        mean, lo, hi = t_interval(g["value"].to_numpy(dtype=float))
        if not np.isfinite(lo):
            lo = hi = mean
        rows.append((int(s), int(month), mean, lo, hi, int(g["value"].notna().sum())))
    return pd.DataFrame(rows, columns=["scenario_index", "month", "mean", "low", "high", "n"])


def full_months(series: pd.DataFrame) -> pd.DataFrame:
    """Drop a short last month (a 365-day run has 12 months of 30 days and a 13th of 5): its totals are not
    comparable with the others and would show as a plunge."""
    if series.empty or "day_end" not in series or series["day_end"].isna().all():
        return series
    ends = series.groupby("month")["day_end"].max().sort_index()
    spans = ends.diff().fillna(ends.iloc[0])
    if len(spans) > 1 and spans.iloc[-1] < spans.iloc[:-1].median():
        return series[series["month"] != ends.index[-1]]
    return series


def available_series(series: pd.DataFrame, wanted: Sequence[str] = DEFAULT_SERIES) -> list[str]:
    """The wanted variables that have a non-zero value somewhere."""
    if series.empty:
        return []
    nonzero = series.groupby("variable")["value"].apply(
        lambda v: bool(np.nanmax(np.abs(v.to_numpy(float))) > 0)
    )
    return [v for v in wanted if v in nonzero.index and nonzero[v]]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def series_figure(
    series: pd.DataFrame,
    labels: Sequence[str],
    variables: Sequence[str],
    title: str = "",
    ncols: int = 2,
    events: Sequence[tuple[float, str]] = (),
) -> bytes:
    """Small multiples: one panel per variable, one line + band per scenario; events as dotted lines
    (month, label). Returns PNG bytes."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    series = full_months(series)
    n = max(1, len(variables))
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.9 * nrows), squeeze=False)
    from crisis_sim.report.narrative import metric_label

    for k, var in enumerate(variables):
        ax = axes[k // ncols][k % ncols]
        bands = series_bands(series, var)
        for s, label in enumerate(labels):
            b = bands[bands["scenario_index"] == s]
            if b.empty:
                continue
            color = f"C{s % 10}"  # fixed per scenario, also in panels where some scenarios have no data
            ax.plot(b["month"], b["mean"], label=label, lw=1.6, color=color)
            ax.fill_between(b["month"], b["low"], b["high"], color=color, alpha=0.2, lw=0)
        for month, text in events:
            ax.axvline(month, color="0.4", ls=":", lw=1)
            if k == 0 and text:
                ax.annotate(text, (month, 1), xycoords=("data", "axes fraction"), fontsize=7, rotation=90,
                            va="top", ha="right", color="0.3")  # fmt: skip
        ax.set_title(f"{metric_label(var)} per month", fontsize=10)
        ax.set_xlabel("month", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    seen: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(name, handle)
    names = [lab for lab in labels if lab in seen]
    handles = [seen[lab] for lab in names]
    height = fig.get_figheight()
    rows_of_legend = (len(names) + 4) // 5
    top = 1 - (0.3 * rows_of_legend + (0.35 if title else 0.05)) / height
    if handles:
        fig.legend(handles, names, loc="upper center", ncol=min(5, len(names)), fontsize=9, frameon=False,
                   bbox_to_anchor=(0.5, top + 0.3 * rows_of_legend / height))  # fmt: skip
    if title:
        fig.suptitle(title, y=1.0, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, top))
    return png_bytes(fig)


def _verdict_colour(metric: str, diff: float, clear: bool) -> str:
    """Green better, red worse (direction per metric, as in the decision table), grey no clear change or no
    stated direction."""
    from crisis_sim.report.decision import DECISION_METRICS

    if not clear or metric not in DECISION_METRICS:
        return "0.45"
    lower_better = DECISION_METRICS[metric][2] == "lower"
    return "#1c7a36" if (diff < 0) == lower_better else "#b3261e"


def outcomes_figure(result: dict[str, Any], metrics: Sequence[str]) -> bytes:
    """Paired differences against the first scenario with their 95% intervals, one panel per metric; green
    better, red worse, grey no clear change."""
    plt = _pyplot()
    from crisis_sim.report.narrative import metric_label

    labels = result["scenarios"][1:]
    metrics = [m for m in metrics if m in result["metrics"]]
    n = max(1, len(metrics))
    ncols = min(3, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 0.5 + 0.45 * max(1, len(labels)) * nrows + 0.9 * nrows),
                             squeeze=False)  # fmt: skip
    for k, m in enumerate(metrics):
        ax = axes[k // ncols][k % ncols]
        for i, label in enumerate(labels):
            v = result["metrics"][m][label]
            d, lo, hi = v["diff"], v["diff_ci_low"], v["diff_ci_high"]
            err = None
            if np.isfinite(lo) and np.isfinite(hi):
                err = [[d - lo], [hi - d]]
            ax.errorbar([d], [i], xerr=err, fmt="o", color=_verdict_colour(m, d, v["significant"]), capsize=3)
        ax.axvline(0, color="0.5", lw=1)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.set_title(f"{metric_label(m)}\n(difference vs {result['scenarios'][0]})", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(alpha=0.3, axis="x")
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.tight_layout()
    return png_bytes(fig)


# Monthly differences against the first option, one panel per option (counts per month; warm-up months excluded).
DIFFERENCE_SERIES = ("arrests", "ed_transports", "connected_to_services", "use_of_force", "resolved_on_scene")


def monthly_differences(series: pd.DataFrame, variable: str, scenario_index: int,
                        first_month: int = 1) -> pd.DataFrame:  # fmt: skip
    """Per month: mean paired difference (option minus the first option, replication by replication) and its
    95% t-interval. Columns month, diff, low, high."""
    series = full_months(series)
    df = series[(series["variable"] == variable) & (series["month"] >= first_month)]
    a = df[df["scenario_index"] == 0].pivot_table(index="month", columns="replication", values="value")
    b = df[df["scenario_index"] == scenario_index].pivot_table(index="month", columns="replication", values="value")
    rows = []
    for month in a.index.intersection(b.index):
        common = a.columns.intersection(b.columns)
        d, lo, hi = t_interval((b.loc[month, common] - a.loc[month, common]).to_numpy(float))
        rows.append((int(month), d, lo if np.isfinite(lo) else d, hi if np.isfinite(hi) else d))
    return pd.DataFrame(rows, columns=["month", "diff", "low", "high"])


def difference_figure(series: pd.DataFrame, names: Sequence[str], variables: Sequence[str],
                      first_month: int = 1) -> bytes:  # fmt: skip
    """One panel per option (after the first): each variable's monthly difference against the first option as a
    line with its 95% band; a zero line. PNG bytes."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    from crisis_sim.report.narrative import metric_label

    options = list(names[1:])
    n = max(1, len(options))
    ncols = min(2, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 3.2 * nrows), squeeze=False, sharey=False)
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1))]
    for k, name in enumerate(options):
        ax = axes[k // ncols][k % ncols]
        for j, var in enumerate(variables):
            d = monthly_differences(series, var, k + 1, first_month)
            if d.empty:
                continue
            color = f"C{j % 10}"
            ax.plot(d["month"], d["diff"], color=color, ls=styles[j % len(styles)], lw=1.8, label=metric_label(var))
            ax.fill_between(d["month"], d["low"], d["high"], color=color, alpha=0.12, lw=0)
        ax.axhline(0, color="0.2", lw=1)
        ax.set_title(f"{name}\nminus {names[0]}", fontsize=10)
        ax.set_xlabel("month of the run", fontsize=8)
        ax.set_ylabel("difference per month", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if nrows == 1 else 0.03, 1, 1))
    return png_bytes(fig)


def ceac_figure(ceac: dict[str, list[dict[str, Any]]], titles: dict[str, str] | None = None) -> bytes:
    """Cost-effectiveness acceptability curves, one panel per outcome: for each willingness to pay per outcome
    gained (x), the share of evidence draws in which each option has the highest net monetary benefit (y).
    ``ceac``: the ``psa_detail["ceac"]`` object ({outcome: [{wtp, strategy, probability}, ...]})."""
    plt = _pyplot()
    outcomes = [o for o, rows in ceac.items() if rows]
    ncols = min(2, max(1, len(outcomes)))
    nrows = max(1, -(-len(outcomes) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.4 * ncols, 3.1 * nrows), squeeze=False)
    for ax in axes.flat[len(outcomes):]:
        ax.set_visible(False)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        df = pd.DataFrame(ceac[outcome])
        for strategy, g in df.groupby("strategy", sort=False):
            g = g.sort_values("wtp")
            ax.plot(g["wtp"], g["probability"], marker=".", label=str(strategy))
        ax.set_ylim(-0.03, 1.03)
        ax.set_title((titles or {}).get(outcome, outcome), fontsize=10)
        ax.set_xlabel("willingness to pay per outcome ($)", fontsize=8)
        ax.set_ylabel("probability best", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_formatter(_money_formatter())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return png_bytes(fig)


def _money_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    def money(x: float, _pos: int) -> str:
        if abs(x) >= 1e6:
            return f"${x / 1e6:g}M"
        if abs(x) >= 1e3:
            return f"${x / 1e3:g}k"
        return f"${x:g}"

    return FuncFormatter(money)


def evppi_figure(rows: Sequence[dict[str, Any]], top: int = 12, unit: str = "arrests") -> bytes:
    """Horizontal bars of the EVPPI per parameter (``psa_detail["evppi"][metric]``, sorted high to low): the
    expected gain, in the decision metric's units, from learning that parameter exactly before choosing."""
    plt = _pyplot()
    shown = list(rows)[:top][::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.32 * max(1, len(shown))))
    ax.barh([str(r["parameter"]) for r in shown], [float(r["value"]) for r in shown], color="#4c72b0")
    ax.set_xlabel(f"expected value of perfect information ({unit} per run)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def coverage_hour_figure(panels: Sequence[tuple[str, dict[str, Any]]], names: dict[str, str] | None = None) -> bytes:
    """One panel per option: eligible MH calls a year by hour of day received (grey bars), the part each program
    served (coloured, stacked), the share served (line, right axis) and each program's staffed hours (shaded).
    ``panels``: (option name, ``coverage_by_hour`` of the decision data)."""
    plt = _pyplot()
    n = len(panels)
    ncols = min(2, max(1, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 2.9 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    colours = ["#2b7bba", "#e08a1e", "#2e9e5b", "#8a5cc2", "#c2413b"]
    hours = np.arange(24)
    for ax, (name, c) in zip(axes.flat, panels, strict=False):
        eligible = np.asarray(c["eligible_per_year"], float)
        for i, mask in enumerate(c["hours"].values()):
            on = np.asarray(mask, bool)
            if on.all():
                continue
            for h in hours[on]:
                ax.axvspan(h - 0.5, h + 0.5, color=colours[i % len(colours)], alpha=0.08, lw=0)
        ax.bar(hours, eligible, color="#cfcfcf", width=0.85, label="eligible, not served")
        bottom = np.zeros(24)
        for i, (key, served) in enumerate(c["served_per_year"].items()):
            v = np.asarray(served, float)
            ax.bar(hours, v, bottom=bottom, width=0.85, color=colours[i % len(colours)],
                   label=f"served by {(names or {}).get(key, key)}")  # fmt: skip
            bottom += v
        ax2 = ax.twinx()
        share = np.array([np.nan if x is None else x for x in c["share_served"]], float)
        ax2.plot(hours, share * 100, color="#222", lw=1.2, marker=".", ms=3, label="share served")
        ax2.set_ylim(0, 105)
        ax2.set_ylabel("% served", fontsize=8)
        ax2.tick_params(labelsize=7)
        from matplotlib.patches import Patch

        handles, labels = ax.get_legend_handles_labels()
        handles += [ax2.get_lines()[0], Patch(color=colours[0], alpha=0.15)]
        labels += ["% of eligible served (right axis)", "team on duty (shaded)"]
        ax.set_title(name, fontsize=10)
        ax.set_xlim(-0.6, 23.6)
        ax.set_xticks(range(0, 24, 3))
        ax.set_xticklabels([f"{h:02d}:00" for h in range(0, 24, 3)], fontsize=7)
        ax.set_ylabel("eligible MH calls a year", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(handles, labels, fontsize=6.5, loc="upper left")
    fig.tight_layout()
    return png_bytes(fig)


def coverage_curve_figure(data: dict[str, Any]) -> bytes:
    """Coverage of eligible calls (with 95% interval) against one setting, one line per option; annual cost on a
    second panel. ``data``: :func:`crisis_sim.report.curve.curve_data`."""
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
    for name, points in data["options"].items():
        x = [p["value"] for p in points]
        y = [np.nan if p["coverage"] is None else p["coverage"] * 100 for p in points]
        lo = [np.nan if p["low"] is None else p["low"] * 100 for p in points]
        hi = [np.nan if p["high"] is None else p["high"] * 100 for p in points]
        line = ax.plot(x, y, marker="o", label=name)[0]
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        ax2.plot(x, [np.nan if p["annual_cost"] is None else p["annual_cost"] for p in points], marker="o",
                 color=line.get_color(), label=name)  # fmt: skip
    for a in (ax, ax2):
        a.set_xlabel(data.get("label") or data["path"], fontsize=8)
        a.set_xticks(list(data["values"]))
        a.tick_params(labelsize=8)
        a.grid(alpha=0.3)
    ax.set_ylabel("% of eligible calls served", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_title("coverage of eligible calls", fontsize=10)
    ax2.set_title("annual cost", fontsize=10)
    ax2.yaxis.set_major_formatter(_money_formatter())
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig)
