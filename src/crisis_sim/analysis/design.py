"""Design search: how much of each program a city needs to reach its goals at least cost (docs/design.md).

Optuna's NSGA-II sampler proposes designs (values of the levers declared in a levers file, see
:mod:`crisis_sim.analysis.design_inputs`); every design runs R replications over common random numbers through the
experiment engine (an ``ExperimentSpec`` whose entry is the scenario with the design applied by ``with_overrides``, one resumable
:class:`~crisis_sim.experiments.ResultStore` per design under ``OUT/designs/``, ``run_batch`` on the process pool
or Dask). The study lives in ``OUT/study.db`` (SQLite): rerunning the same command continues it. A trial left
running by a killed process is marked failed and its design is asked again first, so its store, which holds the
replications finished before the kill, is completed rather than rerun: nothing is lost and nothing runs twice.

Objectives and constraints are judged on the mean over the R replications; Optuna's constrained NSGA-II prefers
feasible designs. The Pareto front reported is the non-dominated set of all completed trials, each flagged
feasible or not; the cheapest feasible design (by ``cheapest_by``) and, when none is feasible, the closest designs
are re-run with ``confirm_replications`` replications next to the base scenario, with paired CRN intervals.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.analysis.design_inputs import DERIVED_METRICS, LeversSpec
from crisis_sim.experiments import STORED_METRICS, ExperimentSpec, ResultStore, compare_runs, run_batch
from crisis_sim.experiments.compare import with_extra_metrics
from crisis_sim.experiments.spec import ScenarioEntry
from crisis_sim.provenance import provenance, version_change
from crisis_sim.scenario import Scenario, with_overrides

STUDY_NAME = "design"
FAR = 1e12  # a NaN metric counts as this far off a constraint


class DesignError(Exception):
    """A study folder that cannot be used for this command; one user-facing line."""


@dataclass(frozen=True)
class Settings:
    scenario: str
    replications: int
    seed: int = 0
    days: int | None = None
    common: Mapping[str, Any] = field(default_factory=dict)
    executor: str = "processes"
    workers: int = 1
    scheduler: str | None = None
    chunk_size: int | None = None
    population: int = 8
    allow_version_change: bool = False


def known_metrics(scenario: Scenario) -> set[str]:
    """Stored metrics plus the numeric entries of a one-day run's summary (program figures such as
    specialized_coverage), plus the derived ones."""
    from crisis_sim.scenario import with_overrides
    from crisis_sim.sim import run_single

    probe = with_overrides(scenario, {"simulation.horizon_days": 1, "simulation.warmup_days": 0})
    summary = run_single(probe, 0, 0).summary
    numeric = {
        k for k, v in summary.items() if isinstance(v, int | float | type(None)) and not isinstance(v, bool)
    }
    return set(STORED_METRICS) | numeric | set(DERIVED_METRICS)


def counted_days(scenario: Scenario) -> float:
    sim = scenario.simulation
    return float(sim.horizon_days - sim.warmup_days)


def add_derived(runs: pd.DataFrame, lever_cost: Mapping[int, float], days: float) -> pd.DataFrame:
    """``lever_cost`` (per scenario index) and ``annual_cost`` columns."""
    runs = runs.copy()
    lc = runs["scenario_index"].map(lambda s: lever_cost.get(int(s), 0.0)).astype(float)
    runs["lever_cost"] = lc
    runs["annual_cost"] = runs["cost_total"].astype(float) * (365.0 / days) + lc
    return runs


def metric_table(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Add requested metrics from the ``extra`` JSON column when they are not columns."""
    wanted = [m for m in metrics if m not in DERIVED_METRICS]
    runs, _unknown = with_extra_metrics(runs, wanted)
    return runs


# --- one design through the experiment engine -----------------------------------------------------------------
class SharedPool:
    """One executor (process pool or Dask cluster) for a study's many small batches, started on first use, so the
    start-up (seconds, more for Dask) is paid once per command rather than once per trial or experiment."""

    def __init__(self, executor: str = "processes", workers: int = 1, scheduler: str | None = None):
        self.executor, self.workers, self.scheduler = executor, workers, scheduler
        self._pool: Any = None

    def get(self) -> Any:
        if self._pool is None:
            from crisis_sim.experiments.executors import make_executor

            self._pool = make_executor(self.executor, self.workers, self.scheduler)
        return self._pool

    def close(self, abort: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.abort() if abort else pool.close()


class Evaluator:
    """Runs a design's R replications into its own store (content-addressed: the same design reuses it), on the
    shared pool when one is given."""

    def __init__(
        self,
        levers: LeversSpec,
        settings: Settings,
        base: Scenario,
        out: Path,
        progress: bool = False,
        pools: SharedPool | None = None,
    ):
        self.levers, self.settings, self.base, self.out, self.progress = (
            levers,
            settings,
            base,
            Path(out),
            progress,
        )
        self.pools = pools
        self.ran = 0

    def entry(self, values: Mapping[str, float] | None, label: str) -> ScenarioEntry:
        """The base scenario (``values`` None) or a design as an experiment entry."""
        overrides = self.levers.overrides(values) if values is not None else {}
        scenario = with_overrides(self.base, overrides, label=self.levers.file) if overrides else self.base
        return ScenarioEntry(label, self.settings.scenario, overrides, scenario)

    def spec_for(self, values: Mapping[str, float], label: str = "design") -> ExperimentSpec:
        s = self.settings
        return ExperimentSpec((self.entry(values, label),), s.replications, s.seed, s.days)

    def evaluate(self, values: Mapping[str, float]) -> dict[str, float]:
        spec = self.spec_for(values)
        folder = self.out / "designs" / spec.content_hash()[:16]
        s = self.settings
        with ResultStore(folder, spec, allow_version_change=s.allow_version_change) as store:
            pool = self.pools.get() if self.pools is not None and store.missing_pairs() else None
            report = run_batch(
                store, s.executor, s.workers, s.scheduler, s.chunk_size, progress=self.progress, pool=pool
            )
            self.ran += report.ran
            runs = store.read_runs()
        runs = metric_table(runs, self.levers.metrics())
        runs = add_derived(
            runs, {0: self.levers.lever_cost(values)}, counted_days(spec.scenarios[0].scenario)
        )
        out = {}
        for m in self.levers.metrics():
            col = runs[m].to_numpy(dtype=float) if m in runs else np.array([np.nan])
            col = col[np.isfinite(col)]
            out[m] = float(col.mean()) if col.size else math.nan
        return out


# --- the study --------------------------------------------------------------------------------------------------
def fingerprint(levers: LeversSpec, settings: Settings, base: Scenario) -> str:
    doc = {
        "levers": levers.identity(),
        "scenario": json.loads(base.model_dump_json()),
        "replications": settings.replications,
        "seed": settings.seed,
        "days": settings.days,
        "common": dict(settings.common),
        "population": settings.population,
    }
    blob = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def open_study(levers: LeversSpec, settings: Settings, base: Scenario, out: Path):
    """Create or resume ``OUT/study.db``; refuse one made for another problem, or by another crisis_sim version
    unless allowed. Trials left running by a killed process are marked failed and their designs asked again."""
    import optuna
    import optuna.trial as ot

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(out / 'study.db').resolve()}"
    directions = [o.direction for o in levers.objectives]
    fp = fingerprint(levers, settings, base)
    probe = optuna.create_study(
        study_name=STUDY_NAME, storage=storage, directions=directions, load_if_exists=True
    )
    old = probe.user_attrs.get("fingerprint")
    if old is None:
        probe.set_user_attr("fingerprint", fp)
        probe.set_user_attr("provenance", provenance())
        probe.set_user_attr("levers_file", levers.file)
    elif old != fp:
        raise DesignError(f"{out}: expected a design study of the same scenario, levers file, replications, seed, "
                          "days and population, found one made with different settings (use another --out)")  # fmt: skip
    else:
        why = version_change(probe.user_attrs.get("provenance"))
        if why is not None:
            if not settings.allow_version_change:
                raise DesignError(f"{out / 'study.db'}: design study {why}; give --allow-version-change to add "
                                  "trials of this version anyway, or use another --out")  # fmt: skip
            resumed = list(probe.user_attrs.get("resumed_by") or [])
            if provenance() not in resumed:
                probe.set_user_attr("resumed_by", [*resumed, provenance()])
    for tr in probe.get_trials(deepcopy=False, states=(ot.TrialState.RUNNING,)):
        params = dict(tr.params)
        probe.tell(tr.number, state=ot.TrialState.FAIL)
        if params:
            probe.enqueue_trial(params, user_attrs={"resumed_from": tr.number})
    # Constraints reach the sampler through Trial.set_constraint (<= 0 is feasible): constrained domination.
    sampler = optuna.samplers.NSGAIISampler(
        population_size=settings.population, seed=settings.seed + len(probe.trials)
    )
    return optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=sampler)


def distributions(levers: LeversSpec) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {
        lv.label: IntDistribution(int(lv.low), int(lv.high))
        if lv.type == "int"
        else FloatDistribution(lv.low, lv.high)
        for lv in levers.levers
    }


def current_values(levers: LeversSpec, base: Scenario) -> dict[str, float]:
    """The base scenario's own lever values, clipped to the ranges (absent programs: the low end)."""
    from crisis_sim.analysis.calibration import get_path

    raw = base.model_dump(mode="python")
    out = {}
    for lv in levers.levers:
        try:
            v = get_path(raw, lv.path)
        except (KeyError, IndexError, TypeError, ValueError):
            v = None
        if not isinstance(v, int | float) or isinstance(v, bool):
            v = lv.low
        v = min(max(float(v), lv.low), lv.high)
        out[lv.label] = int(round(v)) if lv.type == "int" else v
    return out


def search(
    levers: LeversSpec,
    settings: Settings,
    base: Scenario,
    out: Path,
    trials: int,
    on_trial: Callable[[int, int, dict[str, float], dict[str, float], bool], None] | None = None,
    progress: bool = False,
    pools: SharedPool | None = None,
):
    """Run trials until the study holds ``trials`` completed ones. The first trial of a new study is the base
    scenario's own lever values. ``progress`` draws run_batch's bar (runs done/total) for each trial's
    replications; ``pools`` runs every trial on one executor (the caller closes it). Returns (study, evaluator)."""
    import optuna.trial as ot

    study = open_study(levers, settings, base, out)
    evaluator = Evaluator(levers, settings, base, out, progress, pools)
    dists = distributions(levers)
    if not study.trials:
        study.enqueue_trial(current_values(levers, base))
    done = len(study.get_trials(deepcopy=False, states=(ot.TrialState.COMPLETE,)))
    while done < trials:
        trial = study.ask(dists)
        try:
            values = {lv.label: trial.params[lv.label] for lv in levers.levers}
            metrics = evaluator.evaluate(values)
            violation = [c.violation(metrics[c.metric]) for c in levers.constraints]
            trial.set_user_attr("metrics", {k: (v if math.isfinite(v) else None) for k, v in metrics.items()})
            trial.set_user_attr("constraint_violation", violation)
            for c, v in zip(levers.constraints, violation, strict=True):
                trial.set_constraint(c.text, v)
            objectives = [metrics[o.metric] for o in levers.objectives]
            objectives = [v if math.isfinite(v) else (FAR if o.direction == "minimize" else -FAR)
                          for v, o in zip(objectives, levers.objectives, strict=True)]  # fmt: skip
        except BaseException:
            study.tell(trial, state=ot.TrialState.FAIL)
            raise
        study.tell(trial, objectives)
        done += 1
        if on_trial:
            on_trial(done, trial.number, values, metrics, all(v <= 0 for v in violation))
    return study, evaluator


# --- results ----------------------------------------------------------------------------------------------------
def trial_rows(study: Any, levers: LeversSpec) -> list[dict[str, Any]]:
    import optuna.trial as ot

    rows = []
    for tr in study.get_trials(deepcopy=False, states=(ot.TrialState.COMPLETE,)):
        metrics = {
            k: (math.nan if v is None else float(v)) for k, v in tr.user_attrs.get("metrics", {}).items()
        }
        violation = [float(v) for v in tr.user_attrs.get("constraint_violation", [])]
        rows.append({
            "trial": tr.number,
            "levers": {lv.label: tr.params[lv.label] for lv in levers.levers},
            "objectives": {o.metric: metrics.get(o.metric, math.nan) for o in levers.objectives},
            "metrics": metrics,
            "violation": violation,
            "feasible": all(v <= 0 for v in violation),
        })  # fmt: skip
    return rows


def non_dominated(rows: Sequence[Mapping[str, Any]], levers: LeversSpec) -> list[Mapping[str, Any]]:
    """Rows no other row dominates (at least as good on every objective, better on one); NaN is worst."""
    if not rows:
        return []
    sign = np.array([1.0 if o.direction == "minimize" else -1.0 for o in levers.objectives])
    x = np.array([[r["objectives"][o.metric] for o in levers.objectives] for r in rows], dtype=float) * sign
    x = np.where(np.isfinite(x), x, np.inf)
    keep = []
    for i in range(len(rows)):
        dominated = np.any(np.all(x <= x[i], axis=1) & np.any(x < x[i], axis=1))
        if not dominated:
            keep.append(i)
    # one row per distinct design (the same design may be asked twice)
    seen, out = set(), []
    for i in sorted(keep, key=lambda i: tuple(x[i])):
        key = json.dumps(rows[i]["levers"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(rows[i])
    return out


def cheapest_feasible(rows: Sequence[Mapping[str, Any]], levers: LeversSpec) -> Mapping[str, Any] | None:
    feasible = [
        r for r in rows if r["feasible"] and math.isfinite(r["metrics"].get(levers.cheapest_by, math.nan))
    ]
    sign = 1.0 if _direction(levers, levers.cheapest_by) == "minimize" else -1.0
    return min(feasible, key=lambda r: sign * r["metrics"][levers.cheapest_by], default=None)


def closest(rows: Sequence[Mapping[str, Any]], levers: LeversSpec, n: int = 3) -> list[Mapping[str, Any]]:
    """The designs nearest to feasibility: smallest sum of relative constraint violations."""

    def gap(r: Mapping[str, Any]) -> float:
        total = 0.0
        for c, v in zip(levers.constraints, r["violation"], strict=False):
            total += max(0.0, v) / max(abs(c.bound), 1e-9)
        return total

    unique, seen = [], set()
    for r in sorted(rows, key=gap):
        key = json.dumps(r["levers"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique[:n]


def _direction(levers: LeversSpec, metric: str) -> str:
    for o in levers.objectives:
        if o.metric == metric:
            return o.direction
    return "minimize"


def describe_violations(row: Mapping[str, Any], levers: LeversSpec) -> str:
    parts = []
    for c in levers.constraints:
        v = row["metrics"].get(c.metric, math.nan)
        mark = "ok" if c.holds(v) else "fails"
        parts.append(f"{c.metric} {fmt(v)} ({mark}: {c.text})")
    return "; ".join(parts)


def fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, int):
        return str(x)
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


# --- confirmation -------------------------------------------------------------------------------------------------
def confirm(
    levers: LeversSpec,
    settings: Settings,
    base: Scenario,
    chosen: Sequence[Mapping[str, Any]],
    out: Path,
    replications: int,
    progress: bool = False,
) -> dict[str, Any]:
    """Re-run the chosen designs with more replications next to the base scenario (with the levers file's
    [fixed] overrides, without the levers), over common random numbers; intervals of every objective and
    constraint metric, and paired differences against the base."""
    s = settings
    ev = Evaluator(levers, settings, base, out)
    entries = [ev.entry(None, "base")]
    labels = ["base"]
    lever_cost = {0: 0.0}
    for k, row in enumerate(chosen, start=1):
        label = f"trial-{row['trial']}"
        entries.append(ev.entry(row["levers"], label))
        labels.append(label)
        lever_cost[k] = levers.lever_cost(row["levers"])
    spec = ExperimentSpec(tuple(entries), replications, s.seed, s.days)
    with ResultStore(out / "confirm", spec, allow_version_change=s.allow_version_change) as store:
        report = run_batch(store, s.executor, s.workers, s.scheduler, s.chunk_size, progress=progress)
        runs = store.read_runs()
    metrics = levers.metrics()
    runs = metric_table(runs, metrics)
    runs = add_derived(runs, lever_cost, counted_days(spec.scenarios[0].scenario))
    for m in metrics:
        if m not in runs:
            runs[m] = math.nan
    result = compare_runs(runs, spec.labels, metrics)
    designs = {}
    for row, label in zip(chosen, labels[1:], strict=True):
        per = {m: result["metrics"][m][label] for m in metrics}
        holds = {c.text: c.holds(per[c.metric]["mean"]) for c in levers.constraints}
        designs[label] = {"trial": row["trial"], "levers": row["levers"], "metrics": per, "constraints": holds,
                          "feasible": all(holds.values())}  # fmt: skip
    base = {m: result["metrics"][m]["base"] for m in metrics}
    return {"replications": replications, "ran": report.ran, "base": base, "designs": designs}
