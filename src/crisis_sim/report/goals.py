"""Goals and milestones for the report: whether, when and with what probability each option meets each goal.

A goals file (TOML, docs/report.md) lists ``[[goals]]`` tables, each one of:

- ``metric`` + ``change`` (a relative change against the first option, e.g. ``-0.10`` = 10% fewer) + ``by_month``:
  met in a replication when the option's total of the monthly series ``metric`` from the end of warm-up to
  ``by_month`` differs from the first option's total (same replication: common random numbers) by at least
  ``change``; *when* is the first month from which that running change meets the goal;
- ``metric`` + ``at_least`` or ``at_most`` (an absolute level, e.g. ``specialized_coverage``, ``at_least = 0.8``)
  + optional ``by_month``: met when the monthly value at ``by_month`` (or the run's summary value when the metric
  has no monthly series or no ``by_month`` is given) is on the right side; *when* is the first month it is.

The probability is the share of replications that meet the goal (over PSA draws too once the report receives
them). Metrics must be monthly series of the store or summary metrics; a bad file gets one line naming the file,
the goal and the key.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

KEYS = {"metric", "change", "at_least", "at_most", "by_month", "label"}


class GoalError(Exception):
    """A goals file that cannot be used: one user-facing line."""


@dataclass(frozen=True)
class Goal:
    metric: str
    change: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    by_month: int | None = None
    label: str = ""
    source: str = ""  # where the goal was stated: "scenario file X" or "goals file Y"

    def describe(self) -> str:
        from crisis_sim.report.narrative import metric_label

        what = metric_label(self.metric)
        if self.change is not None:
            text = f"{abs(self.change):.0%} {'fewer' if self.change < 0 else 'more'} {what} than the first option"
        elif self.at_least is not None:
            text = f"{what} at least {_level(self.metric, self.at_least)}"
        else:
            text = f"{what} at most {_level(self.metric, self.at_most)}"
        return self.label or (text + (f" by month {self.by_month}" if self.by_month else ""))


def _level(metric: str, x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if ("coverage" in metric or "rate" in metric or "share" in metric) and x <= 1 else f"{x:g}"


def _read_toml(path: Path) -> dict[str, Any]:
    """A goals file as parsed TOML; a missing or unreadable file is one :class:`GoalError` line."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise GoalError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GoalError(f"{path}: not a TOML file ({exc})") from None


def load_goals(path: str | Path) -> list[Goal]:
    return parse_goals(_read_toml(Path(path)), str(path))


def parse_goals(raw: Mapping[str, Any], source: str = "goals", stated_in: str | None = None) -> list[Goal]:
    """Goals from a parsed TOML document (``{"goals": [{...}, ...]}``); ``source`` names it in errors;
    ``stated_in`` says where the goals were stated (each goal's ``source``; default "goals file <name>")."""
    path = source
    items = raw.get("goals") if isinstance(raw, Mapping) else None
    if isinstance(raw, Mapping) and "weights" in raw and "goals" not in raw and not set(raw) - {"weights"}:
        return []  # a file of ranking weights only
    if not isinstance(items, list) or not items or set(raw) - {"goals", "weights"}:
        raise GoalError(f"{path}: expected one or more [[goals]] tables (and optionally a [weights] table) and "
                        "nothing else")
    goals = []
    for k, g in enumerate(items):
        where = f"{path}, goals[{k}]"
        if not isinstance(g, Mapping):
            raise GoalError(f"{where}: expected a table of metric and target, found {g!r}")
        unknown = sorted(set(g) - KEYS)
        if unknown:
            raise GoalError(f"{where}.{unknown[0]}: unknown key (expected {', '.join(sorted(KEYS))})")
        if not isinstance(g.get("metric"), str) or not g["metric"]:
            raise GoalError(f"{where}.metric: expected a metric name (e.g. \"arrests\"), found {g.get('metric')!r}")
        kinds = [x for x in ("change", "at_least", "at_most") if x in g]
        if len(kinds) != 1:
            raise GoalError(f"{where}: expected exactly one of change, at_least, at_most, found {kinds or 'none'}")
        value = g[kinds[0]]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise GoalError(f"{where}.{kinds[0]}: expected a number, found {value!r}")
        if kinds[0] == "change" and not -1.0 <= value <= 10.0:
            raise GoalError(f"{where}.change: expected a relative change from -1 to 10 (e.g. -0.10), found {value!r}")
        month = g.get("by_month")
        if month is not None and (isinstance(month, bool) or not isinstance(month, int) or month < 1):
            raise GoalError(f"{where}.by_month: expected a whole month from 1, found {month!r}")
        if kinds[0] == "change" and month is None:
            raise GoalError(f"{where}.by_month: expected a month for a change goal (e.g. 12)")
        label = g.get("label", "")
        if not isinstance(label, str):
            raise GoalError(f"{where}.label: expected text, found {label!r}")
        goals.append(Goal(g["metric"], **{kinds[0]: float(value)}, by_month=month, label=label,
                          source=stated_in or f"goals file {Path(path).name}"))  # fmt: skip
    return goals


def load_weights(path: str | Path) -> dict[str, Any] | None:
    """The ``[weights]`` table of a goals file (None when it has none); checked by
    :func:`crisis_sim.report.decision.parse_weights`."""
    path = Path(path)
    raw = _read_toml(path)
    weights = raw.get("weights")
    if weights is not None and not isinstance(weights, Mapping):
        raise GoalError(f"{path}: weights: expected a table of metric = weight, found {weights!r}")
    return dict(weights) if weights is not None else None


def goals_of_scenarios(spec: Any) -> list[Goal]:
    """The ``[[goals]]`` of every option's scenario file, in order, each stated once (the same goal in two files
    counts once, credited to the first), with its source."""
    return merge_goals([
        Goal(g.metric, change=g.change, at_least=g.at_least, at_most=g.at_most, by_month=g.by_month, label=g.label,
             source=f"scenario file {Path(str(entry.file)).name}")
        for entry in spec.scenarios for g in getattr(entry.scenario, "goals", None) or []
    ])  # fmt: skip


def check_metrics(goals: Sequence[Goal], scenario: Any, days: int = 3) -> None:
    """Raise :class:`GoalError` for a goal whose metric the report could not evaluate, before any long run: the
    same two checks as :func:`evaluate` (a monthly series or a numeric summary metric; a change goal needs a
    monthly series), on one ``days``-day run of ``scenario`` (the first option; every run carries the same
    series and summary keys)."""
    if not goals:
        return
    from crisis_sim.scenario.loader import shorten_horizon
    from crisis_sim.sim import run_single

    result = run_single(shorten_horizon(scenario, days, label="<goal check>"), 0, 0)
    variables = {str(c) for c in result.timeseries.columns} - {"month", "day_end"}
    summary = {k for k, v in result.summary.items() if v is None or (isinstance(v, int | float)
                                                                      and not isinstance(v, bool))}  # fmt: skip
    for goal in goals:
        if goal.metric not in variables and goal.metric not in summary:
            raise GoalError(f"{_from(goal)}goal {goal.describe()!r}: metric {goal.metric!r} is neither a monthly "
                            "series nor a summary metric of these runs")  # fmt: skip
        if goal.change is not None and goal.metric not in variables:
            raise GoalError(f"{_from(goal)}goal {goal.describe()!r}: a change by month needs a monthly series; "
                            f"{goal.metric!r} has none")  # fmt: skip


def merge_goals(*lists: Sequence[Goal]) -> list[Goal]:
    """Goals of several sources, each stated once (the first source is kept)."""
    out: list[Goal] = []
    seen: set[tuple[Any, ...]] = set()
    for goals in lists:
        for g in goals:
            key = (g.metric, g.change, g.at_least, g.at_most, g.by_month, g.label)
            if key not in seen:
                seen.add(key)
                out.append(g)
    return out


def _monthly(series: pd.DataFrame, metric: str, s: int) -> pd.DataFrame:
    """Months × replications of one variable of one scenario."""
    df = series[(series["variable"] == metric) & (series["scenario_index"] == s)]
    return df.pivot_table(index="month", columns="replication", values="value").sort_index()


def _summary_values(runs: pd.DataFrame, metric: str, s: int) -> np.ndarray | None:
    sub = runs[runs["scenario_index"] == s].sort_values("replication")
    if metric in sub:
        return sub[metric].to_numpy(float)
    vals = []
    for text in sub.get("extra", []):
        v = json.loads(text).get(metric) if isinstance(text, str) else None
        vals.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan)
    arr = np.asarray(vals, float)
    return arr if np.isfinite(arr).any() else None


def evaluate(goals: Sequence[Goal], runs: pd.DataFrame, series: pd.DataFrame, names: Sequence[str],
             warm_month: int) -> list[dict[str, Any]]:  # fmt: skip
    """One entry per goal: ``goal``, ``metric``, and per option ``{met_probability, met_median_month,
    replications, basis}``; a goal on an unknown metric raises :class:`GoalError`."""
    out = []
    variables = set(series["variable"]) if len(series) else set()
    for goal in goals:
        entry: dict[str, Any] = {"goal": goal.describe(), "metric": goal.metric, "source": goal.source,
                                 "options": {}}
        in_series = goal.metric in variables
        if not in_series and _summary_values(runs, goal.metric, 0) is None:
            raise GoalError(f"{_from(goal)}goal {goal.describe()!r}: metric {goal.metric!r} is neither a monthly series nor a "
                            "summary metric of these runs")  # fmt: skip
        if goal.change is not None and not in_series:
            raise GoalError(f"{_from(goal)}goal {goal.describe()!r}: a change by month needs a monthly series; "
                            f"{goal.metric!r} has none")  # fmt: skip
        for s, name in enumerate(names):
            if goal.change is not None and s == 0:
                entry["options"][name] = {"met_probability": None, "met_median_month": None,
                                          "basis": "the reference"}  # fmt: skip
                continue
            entry["options"][name] = _evaluate_one(goal, runs, series, s, warm_month, in_series)
        out.append(entry)
    return out


def _from(goal: Goal) -> str:
    return f"{goal.source}: " if goal.source else ""


def psa_as_replications(index: pd.DataFrame, strategies: Sequence[str], replications: int, runs: pd.DataFrame,
                        series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """PSA runs and series (``index``: scenario_index → strategy, draw; the point values, draw < 0, left out)
    renumbered as one experiment of the strategies whose replications are (draw, replication) pairs: replication
    ``draw * R + r`` of every strategy sees the same draw and the same crises, so :func:`evaluate` gives each goal's
    probability over what we don't know and run-to-run noise together."""
    idx = index[index["draw"] >= 0]
    order = {s: i for i, s in enumerate(strategies)}
    table = {int(row.scenario_index): (order[row.strategy], int(row.draw)) for row in idx.itertuples()}

    def renumber(df: pd.DataFrame) -> pd.DataFrame:
        df = df[df["scenario_index"].isin(list(table))].copy()
        if df.empty:
            return df
        pair = df["scenario_index"].map(table)
        df["replication"] = [d * replications + int(r) for (_s, d), r in zip(pair, df["replication"], strict=True)]
        df["scenario_index"] = [s for s, _d in pair]
        return df

    return renumber(runs), renumber(series)


def attach_psa(results: list[dict[str, Any]], psa_results: Sequence[Mapping[str, Any]], draws: int) -> None:
    """Put each goal's probability over the PSA draws beside the run-to-run one (``psa_probability``,
    ``psa_median_month``, ``psa_draws``)."""
    for entry, other in zip(results, psa_results, strict=True):
        for name, v in entry["options"].items():
            o = other["options"].get(name) or {}
            v["psa_probability"] = o.get("met_probability")
            v["psa_median_month"] = o.get("met_median_month")
            v["psa_draws"] = draws


def _evaluate_one(goal: Goal, runs: pd.DataFrame, series: pd.DataFrame, s: int, warm_month: int,
                  in_series: bool) -> dict[str, Any]:  # fmt: skip
    if goal.change is not None:
        a = _monthly(series, goal.metric, 0)
        b = _monthly(series, goal.metric, s)
        a, b = a[a.index >= warm_month], b[b.index >= warm_month]
        reps = a.columns.intersection(b.columns)
        months = a.index.intersection(b.index)
        last = goal.by_month if goal.by_month is not None else int(months.max())
        cum_a = a.loc[months, reps].cumsum()
        cum_b = b.loc[months, reps].cumsum()
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = (cum_b - cum_a) / cum_a.where(cum_a != 0)
        ok = rel <= goal.change if goal.change < 0 else rel >= goal.change
        return _summarise(ok, last, "monthly totals from the end of warm-up, paired by replication")
    if in_series and goal.by_month is not None:
        m = _monthly(series, goal.metric, s)
        m = m[m.index >= warm_month]
        ok = m >= goal.at_least if goal.at_least is not None else m <= goal.at_most
        return _summarise(ok, goal.by_month, "the monthly value")
    values = _summary_values(runs, goal.metric, s)
    if values is None:
        return {"met_probability": None, "met_median_month": None, "basis": "not recorded for this option"}
    finite = values[np.isfinite(values)]
    met = finite >= goal.at_least if goal.at_least is not None else finite <= goal.at_most
    return {"met_probability": float(met.mean()) if finite.size else None, "met_median_month": None,
            "replications": int(finite.size), "basis": "the whole counted period"}  # fmt: skip


def _summarise(ok: pd.DataFrame, by_month: int, basis: str) -> dict[str, Any]:
    """Share of replications meeting the goal at ``by_month`` and the median first month from which it is met
    (None when most never are)."""
    if ok.empty or by_month not in ok.index:
        return {"met_probability": None, "met_median_month": None, "basis": f"month {by_month} not simulated"}
    met = ok.loc[by_month].to_numpy(bool)
    firsts = []
    for rep in ok.columns:
        col = ok[rep]
        # first month from which the goal holds through by_month
        holds = col[col.index <= by_month][::-1].cummin()[::-1]
        months = holds[holds].index
        firsts.append(float(months.min()) if len(months) else math.inf)
    med = float(np.median(firsts))
    return {"met_probability": float(met.mean()), "met_median_month": med if math.isfinite(med) else None,
            "replications": int(len(met)), "basis": basis}  # fmt: skip


def goals_html(results: Sequence[Mapping[str, Any]], names: Sequence[str], esc: Any) -> str:
    psa = any(v.get("psa_probability") is not None for g in results for v in g["options"].values())
    head = ("<tr><th class=l>goal</th><th class=l>stated in</th>" + "".join(f"<th>{esc(n)}</th>" for n in names)
            + "</tr>")  # fmt: skip
    body = []
    for g in results:
        cells = []
        for n in names:
            v = g["options"][n]
            p = v["met_probability"]
            if p is None:
                cells.append(f"<td class='num unclear'>{esc(v['basis'])}</td>")
                continue
            cls = "better" if p >= 0.8 else "worse" if p <= 0.2 else "unclear"
            when = f"<br><span class=ci>from month {v['met_median_month']:g}</span>" if v["met_median_month"] else ""
            extra = ""
            if v.get("psa_probability") is not None:
                extra = f"<br><span class=ci>{v['psa_probability']:.0%} over what we don't know</span>"
            cells.append(f"<td class='num {cls}'>{p:.0%} of runs{when}{extra}</td>")
        body.append(f"<tr><td class=l>{esc(g['goal'])}</td><td class=l>{esc(g.get('source') or '')}</td>"
                    f"{''.join(cells)}</tr>")  # fmt: skip
    return (f"<div class=scroll><table class=goals>{head}{''.join(body)}</table></div><p class=legend>Share of "
            "replications in which the option meets the goal (green: 80% or more, red: 20% or less), and the "
            "median month from which it keeps meeting it"
            + ("; beneath, the share over the draws of the probabilistic sensitivity analysis times their "
               "replications (what we don't know and run-to-run noise together)" if psa else "")
            + ". A change goal compares running totals from the end of warm-up with the first option's in the same "
            "replication. 'Stated in': the scenario file or goals file the goal came from.</p>")  # fmt: skip
