"""``crisis-sim check-queue``: the engine as an M/M/c queue beside Erlang C's exact values."""

from __future__ import annotations

import argparse
import json

from crisis_sim.analysis.queueing import check_queue
from crisis_sim.cli.common import UsageError, jsonable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-queue",
        help="validate dispatch against Erlang C (M/M/c)",
        description="Run the model configured as an M/M/c system through its own dispatch path (one district, "
        "Poisson calls, exponential on-scene time, no travel, no hand-off) and print the simulated mean wait "
        "and P(wait) with 95%% confidence intervals (batch means) beside Erlang C's values. Rates are per hour; "
        "waits are in minutes.",
    )
    p.add_argument("--arrival-rate", type=float, required=True, metavar="L", help="calls per hour")
    p.add_argument(
        "--service-rate", type=float, required=True, metavar="M", help="calls one unit clears per hour"
    )
    p.add_argument("--servers", type=int, required=True, metavar="C", help="patrol units")
    p.add_argument(
        "--customers", type=int, default=50_000, metavar="N", help="calls to measure (default 50000)"
    )
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    if args.arrival_rate <= 0 or args.service_rate <= 0:
        raise UsageError("--arrival-rate and --service-rate: expected positive rates")
    if args.servers < 1 or args.customers < 100:
        raise UsageError(
            f"expected --servers >= 1 and --customers >= 100, found {args.servers} and {args.customers}"
        )
    try:
        r = check_queue(args.arrival_rate, args.service_rate, args.servers, args.customers, args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(jsonable(r)))
        return 0
    lo, hi = r["sim_mean_wait_ci"]
    plo, phi = r["sim_p_wait_ci"]
    print(f"M/M/{r['servers']}  arrivals {r['arrival_rate_per_hour']:g}/h  service {r['service_rate_per_hour']:g}/h"
          f"  customers {r['customers']:,}")  # fmt: skip
    print(f"  mean wait  simulated {r['sim_mean_wait']:.3f} min (95% CI {lo:.3f}-{hi:.3f})   "
          f"Erlang C {r['erlang_mean_wait']:.3f} min")  # fmt: skip
    print(
        f"  P(wait)    simulated {r['sim_p_wait']:.4f} (95% CI {plo:.4f}-{phi:.4f})   Erlang C {r['erlang_p_wait']:.4f}"
    )
    return 0
