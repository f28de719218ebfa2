"""``crisis-sim sensitivity SCENARIO --inputs FILE --method morris|sobol|fast|delta --n N --replications R``.

SALib samples the uncertain inputs declared in FILE, every sample row runs as a variant of SCENARIO through the
experiment engine (R replications over common random numbers, averaged per row; resumable store with --out),
and SALib's analyser ranks the inputs per output metric. See docs/sensitivity.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from crisis_sim.cli.common import UsageError, jsonable, positive
from crisis_sim.cli.compare import add_experiment_options, report_interrupted


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (SALib: Morris, Sobol, FAST, delta) over uncertain inputs",
        description="Sample the uncertain inputs declared in --inputs (schema paths with distributions) with "
        "SALib, run every sample row as a variant of SCENARIO (R replications over common random numbers, "
        "averaged per row), and rank the inputs for each output metric: Morris mu*/sigma, Sobol S1/ST (N a "
        "power of 2; N x (D+2) rows), FAST S1/ST (N > 64; N x D rows) or delta (N rows). Writes a tidy table "
        "(input, metric, index, value, CI) and plots with --out; warns on stderr when N looks too small.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="base scenario: TOML file or built-in name")
    p.add_argument(
        "--inputs", required=True, metavar="FILE", help="uncertain inputs (TOML; see docs/sensitivity.md)"
    )
    p.add_argument("--method", choices=("morris", "sobol", "fast", "delta"), default="morris",
                   help="SALib method (default morris: cheap screening)")  # fmt: skip
    p.add_argument("--n", type=positive("samples"), required=True, metavar="N",
                   help="Morris trajectories, Sobol base samples (power of 2), FAST samples per input, delta samples")  # fmt: skip
    p.add_argument("--groups", action="store_true",
                   help="analyse the inputs' groups (their group keys) instead of each input; sobol and morris")  # fmt: skip
    add_experiment_options(
        p,
        helps={
            "metric": "output metric to analyse (repeatable; default: the inputs file's metrics)",
            "json": "print the analysis (method, warnings, tidy table) as one JSON object",
            "out": ("results store and outputs (resumable: rerun the same command after a kill): "
                "sensitivity.csv/.parquet/.json, sample.csv, plots/*.png"),
        },
    )  # fmt: skip
    p.set_defaults(func=_sensitivity)


def _check_metrics(scenario, metrics: list[str]) -> None:
    """Metrics not in the stored columns are looked up in the summary of a one-day run of the base scenario."""
    from crisis_sim.experiments import STORED_METRICS

    rest = [m for m in metrics if m not in STORED_METRICS]
    if not rest:
        return
    from crisis_sim.scenario import with_overrides
    from crisis_sim.sim import run_single

    probe = with_overrides(scenario, {"simulation.horizon_days": 1, "simulation.warmup_days": 0})
    summary = run_single(probe, 0, 0).summary
    known = {
        k for k, v in summary.items() if isinstance(v, int | float | type(None)) and not isinstance(v, bool)
    }
    for m in rest:
        if m not in known:
            names = ", ".join(sorted(set(STORED_METRICS) | known))
            raise UsageError(f"metric: expected one of {names}, found {m!r}")


def _sensitivity(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.sensitivity import (
        EngineEvaluator,
        SensitivityError,
        format_table,
        make_design,
        result_document,
        run_sensitivity,
        write_outputs,
    )
    from crisis_sim.analysis.sensitivity_inputs import check_against_scenario, load_inputs
    from crisis_sim.experiments import Interrupted, SpecError, StoreError
    from crisis_sim.experiments.spec import apply_days, parse_assignment
    from crisis_sim.scenario import load_scenario

    started = time.perf_counter()
    inputs = load_inputs(args.inputs)
    if args.metric:
        bad = [m for m in args.metric if not m.isidentifier()]
        if bad:
            raise UsageError(f"--metric: expected a metric name like arrests or cost_total, found {bad[0]!r}")
        inputs = dataclasses.replace(inputs, metrics=tuple(dict.fromkeys(args.metric)))
    try:
        common = {**inputs.fixed, **dict(parse_assignment(text) for text in args.set)}
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    base = apply_days(load_scenario(args.scenario, common), args.days, args.scenario)
    check_against_scenario(inputs, base)
    for _label, over in inputs.categories():
        from crisis_sim.scenario import with_overrides

        check_against_scenario(inputs, with_overrides(base, over, label=args.inputs))
    _check_metrics(base, list(inputs.metrics))

    evaluator = EngineEvaluator(
        args.scenario, args.replications, args.seed, args.days, args.out, args.executor, args.workers,
        args.scheduler, args.chunk_size, progress=not args.no_progress, common=common, metrics=inputs.metrics,
        allow_version_change=args.allow_version_change,
    )  # fmt: skip
    try:
        design = make_design(inputs, args.method, args.n, args.seed, args.groups)
        rows = design.n_rows
        if not args.no_progress:
            cases = len(inputs.categories())
            print(f"{args.method}: {rows} sample rows x {cases} case(s) x {args.replications} replication(s) = "
                  f"{rows * cases * args.replications} runs", file=sys.stderr)  # fmt: skip
        result = run_sensitivity(inputs, args.method, args.n, evaluator, args.seed, args.groups, design)
    except SensitivityError as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except Interrupted as exc:
        return report_interrupted(exc, args.out)
    wall = time.perf_counter() - started
    extra = {"scenario": args.scenario, "inputs_file": args.inputs, "replications": args.replications,
             "days": args.days, "runs": evaluator.report.get("runs"), "ran_now": evaluator.report.get("ran"),
             "wall_s": round(wall, 2), "store": args.out}  # fmt: skip
    for line in result.warnings:
        print(f"crisis-sim: warning: {line}", file=sys.stderr)
    written = []
    if args.out:
        written = write_outputs(result, args.out, plots=not args.no_plots, extra=extra)
    if args.json:
        doc = result_document(result, extra)
        print(json.dumps(jsonable(doc)))
    else:
        print(format_table(result))
        print(
            f"\n{evaluator.report.get('runs')} runs ({evaluator.report.get('ran')} run now) in {wall:.1f} s"
        )
        if args.out:
            plots = [w for w in written if w.startswith("plots/")]
            print(f"results in {args.out}: sensitivity.csv/.parquet/.json (tidy table), sample.csv, "
                  f"{len(plots)} plots/*.png, runs/*.parquet (the store)")  # fmt: skip
    return 0
