"""One robustness study from plain inputs to written outputs (``crisis-sim robustness`` and ``cs.robustness`` both
call :func:`run_robustness`; docs/robustness.md).

Policies are scenario files, built-in names or variants (``FILE::NAME:PATH=VALUE``) and/or designs from a design
study's ``pareto.json`` (:func:`design_policies`: the design's base scenario with its levers applied by
``with_overrides``). Then EMA experiments (:func:`crisis_sim.analysis.robustness.run_experiments`), PRIM boxes,
regret and satisficing, and ``robustness.csv``, ``robustness.json``, ``prim_*.csv``, ``plots/*.png`` in ``out``.
Bad input raises ``ScenarioError`` / ``SpecError`` / ``RobustnessError`` before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crisis_sim.analysis.design import SharedPool, fmt, known_metrics
from crisis_sim.analysis.robustness import (
    Engine,
    OnExperiment,
    UncertaintySpec,
    check_against_policies,
    check_metrics,
    load_uncertainties,
    robustness,
    run_experiments,
)
from crisis_sim.experiments import build_spec, parse_scenario_arg
from crisis_sim.experiments.spec import ScenarioEntry, apply_days, unique_labels
from crisis_sim.provenance import provenance
from crisis_sim.scenario import load_scenario, with_overrides
from crisis_sim.serialize import jsonable, write_atomically

PICKS = "all, feasible, best or trial numbers such as 3,7"


class RobustnessError(Exception):
    """Options or a designs file that cannot be used; one user-facing line."""


@dataclass(frozen=True)
class RobustnessRun:
    """What :func:`run_robustness` produced: ``doc`` is the ``robustness.json`` document, ``table`` one row per
    (experiment, policy) with the uncertainties, outcomes and ``failed``, ``written`` the files written."""

    doc: dict[str, Any]
    table: pd.DataFrame
    written: list[str]


def _parse_pick(pick: str) -> str | list[int]:
    text = str(pick).strip().lower()
    if text in ("all", "feasible", "best"):
        return text
    try:
        trials = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        trials = []
    if not trials:
        raise RobustnessError(f"--pick: expected {PICKS}, found {pick!r}")
    return trials


def design_policies(
    path: str | Path, pick: str = "feasible", days: int | None = None, common: Mapping[str, Any] | None = None
) -> list[ScenarioEntry]:
    """Designs of a ``pareto.json`` (written by ``crisis-sim design``) as policies: the study's base scenario (with
    its ``--set`` and ``[fixed]`` overrides, then ``common``) with each design's levers applied, labelled
    ``design-trial-K``. ``pick``: ``all`` (the Pareto front), ``feasible`` (its feasible designs), ``best`` (the
    cheapest feasible design) or trial numbers ``"3,7"`` (designs of the front, or the best or closest ones)."""
    file = str(path)
    which = _parse_pick(pick)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RobustnessError(
            f"{file}: expected a pareto.json written by crisis-sim design, found no such file"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RobustnessError(f"{file}: expected a pareto.json written by crisis-sim design, found unreadable "
                              f"JSON ({type(exc).__name__})") from None  # fmt: skip
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("pareto"), list)
        or not isinstance(doc.get("scenario"), str)
    ):
        raise RobustnessError(f"{file}: expected a pareto.json written by crisis-sim design (keys scenario, pareto), "
                              "found something else")  # fmt: skip
    front = [e for e in doc["pareto"] if isinstance(e, dict)]
    best = doc.get("best_feasible")
    if which == "all":
        chosen = front
    elif which == "feasible":
        chosen = [e for e in front if e.get("feasible")]
        if not chosen:
            raise RobustnessError(f"{file}: --pick feasible: expected a feasible design on the Pareto front, found "
                                  f"none of {len(front)}; use --pick all or trial numbers")  # fmt: skip
    elif which == "best":
        if not best:
            raise RobustnessError(f"{file}: --pick best: expected a cheapest feasible design, found none (no design "
                                  "met every constraint); use --pick all or trial numbers")  # fmt: skip
        chosen = [best]
    else:
        known = {e.get("trial"): e for e in [*front, *([best] if best else []), *doc.get("closest", [])]}
        missing = [t for t in which if t not in known]
        if missing:
            raise RobustnessError(f"{file}: --pick: expected trials of the Pareto front or the best/closest designs "
                                  f"({', '.join(str(t) for t in sorted(known))}), found {missing[0]}")  # fmt: skip
        chosen = [known[t] for t in which]
    base_over = {**doc.get("set", {}), **doc.get("fixed", {}), **(common or {})}
    base = load_scenario(doc["scenario"], base_over)
    levers_spec = None
    entries = []
    for e in chosen:
        overrides = e.get("overrides")
        if (
            overrides is None
        ):  # a pareto.json from before designs carried their overrides: ask the levers file
            from crisis_sim.analysis.design_inputs import check_against_scenario, load_levers

            if levers_spec is None:
                levers_spec = check_against_scenario(load_levers(doc["levers_file"]), base)
            overrides = levers_spec.overrides(e["levers"])
        label = f"design-trial-{e['trial']}"
        scenario = (
            with_overrides(base, overrides, label=f"{file} (trial {e['trial']})") if overrides else base
        )
        scenario = apply_days(scenario, days, label)
        entries.append(ScenarioEntry(label, doc["scenario"], {**base_over, **overrides}, scenario))
    return entries


def run_robustness(
    scenarios: Sequence[str],
    uncertainties: str | Path,
    experiments: int,
    replications: int,
    out: str | Path,
    *,
    designs: str | Path | None = None,
    pick: str = "feasible",
    seed: int = 0,
    days: int | None = None,
    common: Mapping[str, Any] | None = None,
    executor: str = "processes",
    workers: int = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    prim_threshold: float = 0.8,
    metrics: Sequence[str] = (),
    allow_version_change: bool = False,
    plots: bool = True,
    progress: bool = False,
    on_experiment: OnExperiment | None = None,
) -> RobustnessRun:
    """Run (or continue) the robustness study in ``out`` and write its outputs. Policies: ``scenarios`` (files,
    built-in names, variants) then the ``designs`` picked from a ``pareto.json`` (:func:`design_policies`).
    ``on_experiment`` is handed a :class:`~crisis_sim.analysis.robustness.Progress` after each (experiment,
    policy) (its ``line()`` is what the command prints); without it ``progress`` draws EMA's bar."""
    started = time.perf_counter()
    if not 0.0 < prim_threshold <= 1.0:
        raise RobustnessError(f"--prim-threshold: expected a density in (0, 1], found {prim_threshold}")
    if experiments < 1 or replications < 1:
        raise RobustnessError(f"experiments and replications: expected 1 or more, found {experiments} and "
                              f"{replications}")  # fmt: skip
    if not scenarios and designs is None:
        raise RobustnessError("policies: expected at least one SCENARIO or --designs FILE, found none")
    common = dict(common or {})
    spec = load_uncertainties(uncertainties)
    requests = [parse_scenario_arg(str(text)) for text in scenarios]
    policies = list(build_spec(requests, 1, seed, days, common).scenarios) if requests else []
    if designs is not None:
        policies += design_policies(designs, pick, days, common)
    labels = unique_labels(e.label for e in policies)
    policies = [dataclasses.replace(e, label=lab) for lab, e in zip(labels, policies, strict=True)]
    check_against_policies(spec, policies)
    known = known_metrics(policies[0].scenario)
    check_metrics(spec, known)
    if metrics:
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise RobustnessError(f"--metric: expected a metric of the run summary, found {unknown[0]!r}")
        spec = dataclasses.replace(spec, extra_metrics=tuple(metrics))
    out = Path(out)
    executor = "dask" if scheduler else executor
    pools = SharedPool(executor, workers, scheduler)
    engine = Engine(spec, {e.label: e for e in policies}, out, replications, seed, days, executor, workers,
                    scheduler, chunk_size, allow_version_change, on_experiment=on_experiment, pools=pools)  # fmt: skip
    try:
        table = run_experiments(engine, experiments, progress)
    except BaseException:
        pools.close(abort=True)
        raise
    pools.close()
    result = robustness(table, spec, prim_threshold)
    wall = time.perf_counter() - started
    doc = {
        "policies": result["policies"],
        "uncertainties": [u.model_dump() for u in spec.uncertainties],
        "goals": [g.text for g in spec.goals],
        "regret_metric": spec.regret_metric,
        "experiments": experiments,
        "replications": replications,
        "days": days,
        "seed": seed,
        "prim_threshold": prim_threshold,
        "designs_file": None if designs is None else str(designs),
        "runs_now": engine.ran,
        "wall_s": round(wall, 2),
        "provenance": provenance(),
    }
    written = write_outputs(doc, table, result["trajectories"], spec, out, plots=plots)
    return RobustnessRun(doc, table, written)


def unwrap_ema_error(exc: BaseException) -> BaseException:
    """EMA wraps what the model function raised in EMAError (a BaseException): the cause, if there is one."""
    return exc.__cause__ if exc.__cause__ is not None else exc


def write_outputs(
    doc, table, trajectories, spec: UncertaintySpec, out: Path, plots: bool = True
) -> list[str]:
    texts = {
        "robustness.csv": table.to_csv(index=False),
        "robustness.json": json.dumps(jsonable(doc), indent=2),
    }
    for policy, trajs in trajectories.items():
        if trajs:
            texts[f"prim_{_safe(policy)}.csv"] = pd.concat(trajs).to_csv(index_label="peeling_step")
    write_atomically(out, {name: (lambda path, text=text: path.write_text(text, encoding="utf-8"))
                           for name, text in texts.items()})  # fmt: skip
    written = list(texts)
    if plots:
        written += plot_policies(doc, table, trajectories, spec, out / "plots")
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def plot_policies(doc, table, trajectories, spec, folder: Path) -> list[str]:
    """Per policy: the peeling trade-off (coverage vs density) and the experiments on the two uncertainties the
    first box restricts (else the first two), failures marked, the box drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = [u.name for u in spec.uncertainties]
    written = []
    for policy, info in doc["policies"].items():
        rows = table[table["policy"] == policy]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        ax = axes[0]
        for k, traj in enumerate(trajectories.get(policy) or [], start=1):
            ax.plot(traj["coverage"], traj["density"], "o-", ms=3, label=f"box {k} peeling")
            box = info["boxes"][k - 1]
            ax.plot([box["coverage"]], [box["density"]], "*", ms=14, color="C3")
        ax.set_xlabel("coverage (share of failures inside the box)")
        ax.set_ylabel("density (share failing inside the box)")
        ax.set_title(f"{policy}: PRIM peeling trade-off")
        if not info["boxes"]:
            ax.text(0.5, 0.5, f"no box: fails in {info['failure_share']:.0%} of experiments", ha="center",
                    transform=ax.transAxes)  # fmt: skip
        else:
            ax.legend(fontsize=8)
        ax = axes[1]
        restricted = list(info["boxes"][0]["limits"]) if info["boxes"] else []
        dims = (restricted + [n for n in names if n not in restricted])[:2]
        if len(dims) == 2:
            ok, bad = rows[~rows["failed"]], rows[rows["failed"]]
            ax.scatter(ok[dims[0]], ok[dims[1]], marker="o", color="C2", s=18, label="meets goals")
            ax.scatter(bad[dims[0]], bad[dims[1]], marker="x", color="C3", s=22, label="fails a goal")
            if info["boxes"]:
                lims = info["boxes"][0]["limits"]
                lo0, hi0 = lims.get(dims[0], [rows[dims[0]].min(), rows[dims[0]].max()])
                lo1, hi1 = lims.get(dims[1], [rows[dims[1]].min(), rows[dims[1]].max()])
                ax.add_patch(plt.Rectangle((lo0, lo1), hi0 - lo0, hi1 - lo1, fill=False, color="C3", lw=1.5))
            ax.set_xlabel(dims[0])
            ax.set_ylabel(dims[1])
            ax.legend(fontsize=8)
            ax.set_title(f"{policy}: failures ({info['failure_share']:.0%}) and box 1")
        fig.tight_layout()
        name = f"robustness_{_safe(policy)}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        written.append(f"plots/{name}")
    return written


def format_text(doc: dict[str, Any]) -> str:
    """The plain-text summary ``crisis-sim robustness`` prints."""
    lines = [f"Goals: {', '.join(doc['goals'])}; {doc['experiments']} experiments x {doc['replications']} "
             f"replications per policy; regret on {doc['regret_metric']}", "",
             f"{'policy':<24} {'fails':>6} {'satisficing':>11} {'max regret':>11} {'p90 regret':>11}"]  # fmt: skip
    for name, info in doc["policies"].items():
        lines.append(f"{name:<24} {info['failure_share']:>6.0%} {info['satisficing']:>11.0%} "
                     f"{fmt(info['regret']):>11} {fmt(info['regret_p90']):>11}")  # fmt: skip
    for name, info in doc["policies"].items():
        if not info["boxes"]:
            what = "never fails" if info["failure_share"] == 0 else "fails in every experiment"
            lines.append(f"\n{name}: {what}; no PRIM box")
            continue
        lines.append(f"\n{name} fails its goals mostly when (PRIM):")
        for k, box in enumerate(info["boxes"], start=1):
            lims = " and ".join(f"{u} in [{fmt(lo)}, {fmt(hi)}]" for u, (lo, hi) in box["limits"].items())
            lines.append(f"  box {k}: {lims or 'anywhere'} (coverage {box['coverage']:.0%}, density "
                         f"{box['density']:.0%}, {box['mass']:.0%} of experiments)")  # fmt: skip
    return "\n".join(lines)
