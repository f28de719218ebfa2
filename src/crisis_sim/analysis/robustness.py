"""Robustness of program designs under deep uncertainty, with the EMA workbench (docs/robustness.md).

The uncertainties file declares stressors with ranges, each either a schema path of the scenario or a field of a
timeline event the file declares (vacancy, demand_trend, ed_boarding, champion_departs, scale_program, ...; the
events are added to every policy's own timeline), and the goals a design must meet (``metric op number``, the
design-search grammar). The policies are scenario files (or variants ``FILE::NAME:PATH=VALUE``).

EMA samples the uncertainties (Latin hypercube, seeded) and runs every experiment under every policy through an
EMA ``Model`` whose function is the project's evaluator: the policy with the experiment's values as overrides is an
``ExperimentSpec`` entry run for R replications over common random numbers by ``run_batch`` into its own
content-addressed results store under ``OUT/experiments/`` (process pool or Dask). A rerun of the same command
finds those stores complete and runs only what is missing (after a kill too).

Then, per policy: the share of experiments in which it fails a goal (the mean over the R replications misses it),
PRIM boxes (EMA's ``prim.Prim``) describing where failures concentrate with their coverage, density and the whole
peeling trajectory, and across policies the regret (how far a policy falls behind the best policy of the same
experiment on the regret metric, worst case and 90th percentile over experiments) and satisficing (share of
experiments meeting every goal).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from crisis_sim.analysis.design_inputs import Constraint, parse_constraint
from crisis_sim.experiments import ExperimentSpec, ResultStore, run_batch
from crisis_sim.experiments.compare import with_extra_metrics
from crisis_sim.experiments.spec import ScenarioEntry
from crisis_sim.scenario import Scenario, ScenarioError, with_overrides
from crisis_sim.scenario.loader import format_problem


class Uncertainty(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["int", "real"] = "real"
    low: float
    high: float
    path: str | None = None
    event: str | None = None
    field: str | None = None
    source: str | None = None

    def to_value(self, x: float) -> int | float:
        return int(round(x)) if self.type == "int" else float(x)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    goals: list[str] = Field(min_length=1)
    regret_metric: str | None = None
    uncertainties: list[Uncertainty] = Field(min_length=1)
    events: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class UncertaintySpec:
    file: str
    uncertainties: tuple[Uncertainty, ...]
    goals: tuple[Constraint, ...]
    events: Mapping[str, Mapping[str, Any]]
    regret_metric: str
    description: str | None = None
    extra_metrics: tuple[str, ...] = ()  # recorded per experiment (--metric)

    @property
    def regret_lower_is_better(self) -> bool:
        return next((g.op in ("<=", "<") for g in self.goals if g.metric == self.regret_metric), True)

    def metrics(self) -> list[str]:
        return list(dict.fromkeys([*(g.metric for g in self.goals), self.regret_metric, *self.extra_metrics]))

    def overrides(self, scenario: Scenario, values: Mapping[str, float]) -> dict[str, Any]:
        """Schema-path values, and the declared events (with the experiment's field values) after the
        scenario's own timeline."""
        out: dict[str, Any] = {}
        events = {name: dict(ev) for name, ev in self.events.items()}
        for u in self.uncertainties:
            v = u.to_value(values[u.name])
            if u.path:
                out[u.path] = v
            else:
                events[str(u.event)][str(u.field)] = v
        if events:
            own = scenario.model_dump(mode="json").get("timeline") or []
            out["timeline"] = [*own, *events.values()]
        return out

    def identity(self) -> dict[str, Any]:
        return {"uncertainties": [u.model_dump() for u in self.uncertainties], "goals": [g.text for g in self.goals],
                "events": {k: dict(v) for k, v in self.events.items()}, "regret_metric": self.regret_metric}  # fmt: skip


def _fail(file: str, key: str, expected: str, found: Any) -> ScenarioError:
    return ScenarioError([format_problem(file, key, expected, found)])


def load_uncertainties(path: str | Path) -> UncertaintySpec:
    from crisis_sim.analysis.design_inputs import read_input_file

    file = str(path)
    parsed = read_input_file(path, _File, "an uncertainties file", "docs/robustness.md")
    names: set[str] = set()
    for k, u in enumerate(parsed.uncertainties):
        where = f"uncertainties[{k}] ({u.name})"
        if not (math.isfinite(u.low) and math.isfinite(u.high)) or u.low >= u.high:
            raise _fail(file, where, "finite low < high", f"low {u.low:g}, high {u.high:g}")
        if u.name in names:
            raise _fail(file, f"uncertainties[{k}].name", "a name not used by another uncertainty", u.name)
        names.add(u.name)
        if bool(u.path) == bool(u.event):
            raise _fail(file, where, "either path (a schema path) or event and field (a declared event)",
                        Described_("both" if u.path else "neither"))  # fmt: skip
        if u.event is not None:
            if u.event not in parsed.events:
                raise _fail(file, f"{where}.event", f"an event declared under [events] ({', '.join(parsed.events) or 'none'})",
                            u.event)  # fmt: skip
            if not u.field:
                raise _fail(
                    file, f"{where}.field", "the event field the value goes to (e.g. share)", "nothing"
                )
    goals = tuple(parse_constraint(t, file, f"goals[{k}]") for k, t in enumerate(parsed.goals))
    regret = parsed.regret_metric or goals[0].metric
    return UncertaintySpec(
        file, tuple(parsed.uncertainties), goals, dict(parsed.events), regret, parsed.description
    )


def Described_(text: str) -> Any:  # noqa: N802 - a small alias for the loader's "found" marker
    from crisis_sim.scenario.loader import Described

    return Described(text)


def check_against_policies(spec: UncertaintySpec, policies: Sequence[ScenarioEntry]) -> None:
    """Every schema path must exist in every policy; each uncertainty's low and high (others at their lows) must be
    accepted by every policy's schema."""
    from crisis_sim.analysis.sensitivity_inputs import path_in_raw

    lows = {u.name: u.low for u in spec.uncertainties}
    for entry in policies:
        raw = entry.scenario.model_dump(mode="python")
        for k, u in enumerate(spec.uncertainties):
            if u.path and not path_in_raw(raw, u.path):
                raise _fail(
                    spec.file,
                    f"uncertainties[{k}].path",
                    f"a schema path present in policy {entry.label!r} (e.g. programs.mobile_crisis.teams)",
                    u.path,
                )
    for entry in policies:
        for k, u in enumerate(spec.uncertainties):
            for value in (u.low, u.high):
                try:
                    with_overrides(entry.scenario, spec.overrides(entry.scenario, {**lows, u.name: value}),
                                   label=spec.file)  # fmt: skip
                except ScenarioError as exc:
                    raise ScenarioError([
                        f"{spec.file}: uncertainties[{k}] ({u.name}): expected a range policy {entry.label!r} "
                        f"accepts, found {u.to_value(value)!r} rejected ({exc.lines[0].split(': ', 1)[-1]})"
                    ]) from None  # fmt: skip


def check_metrics(spec: UncertaintySpec, known: set[str]) -> None:
    listing = ", ".join(sorted(known))
    for k, g in enumerate(spec.goals):
        if g.metric not in known:
            raise _fail(spec.file, f"goals[{k}]", f"a metric of the run summary ({listing})", g.metric)
    if spec.regret_metric not in known:
        raise _fail(
            spec.file, "regret_metric", f"a metric of the run summary ({listing})", spec.regret_metric
        )


# --- the evaluator behind EMA ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    """One finished (experiment, policy): ``done`` of ``total`` pairs, the stressor values, the mean outcomes (with
    ``failed`` 1.0/0.0) and the runs it ran now (0 when its store was already complete: a resumed study)."""

    done: int
    total: int
    policy: str
    values: dict[str, float]
    result: dict[str, float]
    ran: int
    goal_metrics: tuple[str, ...] = ()

    def line(self) -> str:
        """``experiment 3/60 co_response: patrol_vacancy=0.12, ... -> p90_response_min=31.2; fails a goal (2
        runs)``: the stressor values and the goals' metrics (mean over the replications)."""
        from crisis_sim.analysis.design import fmt

        vals = ", ".join(f"{k}={fmt(v)}" for k, v in self.values.items())
        shown = self.goal_metrics or tuple(k for k in self.result if k != "failed")
        outs = ", ".join(f"{m}={fmt(self.result[m])}" for m in dict.fromkeys(shown) if m in self.result)
        state = "fails a goal" if self.result.get("failed") else "meets the goals"
        runs = f"{self.ran} runs" if self.ran else "already stored"
        return f"experiment {self.done}/{self.total} {self.policy}: {vals} -> {outs}; {state} ({runs})"


OnExperiment = Callable[[Progress], None]


@dataclass
class Engine:
    """EMA's model function: one (policy, experiment) → R CRN replications through run_batch → mean outcomes."""

    spec: UncertaintySpec
    policies: Mapping[str, ScenarioEntry]
    out: Path
    replications: int
    seed: int = 0
    days: int | None = None
    executor: str = "processes"
    workers: int = 1
    scheduler: str | None = None
    chunk_size: int | None = None
    allow_version_change: bool = False
    on_experiment: OnExperiment | None = None
    pools: Any = None  # a design.SharedPool: every experiment on one executor (the caller closes it)
    ran: int = 0
    done: int = field(default=0)
    total: int = 0  # experiment-policy pairs of the study (set by run_experiments), for progress

    def __call__(self, design: str | None = None, **values: float) -> dict[str, float]:
        policy = design if design is not None else next(iter(self.policies))  # one policy: no EMA lever
        entry = self.policies[policy]
        overrides = self.spec.overrides(entry.scenario, values)
        scenario = with_overrides(entry.scenario, overrides, label=self.spec.file)
        exp = ExperimentSpec((ScenarioEntry(policy, entry.file, overrides, scenario),), self.replications, self.seed,
                             self.days)  # fmt: skip
        folder = self.out / "experiments" / exp.content_hash()[:16]
        with ResultStore(folder, exp, allow_version_change=self.allow_version_change) as store:
            pool = self.pools.get() if self.pools is not None and store.missing_pairs() else None
            report = run_batch(
                store, self.executor, self.workers, self.scheduler, self.chunk_size, progress=False, pool=pool
            )
            self.ran += report.ran
            runs = store.read_runs()
        ran_here = report.ran
        runs, _ = with_extra_metrics(runs, self.spec.metrics())
        result = {}
        for m in self.spec.metrics():
            col = runs[m].to_numpy(dtype=float) if m in runs else np.array([np.nan])
            col = col[np.isfinite(col)]
            result[m] = float(col.mean()) if col.size else math.nan
        result["failed"] = float(not all(g.holds(result[g.metric]) for g in self.spec.goals))
        self.done += 1
        if self.on_experiment:
            self.on_experiment(Progress(self.done, self.total, policy, dict(values), result, ran_here,
                                        tuple(g.metric for g in self.spec.goals)))  # fmt: skip
        return result


def fingerprint(
    spec: UncertaintySpec, policies: Mapping[str, ScenarioEntry], n: int, r: int, seed: int, days
) -> str:
    doc = {"spec": spec.identity(), "n": n, "replications": r, "seed": seed, "days": days,
           "policies": {k: json.loads(e.scenario.model_dump_json()) for k, e in policies.items()}}  # fmt: skip
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def run_experiments(engine: Engine, n_experiments: int, progress: bool = False) -> pd.DataFrame:
    """EMA samples ``n_experiments`` points of the uncertainties (LHS, seeded by the root seed) and runs each under
    every policy (SequentialEvaluator: the parallelism is inside run_batch). One row per (experiment, policy).
    ``progress`` draws EMA's bar over the experiments unless the engine reports each one (``on_experiment``)."""
    with warnings.catch_warnings():  # "ipyparallel not installed": an evaluator we do not use
        warnings.simplefilter("ignore", UserWarning)
        import ema_workbench  # noqa: F401
    from ema_workbench import (
        CategoricalParameter,
        IntegerParameter,
        Model,
        RealParameter,
        Sample,
        ScalarOutcome,
        SequentialEvaluator,
        perform_experiments,
    )

    spec = engine.spec
    engine.total = n_experiments * len(engine.policies)
    model = Model("crisis_sim", function=engine)
    model.uncertainties = [
        IntegerParameter(u.name, int(u.low), int(u.high))
        if u.type == "int"
        else RealParameter(u.name, u.low, u.high)
        for u in spec.uncertainties
    ]
    labels = list(engine.policies)
    if len(labels) > 1:  # EMA's own "policy" column holds the names; one category is not a parameter for EMA
        model.levers = [CategoricalParameter("design", labels)]
    model.outcomes = [ScalarOutcome(m) for m in [*spec.metrics(), "failed"]]
    policies = [Sample(name=label, design=label) for label in labels] if len(labels) > 1 else 0
    # EMA logs a failing experiment's traceback before raising; the command reports the error itself
    logging.getLogger("EMA").setLevel(logging.CRITICAL)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=n_experiments, policies=policies, evaluator=evaluator,
            uncertainty_sampling_kwargs={"rng": engine.seed},
            log_progress=not progress or engine.on_experiment is not None,  # EMA's bar unless lines are drawn
        )  # fmt: skip
    table = experiments[[u.name for u in spec.uncertainties]].astype(float).copy()
    table["experiment"] = experiments["scenario"].astype(str).to_numpy()
    table["policy"] = experiments["policy"].astype(str).to_numpy() if len(labels) > 1 else labels[0]
    for name, values in outcomes.items():
        table[name] = np.asarray(values, dtype=float)
    table["failed"] = table["failed"].astype(bool)
    # experiment numbers 0..n-1 in sampling order (EMA's scenario names count up across calls in one process)
    order = {name: i for i, name in enumerate(dict.fromkeys(table["experiment"]))}
    table["experiment"] = table["experiment"].map(order)
    return table


# --- scenario discovery and robustness -----------------------------------------------------------------------------
def prim_boxes(
    table: pd.DataFrame, spec: UncertaintySpec, threshold: float = 0.8, max_boxes: int = 2
) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    """EMA's PRIM on (uncertainties → failed); per box: the restricted limits, coverage, density, mass and the
    peeling trajectory (the coverage/density trade-off). The box chosen on a trajectory is the restricted one (a
    peeling step past the whole space) with the highest coverage among those reaching ``threshold`` density, the
    densest of those on a tie (else the densest of all)."""
    from ema_workbench.analysis import prim

    names = [u.name for u in spec.uncertainties]
    y = table["failed"].to_numpy(dtype=bool)
    if y.all() or not y.any():
        return [], []
    x = table[names].astype(float).reset_index(drop=True)
    alg = prim.Prim(x, y, peel_alpha=0.1)
    boxes, trajectories = [], []
    for _ in range(max_boxes):
        try:
            box = alg.find_box()
        except Exception:  # noqa: BLE001 - EMA raises when nothing is left to find
            break
        if box is None or len(box.peeling_trajectory) < 2:
            break
        traj = box.peeling_trajectory.reset_index(drop=True)
        steps = traj.iloc[1:]  # step 0 is the whole space
        ok = steps.index[steps["density"] >= threshold]
        if len(ok):  # highest coverage, then highest density among ties
            i = int(
                steps.loc[ok].sort_values(["coverage", "density"], ascending=False, kind="stable").index[0]
            )
        else:
            i = int(steps["density"].idxmax())
        box.select(i)
        lims, init = box.box_lims[i], box.box_lims[0]
        limits = {n: [float(lims[n].iloc[0]), float(lims[n].iloc[1])] for n in names
                  if lims[n].iloc[0] != init[n].iloc[0] or lims[n].iloc[1] != init[n].iloc[1]}  # fmt: skip
        stats = traj.iloc[i]
        boxes.append({"limits": limits, "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                      "mass": float(stats["mass"]), "peeling_step": i})  # fmt: skip
        trajectories.append(traj[["coverage", "density", "mass", "res_dim"]].assign(box=len(boxes)))
        if float(stats["density"]) < threshold:
            break
    return boxes, trajectories


def robustness(table: pd.DataFrame, spec: UncertaintySpec, threshold: float = 0.8) -> dict[str, Any]:
    """Per policy: failure share, satisficing share, PRIM boxes, regret (max and p90) on the regret metric."""
    m = spec.regret_metric
    wide = table.pivot(index="experiment", columns="policy", values=m)
    best = wide.min(axis=1) if spec.regret_lower_is_better else wide.max(axis=1)
    regret = (wide.sub(best, axis=0)).abs()
    out: dict[str, Any] = {}
    trajectories = {}
    for policy, rows in table.groupby("policy", sort=False):
        boxes, traj = prim_boxes(rows, spec, threshold)
        r = regret[policy].dropna()
        out[str(policy)] = {
            "experiments": int(len(rows)),
            "failure_share": float(rows["failed"].mean()),
            "satisficing": float(1.0 - rows["failed"].mean()),
            "boxes": boxes,
            "regret": float(r.max()) if len(r) else math.nan,
            "regret_p90": float(r.quantile(0.9)) if len(r) else math.nan,
            "regret_metric": m,
            "mean": {k: float(rows[k].mean()) for k in spec.metrics()},
        }
        trajectories[str(policy)] = traj
    return {"policies": out, "trajectories": trajectories}
