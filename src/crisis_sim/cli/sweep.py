"""``crisis-sim sweep SCENARIO (--param PATH=v1,v2 ... | --lhs N --range PATH=lo:hi ...) --replications R``."""

from __future__ import annotations

import argparse
import math
from typing import Any

from crisis_sim.cli.common import UsageError
from crisis_sim.cli.compare import add_experiment_options, execute

SWEEP_METRICS = (
    "arrests",
    "use_of_force",
    "ed_transports",
    "median_response_min",
    "officer_hours_mh",
    "cost_total",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a scenario over a grid or Latin hypercube of parameter values",
        description="Vary schema paths of one scenario: a full grid (--param PATH=v1,v2,..., repeated: cartesian "
        "product) or a Latin hypercube (--lhs N --range PATH=LOW:HIGH, repeated; seeded by --seed; integer bounds "
        "give integers). The unmodified scenario ('base') runs first; every point is compared with it over "
        "common random numbers. Values are TOML literals.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="base scenario: TOML file or built-in name")
    p.add_argument(
        "--param", action="append", default=[], metavar="PATH=V1,V2,...", help="grid values (repeatable)"
    )
    p.add_argument(
        "--lhs", type=int, metavar="N", help="Latin hypercube with N points over the --range bounds"
    )
    p.add_argument(
        "--range", action="append", default=[], metavar="PATH=LOW:HIGH", help="LHS bounds (repeatable)"
    )
    add_experiment_options(p)
    p.set_defaults(func=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from crisis_sim.experiments.spec import SpecError
    from crisis_sim.experiments.sweep import grid_points, lhs_points, parse_param, parse_range, sweep_requests

    try:
        if args.lhs is not None:
            if args.param:
                raise UsageError("use either --param (grid) or --lhs N with --range, not both")
            if not args.range:
                raise UsageError("--lhs N needs at least one --range PATH=LOW:HIGH")
            points = lhs_points([parse_range(t) for t in args.range], args.lhs, args.seed)
        else:
            if args.range:
                raise UsageError("--range needs --lhs N (for a grid use --param PATH=V1,V2,...)")
            if not args.param:
                raise UsageError("give --param PATH=V1,V2,... (grid) or --lhs N --range PATH=LOW:HIGH")
            points = grid_points([parse_param(t) for t in args.param])
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    requests = sweep_requests(args.scenario, points, lhs=args.lhs is not None)
    params = {r.name: dict(r.overrides) for r in requests}
    if not args.metric:
        args.metric = list(SWEEP_METRICS)
    return execute(args, requests, command="sweep", params=params, formatter=format_wide)


def _num(x: Any) -> str:
    from crisis_sim.experiments.compare import fmt_number

    return fmt_number(x)


def format_wide(result: dict[str, Any], replications: int) -> str:
    """One line per point: mean of each metric and, in brackets, the paired difference vs base (* if its 95% CI
    excludes 0)."""
    labels, metrics = result["scenarios"], list(result["metrics"])
    rows = []
    for i, label in enumerate(labels):
        cells = [label]
        for m in metrics:
            v = result["metrics"][m][label]
            cell = _num(v["mean"])
            if i > 0 and v["diff"] is not None and math.isfinite(v["diff"]):
                cell += (
                    f" ({'+' if v['diff'] >= 0 else ''}{_num(v['diff'])}{'*' if v['significant'] else ''})"
                )
            cells.append(cell)
        rows.append(cells)
    heads = ["point", *metrics]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(heads)]
    lines = [f"{len(labels) - 1} points + base x {replications} replications; cells: mean (paired difference vs "
             "base, * = 95% CI excludes 0)"]  # fmt: skip
    lines.append(
        "  ".join(
            h.ljust(w) if k == 0 else h.rjust(w) for k, (h, w) in enumerate(zip(heads, widths, strict=True))
        )
    )
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)
