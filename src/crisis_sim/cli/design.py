"""``crisis-sim design SCENARIO --levers FILE --trials N --replications R --out DIR``.

Multi-objective search (Optuna NSGA-II, SQLite study in DIR, resumable) over the program levers declared in FILE;
every design runs R replications over common random numbers through the experiment engine. Writes the Pareto
front, a plot per pair of objectives, the cheapest design meeting every constraint and a confirmation re-run with
more replications. See docs/design.md.
"""

from __future__ import annotations

import argparse
import json
import sys

from crisis_sim.cli.common import UsageError, jsonable, positive
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
    add_experiment_options(
        p,
        helps={
            "out": ("study folder: study.db (Optuna), designs/*/ (one results store per design), confirm/, "
                "pareto.csv/.json, trials.csv, plots/*.png; rerun the same command to continue"),
            "metric": "further metric to show in the confirmation (repeatable)",
            "json": "print the result (pareto, best_feasible, closest, confirmation) as one JSON object",
            "no_progress": "no per-trial lines nor runs-done bar on stderr",
        },
        out_required=True,
    )  # fmt: skip
    p.set_defaults(func=_design)


def _design(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.design import DesignError, describe_violations, fmt
    from crisis_sim.analysis.design_inputs import load_levers
    from crisis_sim.analysis.design_run import format_text, run_design
    from crisis_sim.experiments import Interrupted, SpecError, StoreError
    from crisis_sim.experiments.spec import parse_assignment

    try:
        common = dict(parse_assignment(text) for text in args.set)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.confirm_replications is not None and args.confirm_replications < 0:
        raise UsageError(f"--confirm-replications: expected 0 or more, found {args.confirm_replications}")
    progress = not args.no_progress

    def on_trial(done: int, number: int, values: dict, metrics: dict, feasible: bool) -> None:
        if progress:
            lv = ", ".join(f"{k}={fmt(v)}" for k, v in values.items())
            ob = ", ".join(f"{k}={fmt(v)}" for k, v in metrics.items() if k in objectives)
            print(f"trial {done}/{args.trials} (#{number}) {'feasible' if feasible else 'infeasible'}: {lv} -> {ob}",
                  file=sys.stderr)  # fmt: skip

    objectives = {o.metric for o in load_levers(args.levers).objectives}
    try:
        result = run_design(
            args.scenario, args.levers, args.trials, args.replications, args.out, seed=args.seed, days=args.days,
            common=common, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
            chunk_size=args.chunk_size, population=args.population, confirm_replications=args.confirm_replications,
            metrics=args.metric or (), allow_version_change=args.allow_version_change, plots=not args.no_plots,
            on_trial=on_trial, progress=progress,
        )  # fmt: skip
    except (DesignError, StoreError, SpecError) as exc:
        raise UsageError(str(exc)) from None
    except (Interrupted, KeyboardInterrupt):
        print(f"crisis-sim: interrupted; finished trials and replications are saved in {args.out}. Run the same "
              "command again to continue the study.", file=sys.stderr)  # fmt: skip
        return 130
    doc = result.doc
    if args.json:
        print(json.dumps(jsonable(doc)))
        return 0
    print(format_text(doc))
    if not doc["best_feasible"]:
        print(
            f"no design met every constraint in {doc['trials']} trials; closest: "
            + " | ".join(
                f"trial {r['trial']}: {describe_violations(r, result.levers)}" for r in doc["closest"]
            )
        )
    print(f"\n{doc['trials']} trials ({doc['runs_now']} runs now) in {doc['wall_s']:.1f} s; wrote "
          f"{', '.join(result.written)} in {args.out}")  # fmt: skip
    return 0
