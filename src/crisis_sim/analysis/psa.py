"""Probabilistic sensitivity analysis across strategies, run through the one evaluator (experiments/).

``build_psa_spec`` draws N joint parameter sets from an evidence file (analysis/evidence.py) and applies each,
identically, to every strategy as scenario overrides (a path whose section a strategy lacks is skipped). Each
(draw, strategy) is one scenario entry of an ordinary :class:`ExperimentSpec`, labelled ``STRATEGY@dK``; each
strategy also appears once at its point values (``STRATEGY@point``) for the Monte-Carlo-only comparison. All
entries share the replications' seeds (common random numbers), so the store is resumable and runs on processes
or Dask like every batch. ``psa_tables`` turns the runs table into the results (analysis/uncertainty.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crisis_sim.analysis import uncertainty as u
from crisis_sim.analysis.evidence import Evidence, apply_draw, draw, overrides_for
from crisis_sim.experiments.compare import compare_runs
from crisis_sim.experiments.spec import ExperimentSpec, ScenarioEntry
from crisis_sim.scenario import ScenarioError, with_overrides

POINT = -1  # the draw index of the point-value entries


@dataclass(frozen=True)
class PSAPlan:
    spec: ExperimentSpec
    strategies: tuple[str, ...]
    draws: pd.DataFrame  # one row per draw, one column per evidence entry
    index: pd.DataFrame  # scenario_index → strategy, draw (POINT for the point values)
    evidence: Evidence
    applied: tuple[str, ...] = ()  # evidence entries that reach at least one strategy


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def build_psa_spec(base: ExperimentSpec, evidence: Evidence, n_draws: int, posterior: Any = None) -> PSAPlan:
    """The experiment: (N draws + the point values) × the strategies of ``base`` × its R replications.

    ``posterior``: ``(frame, params)`` from :func:`crisis_sim.analysis.abc_smc.read_posterior` (a
    posterior.parquet of ``calibrate --method abc``). Its particles, resampled by weight (deterministic from the
    root seed), replace the calibrated point of the calibrated parameters in every draw (balancing shares as
    in the calibration); evidence entries on those paths are left out, the others are drawn as usual."""
    strategies = tuple(base.labels)
    post_rows: Any = None
    if posterior is not None:
        from crisis_sim.analysis import abc_smc
        from crisis_sim.analysis.calibration import overrides_for as calibrated_overrides

        frame, params = posterior
        paths = [p.path for p in params]
        evidence = Evidence(evidence.file, tuple(e for e in evidence.entries
                                                 if not any(_overlaps(e.path, q) for q in paths)),
                            evidence.options, evidence.chosen)  # fmt: skip
        post_rows = abc_smc.resample(frame, n_draws, [int(base.root_seed) % 2**32, 2])[paths]
    draws = draw(evidence, n_draws, base.root_seed)
    if post_rows is not None:
        draws = pd.concat([draws, post_rows.set_axis(draws.index)], axis=1)
    entries: list[ScenarioEntry] = []
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    applied = {
        entry.path for e in base.scenarios for entry in evidence.entries
        if overrides_for(e.scenario, Evidence(evidence.file, (entry,)), {entry.name: 1.0})
    }  # fmt: skip
    for s, e in enumerate(base.scenarios):
        entries.append(ScenarioEntry(f"{e.label}@point", e.file, e.overrides, e.scenario))
        rows.append({"strategy": strategies[s], "draw": POINT})
    for k in range(n_draws):
        values = draws.iloc[k]
        for s, e in enumerate(base.scenarios):
            try:
                scenario = apply_draw(e.scenario, evidence, values, k)
                if post_rows is not None and _has_paths(scenario, params):
                    point = {p.path: float(values[p.path]) for p in params}
                    scenario = with_overrides(scenario, calibrated_overrides(params, point, scenario),
                                              label=f"posterior: draw {k}")  # fmt: skip
            except ScenarioError as exc:
                problems.extend(exc.lines)
                continue
            entries.append(ScenarioEntry(f"{e.label}@d{k}", e.file, e.overrides, scenario))
            rows.append({"strategy": strategies[s], "draw": k})
        if problems:
            raise ScenarioError(problems[:1])
    spec = ExperimentSpec(tuple(entries), base.replications, base.root_seed, base.days)
    index = pd.DataFrame(rows)
    index.index.name = "scenario_index"
    names = tuple(entry.name for entry in evidence.entries if entry.path in applied)
    if post_rows is not None:
        names += tuple(p.path for p in params if any(_has_paths(e.scenario, [p]) for e in base.scenarios))
    return PSAPlan(spec, strategies, draws, index.reset_index(), evidence, names)


def _has_paths(scenario: Any, params: Sequence[Any]) -> bool:
    """Whether every calibrated path (and balancing share) of ``params`` exists in ``scenario``."""
    from crisis_sim.analysis.calibration import get_path

    raw = scenario.model_dump(mode="python")
    try:
        for p in params:
            get_path(raw, p.path)
            if p.balance:
                get_path(raw, p.balance)
    except KeyError:
        return False
    return True


def split_runs(plan: PSAPlan, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(PSA runs with draw and strategy columns, point-value runs indexed like a plain compare)."""
    merged = runs.merge(plan.index, on="scenario_index", how="left")
    point = merged[merged["draw"] == POINT].copy()
    order = {s: i for i, s in enumerate(plan.strategies)}
    point["scenario_index"] = point["strategy"].map(order)
    psa = merged[merged["draw"] != POINT].copy()
    return psa, point


@dataclass(frozen=True)
class PSAResult:
    strategies: tuple[str, ...]
    summary: pd.DataFrame  # metric, strategy, diff_median, diff_low, diff_high, prob_best, better
    monte_carlo: dict[str, Any]  # compare_runs of the point values (run-to-run noise only)
    cost_effectiveness: pd.DataFrame  # strategy, outcome, median, low, high, ratio_of_means, effect_*, cost_*
    incremental: dict[str, pd.DataFrame]  # outcome → incremental analysis over expected cost and gain
    ceac: dict[str, pd.DataFrame]  # outcome → wtp, strategy, probability
    evpi: dict[str, float]  # metric → EVPI
    evppi: dict[str, pd.Series]  # metric → parameter → EVPPI, high to low
    draws: pd.DataFrame
    runs: pd.DataFrame  # tidy PSA runs (draw, strategy, replication, metrics)
    n_draws: int
    replications: int
    discount: float = 0.0  # yearly rate applied to costs and outcomes in cost_effectiveness, incremental, ceac, NMB


def psa_tables(
    plan: PSAPlan,
    runs: pd.DataFrame,
    metrics: Sequence[str],
    evppi_metrics: Sequence[str] = ("arrests",),
    outcomes: Sequence[str] = tuple(u.OUTCOMES),
    level: float = 0.95,
    wtp: Mapping[str, float] | None = None,
    series: pd.DataFrame | None = None,
    discount: float = 0.0,
) -> PSAResult:
    """Every PSA result from a finished store's runs table. ``wtp`` ({outcome: value per unit gained}) adds the
    EVPI/EVPPI of the net monetary benefit ``value × gain - extra cost``, keyed ``net_benefit_<outcome>``.

    ``discount`` (a yearly rate; needs the store's monthly ``series``) discounts the costs and outcomes that cost
    per outcome, the incremental analysis, the acceptability curves and the net benefit read
    (:func:`crisis_sim.analysis.uncertainty.discount_runs`); the metric summary stays undiscounted."""
    psa, point = split_runs(plan, runs)
    dpsa = psa
    if discount > 0:
        if series is None:
            raise u.DiscountError("discounting needs the store's monthly series")
        warm = {i: float(e.scenario.simulation.warmup_days) if e.scenario is not None else 0.0
                for i, e in enumerate(plan.spec.scenarios)}  # fmt: skip
        cols = [c for c in u.DISCOUNTED if c in runs.columns]
        dpsa, _ = split_runs(plan, u.discount_runs(runs, series, discount, warm, cols))
    strategies = list(plan.strategies)
    summary = u.psa_summary(psa, strategies, metrics, level)
    monte_carlo = compare_runs(point, strategies, metrics, level)
    ce = u.cost_per_outcome(dpsa, strategies, outcomes, level=level) if len(strategies) > 1 else pd.DataFrame()
    incremental, curves = {}, {}
    if len(strategies) > 1:
        costs = u.incremental_costs(dpsa, strategies)
        for outcome in outcomes:
            gains = u.effects(dpsa, outcome, strategies)
            incremental[outcome] = u.incremental_analysis(costs.mean().to_dict(), gains.mean().to_dict())
            ratios = ce.loc[ce["outcome"] == outcome, "ratio_of_means"].tolist()
            curves[outcome] = u.ceac(costs, gains, u.wtp_grid(ratios))
    evpi_values, evppi_values = {}, {}
    theta = plan.draws.loc[sorted(psa["draw"].unique()), list(plan.applied or plan.draws.columns)]
    decisions = {metric: u.metric_net_benefit(psa, metric, strategies) for metric in evppi_metrics}
    for outcome, value in (wtp or {}).items():
        gains = u.effects(dpsa, outcome, strategies)
        decisions[f"net_benefit_{outcome}"] = u.net_benefit(
            u.incremental_costs(dpsa, strategies), gains, value
        )
    for key, nb in decisions.items():
        nb = nb.loc[theta.index]
        evpi_values[key] = u.evpi(nb)
        evppi_values[key] = u.evppi(nb, theta) if len(strategies) > 1 else pd.Series(dtype=float)
    tidy = psa[["draw", "strategy", "replication", *[m for m in psa.columns if m in set(metrics) | set(outcomes)
                                                      | {"cost_total"}]]]  # fmt: skip
    return PSAResult(tuple(strategies), summary, monte_carlo, ce, incremental, curves, evpi_values, evppi_values,
                     plan.draws, tidy.reset_index(drop=True), len(plan.draws), plan.spec.replications,
                     discount)  # fmt: skip


def _num(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def psa_document(result: PSAResult, evidence: Evidence) -> dict[str, Any]:
    """The ``"psa"`` object of ``compare --psa --json`` (docs/uncertainty.md)."""
    metrics: dict[str, Any] = {}
    for row in result.summary.itertuples(index=False):
        metrics.setdefault(row.metric, {})[row.strategy] = {
            "diff_median": _num(row.diff_median), "diff_low": _num(row.diff_low), "diff_high": _num(row.diff_high),
            "prob_best": _num(row.prob_best), "better": row.better or None,
        }  # fmt: skip
    ce: dict[str, Any] = {}
    for row in result.cost_effectiveness.itertuples(index=False):
        ce.setdefault(row.strategy, {})[row.outcome] = {
            "unit": row.unit, "median": _num(row.median), "low": _num(row.low), "high": _num(row.high),
            "ratio_of_means": _num(row.ratio_of_means), "effect_median": _num(row.effect_median),
            "effect_low": _num(row.effect_low), "effect_high": _num(row.effect_high),
            "cost_median": _num(row.cost_median), "cost_low": _num(row.cost_low), "cost_high": _num(row.cost_high),
        }  # fmt: skip
    incremental = {
        outcome: [{k: (_num(v) if isinstance(v, float) else v) for k, v in rec.items()}
                  for rec in table.to_dict("records")]
        for outcome, table in result.incremental.items()
    }  # fmt: skip
    ceac = {
        outcome: [{"wtp": float(r.wtp), "strategy": r.strategy, "probability": float(r.probability)}
                  for r in table.itertuples(index=False)]
        for outcome, table in result.ceac.items()
    }  # fmt: skip
    return {
        "draws": result.n_draws,
        "replications": result.replications,
        "level": 0.95,
        "evidence": evidence.describe(),
        "discount": {"rate": result.discount, "text": u.discount_text(result.discount),
                     "applies_to": "cost_effectiveness, incremental, ceac and net-benefit EVPI/EVPPI (costs and "
                     "outcomes; the metric differences are not discounted)"},
        "metrics": metrics,
        "cost_effectiveness": ce,
        "incremental": incremental,
        "ceac": ceac,
        "evpi": {m: _num(v) for m, v in result.evpi.items()},
        "evppi": {
            m: [{"parameter": str(k), "value": float(v)} for k, v in s.items()]
            for m, s in result.evppi.items()
        },
    }


def format_psa(result: PSAResult, top: int = 5) -> str:
    """The text report: per metric, run-to-run noise (point values) beside what we don't know (PSA)."""
    from crisis_sim.experiments.compare import fmt_number as f

    strategies = result.strategies
    base = strategies[0]
    lines = [
        f"Probabilistic sensitivity analysis: {result.n_draws} draws of the evidence x {result.replications} "
        f"paired replications; differences against {base}.",
        "  run-to-run noise: 95% interval over replications at the point values (what another run would give)",
        "  what we don't know: 95% interval over draws x replications (the evidence's uncertainty as well)",
        "",
    ]
    mc = result.monte_carlo["metrics"]
    w = max(len(s) for s in strategies)
    for metric, table in result.summary.groupby("metric", sort=False):
        better = table["better"].iloc[0]
        lines.append(f"{metric}" + (f"  ({better} is better)" if better else ""))
        for row in table.itertuples(index=False):
            if row.strategy == base:
                pb = f"  P(best) {row.prob_best:.2f}" if better else ""
                lines.append(f"  {row.strategy:<{w}}  (comparator){pb}")
                continue
            m = mc[metric][row.strategy]
            noise = f"{f(m['diff'])} [{f(m['diff_ci_low'])}, {f(m['diff_ci_high'])}]"
            psa = f"{f(row.diff_median)} [{f(row.diff_low)}, {f(row.diff_high)}]"
            pb = f"  P(best) {row.prob_best:.2f}" if better else ""
            lines.append(f"  {row.strategy:<{w}}  run-to-run noise {noise:<26} what we don't know {psa}{pb}")
        lines.append("")
    if not result.cost_effectiveness.empty:
        lines.append(
            "Cost per outcome (extra total cost / outcome gained; median [95%] over draws; ICER = mean/mean; "
            f"costs and outcomes {u.discount_text(result.discount)})"
        )
        for row in result.cost_effectiveness.itertuples(index=False):
            gain = f"{f(row.effect_median)} [{f(row.effect_low)}, {f(row.effect_high)}]"
            lines.append(f"  {row.strategy:<{w}}  per {row.unit}: {f(row.median)} [{f(row.low)}, {f(row.high)}]"
                         f"  ICER {f(row.ratio_of_means)}  (gain {gain})")  # fmt: skip
        lines.append("")
        if len(strategies) > 2:
            for outcome, table in result.incremental.items():
                lines.append(f"Incremental analysis per {u.OUTCOMES.get(outcome, outcome)}:")
                for r in table.itertuples(index=False):
                    lines.append(f"  {r.strategy:<{w}}  cost {f(r.cost)}  gain {f(r.effect)}  {r.status}"
                                 + (f"  ICER {f(r.icer)}" if math.isfinite(r.icer) else ""))  # fmt: skip
            lines.append("")
    for metric, values in result.evppi.items():
        lines.append(
            f"Value of information for {metric} (EVPI {f(result.evpi[metric])}; EVPPI, highest first):"
        )
        for name, v in list(values.items())[:top]:
            lines.append(f"  {name:<40} {f(v)}")
    return "\n".join(lines).rstrip()


def psa_for_report(result: PSAResult, metric_best: str = "arrests") -> dict[str, Any]:
    """The report's view of a PSA: ``{option: {"metrics": {metric: {"low", "high"}}, "prob_best": p}}`` with
    the 95% interval of each paired difference over draws x replications ("what we don't know") and the
    probability that the option is best on ``metric_best`` (the first option, the baseline, has no intervals)."""
    out: dict[str, Any] = {s: {"metrics": {}, "prob_best": None} for s in result.strategies}
    for row in result.summary.itertuples(index=False):
        entry = out[row.strategy]
        if row.strategy != result.strategies[0]:
            entry["metrics"][row.metric] = {"low": _num(row.diff_low), "high": _num(row.diff_high)}
        if row.metric == metric_best:
            entry["prob_best"] = _num(row.prob_best)
    return out
