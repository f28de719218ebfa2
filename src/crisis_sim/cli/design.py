"""``crisis-sim design SCENARIO --levers FILE --trials N --replications R --out DIR``.

Multi-objective search (Optuna NSGA-II, SQLite study in DIR, resumable) over the program levers declared in FILE;
every design runs R replications over common random numbers through the experiment engine. Writes the Pareto
front, a plot per pair of objectives, the cheapest design meeting every constraint and a confirmation re-run with
more replications. See docs/design.md.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

from crisis_sim.cli.common import UsageError, jsonable, positive, write_atomically
from crisis_sim.cli.compare import add_experiment_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design",
        help="search program designs (levers) for the Pareto front and the cheapest one meeting constraints",
        description="Multi-objective search (Optuna NSGA-II) over the program levers declared in --levers (schema "
        "paths with ranges), minimising/maximising its objectives under its constraints. Every design runs R "
        "replications over common random numbers. The study is kept in DIR/study.db: rerun the same command to "
        "continue it (after a kill nothing is lost or run twice). Writes DIR/pareto.csv, pareto.json, "
        "trials.csv, plots/*.png, and re-runs the cheapest feasible design (or the closest ones) with "
        "--confirm-replications replications next to the base scenario.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="base scenario: TOML file or built-in name")
    p.add_argument(
        "--levers",
        required=True,
        metavar="FILE",
        help="levers, objectives, constraints (TOML; see docs/design.md)",
    )
    p.add_argument("--trials", type=positive("trials"), required=True,
                   help="completed trials the study should hold (a rerun adds only the missing ones)")  # fmt: skip
    p.add_argument("--population", type=positive("designs"), default=8,
                   help="NSGA-II population size (default 8)")  # fmt: skip
    p.add_argument("--confirm-replications", type=int, default=None, metavar="N",
                   help="replications of the confirmation re-run (default 2 x --replications; 0 skips it)")  # fmt: skip
    add_experiment_options(p)
    for action in p._actions:  # shared options whose meaning differs here
        if action.dest == "out":
            action.required = True
            action.help = ("study folder: study.db (Optuna), designs/*/ (one results store per design), confirm/, "
                           "pareto.csv/.json, trials.csv, plots/*.png; rerun the same command to continue")  # fmt: skip
        elif action.dest == "metric":
            action.help = "further metric to show in the confirmation (repeatable)"
        elif action.dest == "json":
            action.help = "print the result (pareto, best_feasible, closest, confirmation) as one JSON object"
        elif action.dest == "no_progress":
            action.help = "no per-trial lines on stderr"
    p.set_defaults(func=_design)


def _design(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.design import (
        DesignError,
        Settings,
        cheapest_feasible,
        closest,
        confirm,
        describe_violations,
        fmt,
        known_metrics,
        non_dominated,
        search,
        trial_rows,
    )
    from crisis_sim.analysis.design_inputs import check_against_scenario, check_metrics, load_levers
    from crisis_sim.experiments import Interrupted, SpecError, StoreError
    from crisis_sim.experiments.spec import apply_days, parse_assignment
    from crisis_sim.provenance import provenance
    from crisis_sim.scenario import load_scenario

    started = time.perf_counter()
    levers = load_levers(args.levers)
    if args.metric:
        levers = dataclasses.replace(levers, extra_metrics=tuple(dict.fromkeys(args.metric)))
    try:
        common = dict(parse_assignment(text) for text in args.set)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.confirm_replications is not None and args.confirm_replications < 0:
        raise UsageError(f"--confirm-replications: expected 0 or more, found {args.confirm_replications}")
    base = apply_days(load_scenario(args.scenario, {**common, **levers.fixed}), args.days, args.scenario)
    levers = check_against_scenario(levers, base)
    check_metrics(levers, known_metrics(base))
    out = Path(args.out)
    settings = Settings(args.scenario, args.replications, args.seed, args.days, common,
                        "dask" if args.scheduler else args.executor, args.workers, args.scheduler, args.chunk_size,
                        args.population, args.allow_version_change)  # fmt: skip
    progress = not args.no_progress

    def on_trial(done: int, number: int, values: dict, metrics: dict, feasible: bool) -> None:
        if progress:
            lv = ", ".join(f"{k}={fmt(v)}" for k, v in values.items())
            ob = ", ".join(f"{o.metric}={fmt(metrics[o.metric])}" for o in levers.objectives)
            print(f"trial {done}/{args.trials} (#{number}) {'feasible' if feasible else 'infeasible'}: {lv} -> {ob}",
                  file=sys.stderr)  # fmt: skip

    try:
        study, evaluator = search(levers, settings, base, out, args.trials, on_trial)
        rows = trial_rows(study, levers)
        pareto = non_dominated(rows, levers)
        best = cheapest_feasible(rows, levers)
        near = [] if best else closest(rows, levers)
        chosen = [best] if best else near
        n_confirm = 2 * args.replications if args.confirm_replications is None else args.confirm_replications
        confirmation = (
            confirm(levers, settings, base, chosen, out, n_confirm) if n_confirm and chosen else None
        )
    except DesignError as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except (Interrupted, KeyboardInterrupt):
        print(f"crisis-sim: interrupted; finished trials and replications are saved in {out}. Run the same "
              "command again to continue the study.", file=sys.stderr)  # fmt: skip
        return 130
    wall = time.perf_counter() - started
    doc = result_document(levers, args, rows, pareto, best, near, confirmation, wall, evaluator.ran)
    doc["provenance"] = provenance()
    written = write_outputs(doc, levers, rows, pareto, out, plots=not args.no_plots)
    if args.json:
        print(json.dumps(jsonable(doc)))
        return 0
    print(format_text(doc, levers))
    if not best:
        print(
            f"no design met every constraint in {len(rows)} trials; closest: "
            + " | ".join(f"trial {r['trial']}: {describe_violations(r, levers)}" for r in near)
        )
    print(
        f"\n{len(rows)} trials ({evaluator.ran} runs now) in {wall:.1f} s; wrote {', '.join(written)} in {out}"
    )
    return 0


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {"trial": row["trial"], "levers": row["levers"], "objectives": row["objectives"],
            "metrics": row["metrics"], "feasible": row["feasible"]}  # fmt: skip


def result_document(levers, args, rows, pareto, best, near, confirmation, wall, ran) -> dict[str, Any]:
    best_doc = None
    if best is not None:
        best_doc = _entry(best)
        if confirmation:
            best_doc["confirmation"] = confirmation["designs"].get(f"trial-{best['trial']}")
    return {
        "scenario": args.scenario,
        "levers_file": args.levers,
        "objectives": [o.model_dump() for o in levers.objectives],
        "constraints": [c.text for c in levers.constraints],
        "cheapest_by": levers.cheapest_by,
        "replications": args.replications,
        "trials": len(rows),
        "feasible_trials": sum(r["feasible"] for r in rows),
        "pareto": [_entry(r) for r in pareto],
        "best_feasible": best_doc,
        "closest": [_entry(r) for r in near],
        "confirmation": confirmation,
        "runs_now": ran,
        "wall_s": round(wall, 2),
    }


def write_outputs(doc, levers, rows, pareto, out: Path, plots: bool = True) -> list[str]:
    written = []
    lever_names = [lv.label for lv in levers.levers]
    metric_names = levers.metrics()

    def table(rs) -> str:
        import io

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


def format_text(doc: dict[str, Any], levers) -> str:
    from crisis_sim.analysis.design import fmt

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
