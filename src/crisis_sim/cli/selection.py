"""``crisis-sim selection-effect SCENARIO``: outreach clients' calls before and after selection, with the program
and in the paired no-program arm (how much of a pre–post drop is regression to the mean)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crisis_sim.cli.common import (
    UsageError,
    add_run_options,
    jsonable,
    load_for_run,
    positive,
    write_atomically,
)
from crisis_sim.experiments.executors import EXECUTORS
from crisis_sim.provenance import provenance


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "selection-effect",
        help="outreach clients' calls before/after selection vs the same persons without the program",
        description="Run SCENARIO (with [programs.outreach] enabled) and the same scenario with outreach off, for "
        "the same replications and seed (common random numbers). For every client with a full window on both "
        "sides of the index date (selection, or the first home visit), count their MH calls in the window before "
        "and after, in both arms. Prints the pre-post change with the program (what a pre-post evaluation "
        "reports), the pre-post change of the same persons without it (regression to the mean) and the paired "
        "effect (after, program vs no program), with t-intervals over replications. The scenario's horizon must "
        "be at least twice the window (docs/mechanisms.md).",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file or built-in scenario name")
    add_run_options(p)
    p.add_argument("--replications", "-R", type=positive("replications"), default=4,
                   help="paired replications (default 4)")  # fmt: skip
    p.add_argument("--window-days", type=positive("days"), default=365,
                   help="length of the window before and after the index date (default 365)")  # fmt: skip
    p.add_argument("--index", choices=("selection", "first_visit"), default="selection",
                   help="index date: selection (referral or list) or the first home visit (default selection)")  # fmt: skip
    p.add_argument("--executor", choices=EXECUTORS, default="processes", help="where runs execute (default processes)")
    p.add_argument("--workers", type=positive("workers"), default=1, help="worker processes (default 1: in this one)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (implies --executor dask)")
    p.add_argument("--clients-csv", metavar="FILE", help="also write the per-client counts here (CSV)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f}%"


def _interval(pair: list) -> str:
    lo, hi = pair
    return "" if lo is None else f" [{100 * lo:+.1f}%, {100 * hi:+.1f}%]"


def _run(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.selection import selection_effect

    scenario = load_for_run(args.scenario, args.days)
    try:
        summary, per_client = selection_effect(
            scenario, args.replications, args.seed, args.window_days, args.index, args.executor, args.workers,
            args.scheduler,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(f"{args.scenario}: {exc}") from None
    summary["provenance"] = provenance()
    if args.clients_csv:
        dest = Path(args.clients_csv)
        write_atomically(dest.parent, {dest.name: lambda p: per_client.to_csv(p, index=False)})
    if args.json:
        print(json.dumps(jsonable(summary)))
        return 0
    s, iv = summary, summary["interval"]
    w = args.window_days
    print(f"{s['scenario']}: outreach selection '{s['selection']}', index date = {s['index']}, {w}-day windows, "
          f"{s['replications']} paired replications (seed {args.seed})")  # fmt: skip
    if not s["clients"]:
        print("  no client has a full window on both sides of the index date (lengthen the horizon)")
        return 0
    print(f"  clients {s['clients']:,}; MH calls per client before -> after the index date:")
    print(f"    with the program     {s['mean_before_program']:.2f} -> {s['mean_after_program']:.2f}  "
          f"pre-post {_pct(s['prepost_program'])}{_interval(iv['prepost_program'])}")  # fmt: skip
    print(f"    same persons, none   {s['mean_before_none']:.2f} -> {s['mean_after_none']:.2f}  "
          f"pre-post {_pct(s['prepost_none'])}{_interval(iv['prepost_none'])}  (regression to the mean)")  # fmt: skip
    print(f"  paired effect after the index date: {_pct(s['effect'])}{_interval(iv['effect'])} "
          f"({s['effect_per_client']:+.2f} calls per client)")  # fmt: skip
    if args.clients_csv:
        print(f"wrote {args.clients_csv}")
    return 0
