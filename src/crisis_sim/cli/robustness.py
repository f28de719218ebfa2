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

from crisis_sim.cli.common import UsageError, jsonable, positive
from crisis_sim.cli.compare import add_experiment_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "robustness",
        help="where each program design fails its goals under stressors (EMA workbench: PRIM, regret)",
        description="Sample the stressors declared in --uncertainties (Latin hypercube, EMA workbench), run every "
        "experiment under every policy (SCENARIO files, built-in names or variants FILE::NAME:PATH=VALUE, and/or the "
        "designs of a design study given by --designs) with R "
        "replications over common random numbers, and find with PRIM the stressor ranges in which each policy fails "
        "its goals (coverage, density, the peeling trade-off); regret and satisficing across policies. Results go "
        "to DIR (one results store per experiment and policy: rerun the same command to continue).",
    )
    p.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="policy: scenario file, built-in name or variant"
    )
    p.add_argument("--designs", metavar="PARETO_JSON",
                   help="also take designs from a design study's pareto.json as policies (its base scenario with "
                   "the design's levers); labelled design-trial-K")  # fmt: skip
    p.add_argument("--pick", default="feasible", metavar="WHICH",
                   help="with --designs: all (the Pareto front), feasible (its feasible designs; the default), best "
                   "(the cheapest feasible one) or trial numbers such as 3,7")  # fmt: skip
    p.add_argument("--uncertainties", required=True, metavar="FILE",
                   help="stressors, events and goals (TOML; see docs/robustness.md)")  # fmt: skip
    p.add_argument("--experiments", type=positive("experiments"), required=True, metavar="N",
                   help="Latin-hypercube samples of the stressors (each run under every policy)")  # fmt: skip
    p.add_argument("--prim-threshold", type=float, default=0.8, metavar="D",
                   help="density a PRIM box should reach (0-1, default 0.8): the box kept is the one with the "
                   "highest coverage among those at least this dense")  # fmt: skip
    add_experiment_options(
        p,
        helps={
            "out": ("folder: experiments/*/ (one results store per experiment and policy), "
                "robustness.csv/.json, prim_*.csv, plots/*.png; rerun the same command to continue"),
            "metric": "further metric to record per experiment (repeatable)",
            "json": "print {policies: {name: {failure_share, boxes, regret, ...}}} as one JSON object",
            "no_progress": "no per-experiment lines on stderr",
        },
        out_required=True,
    )  # fmt: skip
    p.set_defaults(func=_robustness)


def _robustness(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.robustness_run import (
        RobustnessError,
        format_text,
        run_robustness,
        unwrap_ema_error,
    )
    from crisis_sim.experiments import SpecError, StoreError
    from crisis_sim.experiments.spec import parse_assignment
    from crisis_sim.scenario import ScenarioError

    if not 0.0 < args.prim_threshold <= 1.0:
        raise UsageError(f"--prim-threshold: expected a density in (0, 1], found {args.prim_threshold}")
    if not args.scenarios and not args.designs:
        raise UsageError(
            "SCENARIO: expected at least one policy (a scenario or --designs PARETO_JSON), found none"
        )
    try:
        common = dict(parse_assignment(text) for text in args.set)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    def on_experiment(step) -> None:
        print(step.line(), file=sys.stderr, flush=True)

    try:
        result = run_robustness(
            args.scenarios, args.uncertainties, args.experiments, args.replications, args.out,
            designs=args.designs, pick=args.pick, seed=args.seed, days=args.days, common=common,
            executor=args.executor, workers=args.workers, scheduler=args.scheduler, chunk_size=args.chunk_size,
            prim_threshold=args.prim_threshold, metrics=args.metric or (),
            allow_version_change=args.allow_version_change, plots=not args.no_plots, progress=not args.no_progress,
            on_experiment=None if args.no_progress else on_experiment,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"crisis-sim: interrupted; finished experiments are saved in {args.out}. Run the same command again "
              "to continue.", file=sys.stderr)  # fmt: skip
        return 130
    except (RobustnessError, SpecError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    except ScenarioError:
        raise
    except BaseException as exc:  # EMAError (a BaseException) wraps what the model function raised
        cause = unwrap_ema_error(exc)
        if isinstance(cause, StoreError):
            raise UsageError(str(cause)) from None
        raise
    doc = result.doc
    if args.json:
        print(json.dumps(jsonable(doc)))
        return 0
    print(format_text(doc))
    print(f"\n{len(result.table)} experiment-policy pairs ({doc['runs_now']} runs now) in {doc['wall_s']:.1f} s; "
          f"wrote {', '.join(result.written)} in {args.out}")  # fmt: skip
    return 0
