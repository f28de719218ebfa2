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
                   "option meets each")  # fmt: skip
    p.add_argument("--psa", type=positive("draws"), metavar="N",
                   help="also run a probabilistic sensitivity analysis of N joint draws from the evidence file "
                   "(docs/uncertainty.md): the decision table then shows, beside the run-to-run interval, the "
                   "interval over what we don't know and each option's chance of the fewest arrests")  # fmt: skip
    p.add_argument("--evidence", metavar="FILE",
                   help="evidence file for --psa (default: the packaged evidence/default.toml)")  # fmt: skip
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
    from crisis_sim.report.goals import GoalError, load_goals
    from crisis_sim.report.html import build_report_with_data, write_report
    from crisis_sim.report.run import run_experiment
    from crisis_sim.serialize import dumps

    if args.discount is None:
        args.discount = DEFAULT_DISCOUNT
    if args.evidence and not args.psa:
        raise UsageError("--evidence needs --psa N")
    if not args.out.endswith((".html", ".htm")):
        raise UsageError(f"--out: expected a file name ending in .html, found {args.out!r}")
    try:
        goals = load_goals(args.goals) if args.goals else None
    except GoalError as exc:
        raise UsageError(str(exc)) from None
    try:
        requests = [parse_scenario_arg(text) for text in args.scenarios]
        spec = build_spec(requests, args.replications, args.seed, args.days)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    executor = "dask" if args.scheduler else args.executor
    start = time.perf_counter()
    try:
        outcome = run_experiment(spec, args.store, executor, args.workers, args.scheduler,
                                 progress=not args.no_progress,
                                 allow_version_change=args.allow_version_change)  # fmt: skip
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except Interrupted:
        print("crisis-sim: interrupted; no report was written", file=sys.stderr)
        return 130
    psa = psa_detail = None
    if args.psa:
        from crisis_sim.analysis.evidence import load_evidence
        from crisis_sim.analysis.psa import build_psa_spec, psa_document, psa_for_report, psa_tables
        from crisis_sim.outcomes import KEY_METRICS

        evidence = load_evidence(args.evidence)
        try:
            plan = build_psa_spec(spec, evidence, args.psa)
            psa_runs = run_experiment(plan.spec, None, executor, args.workers, args.scheduler,
                                      progress=not args.no_progress)  # fmt: skip
        except Interrupted:
            print("crisis-sim: interrupted; no report was written", file=sys.stderr)
            return 130
        try:
            result = psa_tables(plan, psa_runs.runs, list(KEY_METRICS), series=psa_runs.series,
                                discount=args.discount)  # fmt: skip
        except DiscountError as exc:
            raise UsageError(str(exc)) from None
        psa, psa_detail = psa_for_report(result), psa_document(result, evidence)
    elapsed = time.perf_counter() - start
    command = shlex.join(["crisis-sim", *sys.argv[1:]]) if sys.argv[1:] else ""
    try:
        text, data = build_report_with_data(spec, outcome.runs, outcome.series, command=command, elapsed_s=elapsed,
                                            psa=psa, goals=goals, psa_detail=psa_detail,
                                            discount=args.discount)  # fmt: skip
    except GoalError as exc:
        raise UsageError(f"{args.goals}: {exc}") from None
    except DiscountError as exc:  # a store written before monthly costs were kept
        raise UsageError(f"{args.store}: {exc}") from None
    data["command"] = command
    json_path = write_report(json_path_for(args.out), dumps(data))
    path = write_report(args.out, text)
    print(f"report written to {path} ({len(text) / 1e6:.1f} MB, {elapsed:.0f} s of simulation); its numbers in "
          f"{json_path}")
    return 0
