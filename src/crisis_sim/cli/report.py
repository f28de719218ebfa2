"""``crisis-sim report A.toml B.toml ... --replications R --out report.html``: the planner's report.

Runs the scenarios with the experiment engine (as ``crisis-sim compare`` does: common random numbers, paired
differences) and writes one self-contained HTML file that opens on the decision table (one row per option: annual cost, staff in FTE,
change in each key outcome with its interval, cost per outcome averted, coverage, ranking), then staffing and
sizing, warnings, monthly differences, and the details (outcomes, costs, series, coverage, assumptions) folded.
Every number shown is also in ``report.json`` beside the HTML. Nothing is written unless everything succeeded
(the files appear by an atomic rename).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from crisis_sim.cli.common import (
    UsageError,
    add_run_options,
    add_version_change_option,
    default_workers,
    positive,
)
from crisis_sim.cli.compare import discount_rate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run scenarios and write one self-contained HTML report for planners",
        description="Run every scenario R times with common random numbers (like compare) and write one "
        "self-contained HTML file (figures embedded, no external links) that can be emailed. It opens on the "
        "decision table: one row per option with annual cost, staff (FTE by role), the change in each key "
        "outcome against the first scenario with its paired 95%% interval, cost per outcome averted, coverage "
        "of eligible calls and a ranking with its reason; then staffing and sizing, warnings, monthly "
        "differences and the details. The numbers are also written to a .json file beside the HTML.",
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario file, built-in name or variant FILE::NAME:PATH=VALUE,...",
    )
    p.add_argument("--replications", "-R", type=positive("replications"), required=True,
                   help="replications per scenario (replication k of every scenario sees the same crises)")  # fmt: skip
    add_run_options(p)
    p.add_argument("--executor", choices=("processes", "dask"), default="processes",
                   help="local process pool (default) or Dask distributed")  # fmt: skip
    p.add_argument("--workers", type=positive("workers"), default=default_workers(),
                   help="worker processes (default: the CPUs available)")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address; implies --executor dask")
    p.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file (default report.html)")
    p.add_argument("--store", metavar="DIR",
                   help="keep the runs in this results store (resumable, readable by compare); default: a "
                   "temporary store deleted afterwards")  # fmt: skip
    add_version_change_option(p, "--store")
    p.add_argument("--goals", metavar="FILE",
                   help="TOML file of [[goals]] (docs/report.md): whether, when and with what probability each "
                   "option meets each; the [[goals]] of the scenario files are checked without it")  # fmt: skip
    p.add_argument("--weights", metavar="METRIC=W,...",
                   help="ranking weights per key outcome, e.g. arrests=3,median_response_min=1 (0 to 100; outcomes "
                   "not named weigh 1; default: every key outcome weighs 1). Also a [weights] table in the --goals "
                   "file; this option wins")  # fmt: skip
    p.add_argument("--rank-by", choices=("count", "size"), default="count",
                   help="count: each clearly better key outcome adds its weight, each clearly worse one subtracts it "
                   "(default); size: each clear change in percent of the first option's level, times its weight")  # fmt: skip
    p.add_argument("--coverage-curve", metavar="PATH=V1,V2,...",
                   help="also re-run every option that has the setting PATH at each value (e.g. "
                   "programs.mobile_crisis.teams=1,2,3,4) and chart coverage of eligible calls and cost against it")  # fmt: skip
    p.add_argument("--targets", metavar="FILE",
                   help="calibration targets file for the 'target outside its range' warning (default: the "
                   "repository's calibration/targets.toml when present)")  # fmt: skip
    p.add_argument("--psa", type=positive("draws"), metavar="N",
                   help="also run a probabilistic sensitivity analysis of N joint draws from the evidence file "
                   "(docs/uncertainty.md): the decision table then shows, beside the run-to-run interval, the "
                   "interval over what we don't know and each option's chance of the fewest arrests")  # fmt: skip
    p.add_argument("--evidence", metavar="FILE",
                   help="evidence file for --psa (default: the packaged evidence/default.toml)")  # fmt: skip
    p.add_argument("--design", metavar="DIR",
                   help="add a section on a design search: the folder written by crisis-sim design (the designs "
                   "on the best trade-off line and the cheapest one meeting every goal; docs/design.md)")  # fmt: skip
    p.add_argument("--robustness", metavar="DIR",
                   help="add a section on a robustness study: the folder written by crisis-sim robustness (the "
                   "stressor ranges each option breaks in, failure share, regret; docs/robustness.md)")  # fmt: skip
    p.add_argument("--posterior", metavar="FILE",
                   help="with --psa: a posterior.parquet of `calibrate --method abc`, whose particles (resampled "
                   "by weight) replace the calibrated point of the calibrated parameters in every draw")  # fmt: skip
    p.add_argument("--discount", type=discount_rate, default=None, metavar="RATE",
                   help="yearly discount rate for the costs and outcomes of the extra cost per outcome averted "
                   "and of the PSA's cost-effectiveness over multi-year horizons (default 0.03; 0 to 0.2; the "
                   "first counted year is not discounted)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_report)


def json_path_for(out: str) -> str:
    """report.html -> report.json (beside the HTML)."""
    return out.rsplit(".", 1)[0] + ".json"


def _report(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.uncertainty import DEFAULT_DISCOUNT, DiscountError
    from crisis_sim.experiments.runner import Interrupted
    from crisis_sim.experiments.spec import SpecError, build_spec, parse_scenario_arg
    from crisis_sim.experiments.store import StoreError
    from crisis_sim.report.curve import CurveError, curve_data, curve_spec, parse_curve
    from crisis_sim.report.decision import WeightError, option_names, parse_weights
    from crisis_sim.report.goals import (
        GoalError,
        check_metrics,
        goals_of_scenarios,
        load_goals,
        load_weights,
        merge_goals,
        psa_as_replications,
    )
    from crisis_sim.report.html import build_report_with_data, write_report
    from crisis_sim.report.run import run_experiment
    from crisis_sim.serialize import dumps

    if args.discount is None:
        args.discount = DEFAULT_DISCOUNT
    if (args.evidence or args.posterior) and not args.psa:
        raise UsageError(f"{'--evidence' if args.evidence else '--posterior'} needs --psa N")
    from crisis_sim.cli.compare import load_posterior_option, posterior_document

    posterior = load_posterior_option(args.posterior)
    if not args.out.endswith((".html", ".htm")):
        raise UsageError(f"--out: expected a file name ending in .html, found {args.out!r}")
    try:
        goals = load_goals(args.goals) if args.goals else None
        file_weights = load_weights(args.goals) if args.goals else None
    except GoalError as exc:
        raise UsageError(str(exc)) from None
    weights, weights_source = None, ""
    try:
        if args.weights:
            weights, weights_source = parse_weights(args.weights), "--weights"
        elif file_weights:
            weights = parse_weights(file_weights, f"{args.goals}: weights")
            weights_source = f"the goals file {args.goals}"
        curve = parse_curve(args.coverage_curve) if args.coverage_curve else None
    except (WeightError, CurveError) as exc:
        raise UsageError(str(exc)) from None
    if args.targets:
        from crisis_sim.analysis.calibration import CalibrationError, load_targets

        try:
            load_targets(args.targets)
        except CalibrationError as exc:
            raise UsageError(f"--targets: {exc}") from None
    exploration = _exploration(args)  # read before anything runs: a bad folder costs no simulation
    try:
        requests = [parse_scenario_arg(text) for text in args.scenarios]
        spec = build_spec(requests, args.replications, args.seed, args.days)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    try:  # a goal the report cannot evaluate is refused before the long runs (one short run of the first option)
        check_metrics(merge_goals(goals_of_scenarios(spec), goals or []), spec.scenarios[0].scenario)
    except GoalError as exc:
        raise UsageError(str(exc)) from None
    curve_plan = None
    if curve:
        try:
            curve_plan = curve_spec(spec, option_names(spec), *curve)
        except CurveError as exc:
            raise UsageError(str(exc)) from None
    executor = "dask" if args.scheduler else args.executor
    start = time.perf_counter()
    try:  # Ctrl-C during any of the runs: nothing written
        try:
            outcome = run_experiment(spec, args.store, executor, args.workers, args.scheduler,
                                     progress=not args.no_progress,
                                     allow_version_change=args.allow_version_change)  # fmt: skip
        except StoreError as exc:
            raise UsageError(str(exc)) from None
        psa = psa_detail = goals_psa = curve_result = None
        if curve_plan is not None:
            curve_runs = run_experiment(curve_plan[0], None, executor, args.workers, args.scheduler,
                                        progress=not args.no_progress).runs  # fmt: skip
            sim = spec.scenarios[0].scenario.simulation
            per_year = 365.0 / max(1, sim.horizon_days - sim.warmup_days)
            curve_result = curve_data(curve_plan[0], curve_plan[1], curve_runs, curve[0], per_year)
        if args.psa:
            from crisis_sim.analysis.evidence import load_evidence
            from crisis_sim.analysis.psa import build_psa_spec, psa_document, psa_for_report, psa_tables
            from crisis_sim.outcomes import KEY_METRICS

            evidence = load_evidence(args.evidence)
            plan = build_psa_spec(spec, evidence, args.psa, posterior)
            psa_outcome = run_experiment(plan.spec, None, executor, args.workers, args.scheduler,
                                         progress=not args.no_progress)  # fmt: skip
            psa_runs = psa_outcome.runs
            try:
                result = psa_tables(plan, psa_runs, list(KEY_METRICS), series=psa_outcome.series,
                                    discount=args.discount)  # fmt: skip
            except DiscountError as exc:
                raise UsageError(str(exc)) from None
            psa = psa_for_report(result)
            psa_detail = {**psa_document(result, evidence), **posterior_document(args.posterior, posterior)}
            goals_psa = (*psa_as_replications(plan.index, plan.strategies, spec.replications, psa_runs,
                                              psa_outcome.series), args.psa)  # fmt: skip
    except Interrupted:
        print("crisis-sim: interrupted; no report was written", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - start
    command = shlex.join(["crisis-sim", *sys.argv[1:]]) if sys.argv[1:] else ""
    try:
        text, data = build_report_with_data(spec, outcome.runs, outcome.series, command=command, elapsed_s=elapsed,
                                            psa=psa, goals=goals, psa_detail=psa_detail, weights=weights,
                                            weights_source=weights_source, rank_by=args.rank_by, goals_psa=goals_psa,
                                            coverage_curve=curve_result, targets=args.targets,
                                            exploration=exploration, discount=args.discount)  # fmt: skip
    except GoalError as exc:
        raise UsageError(str(exc) if str(exc).startswith(("goals file", "scenario file")) or not args.goals
                         else f"{args.goals}: {exc}") from None
    except DiscountError as exc:  # a store written before monthly costs were kept
        raise UsageError(f"{args.store}: {exc}") from None
    data["command"] = command
    json_path = write_report(json_path_for(args.out), dumps(data))
    path = write_report(args.out, text)
    print(f"report written to {path} ({len(text) / 1e6:.1f} MB, {elapsed:.0f} s of simulation); its numbers in "
          f"{json_path}")
    return 0


def _exploration(args: argparse.Namespace) -> dict | None:
    """The --design / --robustness folders' numbers (report/exploration.py), or None."""
    if not (args.design or args.robustness):
        return None
    from crisis_sim.report.exploration import ExplorationError, load_design, load_robustness

    try:
        return {"design": load_design(args.design) if args.design else None,
                "robustness": load_robustness(args.robustness) if args.robustness else None}  # fmt: skip
    except ExplorationError as exc:
        raise UsageError(str(exc)) from None
