"""One design search from plain inputs to written outputs (``crisis-sim design`` and ``cs.design`` both call
:func:`run_design`; docs/design.md).

Loads the levers file and the base scenario, checks the levers and metrics against it, runs the resumable Optuna
study (:func:`crisis_sim.analysis.design.search`), picks the Pareto front, the cheapest feasible design (or the
closest ones), re-runs them with more replications, and writes ``pareto.csv``, ``pareto.json``, ``trials.csv`` and
``plots/*.png`` in the study folder. Bad input raises ``ScenarioError`` / ``SpecError`` / ``DesignError`` before
anything is written; a kill raises ``Interrupted`` or ``KeyboardInterrupt`` with the finished work saved.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crisis_sim.analysis.design import (
    DesignError,
    Settings,
    SharedPool,
    cheapest_feasible,
    closest,
    confirm,
    fmt,
    known_metrics,
    non_dominated,
    search,
    trial_rows,
)
from crisis_sim.analysis.design_inputs import LeversSpec, check_against_scenario, check_metrics, load_levers
from crisis_sim.experiments.spec import apply_days
from crisis_sim.provenance import provenance
from crisis_sim.scenario import load_scenario
from crisis_sim.serialize import jsonable, write_atomically

OnTrial = Callable[[int, int, dict[str, float], dict[str, float], bool], None]


@dataclass(frozen=True)
class DesignRun:
    """What :func:`run_design` produced: ``doc`` is the ``pareto.json`` document (pareto, best_feasible, closest,
    confirmation, ...), ``rows`` every completed trial, ``written`` the files written in ``out``."""

    doc: dict[str, Any]
    levers: LeversSpec
    rows: list[dict[str, Any]]
    written: list[str]


def run_design(
    scenario: str,
    levers_file: str,
    trials: int,
    replications: int,
    out: str | Path,
    *,
    seed: int = 0,
    days: int | None = None,
    common: Mapping[str, Any] | None = None,
    executor: str = "processes",
    workers: int = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    population: int = 8,
    confirm_replications: int | None = None,
    metrics: Sequence[str] = (),
    allow_version_change: bool = False,
    plots: bool = True,
    on_trial: OnTrial | None = None,
    progress: bool = False,
) -> DesignRun:
    """Run (or continue) the design study in ``out`` until it holds ``trials`` completed trials, then write the
    outputs. ``confirm_replications`` defaults to 2 × ``replications`` (0 skips the confirmation); ``progress``
    draws run_batch's bar (runs done/total) inside each trial."""
    started = time.perf_counter()
    if trials < 1 or replications < 1:
        raise DesignError(f"trials and replications: expected 1 or more, found {trials} and {replications}")
    if confirm_replications is not None and confirm_replications < 0:
        raise DesignError(f"--confirm-replications: expected 0 or more, found {confirm_replications}")
    common = dict(common or {})
    levers = load_levers(levers_file)
    if metrics:
        levers = dataclasses.replace(levers, extra_metrics=tuple(dict.fromkeys(metrics)))
    base = apply_days(load_scenario(scenario, {**common, **levers.fixed}), days, scenario)
    levers = check_against_scenario(levers, base)
    check_metrics(levers, known_metrics(base))
    out = Path(out)
    executor = "dask" if scheduler else executor
    settings = Settings(scenario, replications, seed, days, common, executor, workers, scheduler, chunk_size,
                        population, allow_version_change)  # fmt: skip
    pools = SharedPool(executor, workers, scheduler)
    try:
        study, evaluator = search(
            levers, settings, base, out, trials, on_trial, progress=progress, pools=pools
        )
    except BaseException:
        pools.close(abort=True)
        raise
    pools.close()
    rows = trial_rows(study, levers)
    pareto = non_dominated(rows, levers)
    best = cheapest_feasible(rows, levers)
    near = [] if best else closest(rows, levers)
    chosen = [best] if best else near
    n_confirm = 2 * replications if confirm_replications is None else confirm_replications
    confirmation = (
        confirm(levers, settings, base, chosen, out, n_confirm, progress=progress)
        if n_confirm and chosen
        else None
    )
    wall = time.perf_counter() - started
    doc = result_document(levers, settings, rows, pareto, best, near, confirmation, wall, evaluator.ran)
    doc["provenance"] = provenance()
    written = write_outputs(doc, levers, rows, pareto, out, plots=plots)
    return DesignRun(doc, levers, rows, written)


def _entry(row: Mapping[str, Any], levers: LeversSpec) -> dict[str, Any]:
    return {"trial": row["trial"], "levers": row["levers"], "objectives": row["objectives"],
            "metrics": row["metrics"], "feasible": row["feasible"],
            "overrides": levers.overrides(row["levers"])}  # fmt: skip


def result_document(
    levers, settings: Settings, rows, pareto, best, near, confirmation, wall, ran
) -> dict[str, Any]:
    """The ``pareto.json`` document. Every design carries ``overrides`` (schema path → value): with ``scenario``,
    ``set`` and ``fixed`` it rebuilds the design's scenario (``crisis-sim robustness --designs``)."""
    best_doc = None
    if best is not None:
        best_doc = _entry(best, levers)
        if confirmation:
            best_doc["confirmation"] = confirmation["designs"].get(f"trial-{best['trial']}")
    return {
        "scenario": settings.scenario,
        "levers_file": levers.file,
        "set": dict(settings.common),
        "fixed": dict(levers.fixed),
        "days": settings.days,
        "objectives": [o.model_dump() for o in levers.objectives],
        "constraints": [c.text for c in levers.constraints],
        "cheapest_by": levers.cheapest_by,
        "replications": settings.replications,
        "trials": len(rows),
        "feasible_trials": sum(r["feasible"] for r in rows),
        "pareto": [_entry(r, levers) for r in pareto],
        "best_feasible": best_doc,
        "closest": [_entry(r, levers) for r in near],
        "confirmation": confirmation,
        "runs_now": ran,
        "wall_s": round(wall, 2),
    }


def write_outputs(doc, levers, rows, pareto, out: Path, plots: bool = True) -> list[str]:
    written = []
    lever_names = [lv.label for lv in levers.levers]
    metric_names = levers.metrics()

    def table(rs) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["trial", *lever_names, *metric_names, "feasible"])
        for r in rs:
            w.writerow([r["trial"], *(r["levers"][n] for n in lever_names),
                        *(r["metrics"].get(m) for m in metric_names), r["feasible"]])  # fmt: skip
        return buf.getvalue()

    texts = {
        "pareto.csv": table(pareto),
        "trials.csv": table(rows),
        "pareto.json": json.dumps(jsonable(doc), indent=2),
    }
    write_atomically(out, {name: (lambda path, text=text: path.write_text(text, encoding="utf-8"))
                           for name, text in texts.items()})  # fmt: skip
    written += list(texts)
    if plots and len(levers.objectives) >= 2:
        written += plot_pairs(levers, rows, pareto, out / "plots")
    return written


def plot_pairs(levers, rows, pareto, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    front = {r["trial"] for r in pareto}
    for a, b in itertools.combinations([o.metric for o in levers.objectives], 2):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for feasible, marker in ((False, "x"), (True, "o")):
            pts = [r for r in rows if r["feasible"] == feasible]
            ax.scatter([r["objectives"][a] for r in pts], [r["objectives"][b] for r in pts], marker=marker,
                       color="0.6", label=f"{'feasible' if feasible else 'infeasible'} trial", s=20)  # fmt: skip
        pf = sorted((r for r in rows if r["trial"] in front), key=lambda r: r["objectives"][a])
        ax.plot([r["objectives"][a] for r in pf], [r["objectives"][b] for r in pf], "o-", color="C3",
                label="Pareto front", ms=6)  # fmt: skip
        ax.set_xlabel(a)
        ax.set_ylabel(b)
        ax.legend(fontsize=8)
        ax.set_title(f"{b} vs {a}")
        fig.tight_layout()
        name = f"plots/pareto_{a}__{b}.png"
        fig.savefig(folder / f"pareto_{a}__{b}.png", dpi=100)
        plt.close(fig)
        names.append(name)
    return names


def format_text(doc: dict[str, Any]) -> str:
    """The plain-text summary ``crisis-sim design`` prints."""
    lines = [f"Pareto front: {len(doc['pareto'])} designs of {doc['trials']} trials "
             f"({doc['feasible_trials']} feasible); objectives: "
             + ", ".join(f"{o['direction']} {o['metric']}" for o in doc["objectives"])]  # fmt: skip
    for r in doc["pareto"]:
        lv = ", ".join(f"{k}={fmt(v)}" for k, v in r["levers"].items())
        ob = ", ".join(f"{k}={fmt(v)}" for k, v in r["objectives"].items())
        lines.append(
            f"  trial {r['trial']:>3} {'feasible  ' if r['feasible'] else 'infeasible'} {lv} -> {ob}"
        )
    best = doc["best_feasible"]
    if best:
        lines.append(f"\nCheapest design meeting every constraint ({', '.join(doc['constraints']) or 'none'}), "
                     f"by {doc['cheapest_by']}: trial {best['trial']}: "
                     + ", ".join(f"{k}={fmt(v)}" for k, v in best["levers"].items()))  # fmt: skip
        conf = best.get("confirmation")
        if conf:
            n = doc["confirmation"]["replications"]
            lines.append(
                f"  confirmation with {n} replications (mean [95% CI]; paired difference vs base [95% CI]):"
            )
            for m, v in conf["metrics"].items():
                lines.append(f"    {m:<24} {fmt(v['mean'])} [{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]; "
                             f"{fmt(v['diff'])} [{fmt(v['diff_ci_low'])}, {fmt(v['diff_ci_high'])}]")  # fmt: skip
            lines.append("  constraints on the confirmation means: "
                         + ", ".join(f"{k}: {'holds' if ok else 'FAILS'}" for k, ok in conf["constraints"].items()))  # fmt: skip
    return "\n".join(lines)
