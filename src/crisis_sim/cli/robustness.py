"""``crisis-sim robustness SCENARIO... --uncertainties FILE --experiments N --replications R --out DIR``.

Exploratory modelling with the EMA workbench: N Latin-hypercube experiments over the stressors declared in FILE,
each run under every policy (the SCENARIO files or variants) with R replications over common random numbers through
the experiment engine; then PRIM boxes of where each policy fails its goals, regret and satisficing across
policies. Resumable: rerun the same command. See docs/robustness.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from crisis_sim.cli.common import UsageError, jsonable, positive, write_atomically
from crisis_sim.cli.compare import add_experiment_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "robustness",
        help="where each program design fails its goals under stressors (EMA workbench: PRIM, regret)",
        description="Sample the stressors declared in --uncertainties (Latin hypercube, EMA workbench), run every "
        "experiment under every policy (SCENARIO files, built-in names or variants FILE::NAME:PATH=VALUE) with R "
        "replications over common random numbers, and find with PRIM the stressor ranges in which each policy fails "
        "its goals (coverage, density, the peeling trade-off); regret and satisficing across policies. Results go "
        "to DIR (one results store per experiment and policy: rerun the same command to continue).",
    )
    p.add_argument(
        "scenarios", nargs="+", metavar="SCENARIO", help="policy: scenario file, built-in name or variant"
    )
    p.add_argument("--uncertainties", required=True, metavar="FILE",
                   help="stressors, events and goals (TOML; see docs/robustness.md)")  # fmt: skip
    p.add_argument("--experiments", type=positive("experiments"), required=True, metavar="N",
                   help="Latin-hypercube samples of the stressors (each run under every policy)")  # fmt: skip
    p.add_argument("--prim-threshold", type=float, default=0.8, metavar="D",
                   help="density a PRIM box should reach (0-1, default 0.8): the box kept is the one with the "
                   "highest coverage among those at least this dense")  # fmt: skip
    add_experiment_options(p)
    for action in p._actions:
        if action.dest == "out":
            action.required = True
            action.help = ("folder: experiments/*/ (one results store per experiment and policy), "
                           "robustness.csv/.json, prim_*.csv, plots/*.png; rerun the same command to continue")  # fmt: skip
        elif action.dest == "metric":
            action.help = "further metric to record per experiment (repeatable)"
        elif action.dest == "json":
            action.help = "print {policies: {name: {failure_share, boxes, regret, ...}}} as one JSON object"
        elif action.dest == "no_progress":
            action.help = "no progress on stderr"
    p.set_defaults(func=_robustness)


def _robustness(args: argparse.Namespace) -> int:
    import dataclasses

    from crisis_sim.analysis.design import known_metrics
    from crisis_sim.analysis.robustness import (
        Engine,
        check_against_policies,
        check_metrics,
        load_uncertainties,
        robustness,
        run_experiments,
    )
    from crisis_sim.experiments import SpecError, StoreError, build_spec, parse_scenario_arg
    from crisis_sim.experiments.spec import parse_assignment
    from crisis_sim.provenance import provenance

    started = time.perf_counter()
    if not 0.0 < args.prim_threshold <= 1.0:
        raise UsageError(f"--prim-threshold: expected a density in (0, 1], found {args.prim_threshold}")
    spec = load_uncertainties(args.uncertainties)
    try:
        requests = [parse_scenario_arg(text) for text in args.scenarios]
        common = dict(parse_assignment(text) for text in args.set)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    policies = build_spec(requests, 1, args.seed, args.days, common).scenarios
    check_against_policies(spec, policies)
    known = known_metrics(policies[0].scenario)
    check_metrics(spec, known)
    if args.metric:
        unknown = [m for m in args.metric if m not in known]
        if unknown:
            raise UsageError(f"--metric: expected a metric of the run summary, found {unknown[0]!r}")
        spec = dataclasses.replace(spec, extra_metrics=tuple(args.metric))
    out = Path(args.out)
    progress = not args.no_progress

    engine = Engine(spec, {e.label: e for e in policies}, out, args.replications, args.seed, args.days,
                    "dask" if args.scheduler else args.executor, args.workers, args.scheduler, args.chunk_size,
                    args.allow_version_change)  # fmt: skip
    try:
        table = run_experiments(engine, args.experiments, progress)
    except KeyboardInterrupt:
        print(f"crisis-sim: interrupted; finished experiments are saved in {out}. Run the same command again to "
              "continue.", file=sys.stderr)  # fmt: skip
        return 130
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except BaseException as exc:  # EMAError (a BaseException) wraps what the model function raised
        if isinstance(exc.__cause__, StoreError):
            raise UsageError(str(exc.__cause__)) from None
        raise
    result = robustness(table, spec, args.prim_threshold)
    wall = time.perf_counter() - started
    doc = {
        "policies": result["policies"],
        "uncertainties": [u.model_dump() for u in spec.uncertainties],
        "goals": [g.text for g in spec.goals],
        "regret_metric": spec.regret_metric,
        "experiments": args.experiments,
        "replications": args.replications,
        "days": args.days,
        "seed": args.seed,
        "prim_threshold": args.prim_threshold,
        "runs_now": engine.ran,
        "wall_s": round(wall, 2),
        "provenance": provenance(),
    }
    written = write_outputs(doc, table, result["trajectories"], spec, out, plots=not args.no_plots)
    if args.json:
        print(json.dumps(jsonable(doc)))
        return 0
    print(format_text(doc))
    print(f"\n{len(table)} experiment-policy pairs ({engine.ran} runs now) in {wall:.1f} s; wrote "
          f"{', '.join(written)} in {out}")  # fmt: skip
    return 0


def write_outputs(doc, table, trajectories, spec, out: Path, plots: bool = True) -> list[str]:
    import pandas as pd

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
    from crisis_sim.analysis.design import fmt

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
