"""``crisis-sim dashboard [--port P]``: the coordinators' local web app on 127.0.0.1 (docs/dashboard.md)."""

from __future__ import annotations

import argparse

from crisis_sim.cli.common import UsageError, add_run_options, default_workers, positive


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="a local web app for coordinators: pick a scenario, switch programs, add events, run, read",
        description="Serve the dashboard on http://127.0.0.1:PORT/ (only this computer: it has no "
        "authentication, so it never listens on the network, and it answers only its own page). It needs no "
        "internet: the page, its script and its charts are served by crisis_sim itself. Runs go to a background "
        "process pool; stop with Ctrl-C.",
    )
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind: 127.0.0.1, the only value accepted (kept for scripts that pass it)")  # fmt: skip
    add_run_options(p)  # --seed, --days: the page's starting values (each run can change them)
    p.add_argument("--workers", type=positive("workers"), default=default_workers(),
                   help="worker processes for runs (default: the CPUs available)")  # fmt: skip
    p.add_argument("--scenarios-dir", default=None, metavar="DIR",
                   help="folder of base scenarios to offer (default: the built-in scenarios, crisis-sim scenarios)")  # fmt: skip
    p.add_argument(
        "--no-browser", action="store_true", help="accepted for scripts; the browser is never opened"
    )
    p.set_defaults(func=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    from crisis_sim.dashboard.server import serve

    if args.host != "127.0.0.1":
        raise UsageError(
            f"--host: the dashboard listens on 127.0.0.1 only (it has no authentication), found {args.host!r}; "
            "to use it from another computer, forward a port over SSH (docs/dashboard.md)"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: expected 0-65535, found {args.port}")
    try:
        serve(
            args.host,
            args.port,
            workers=args.workers,
            scenarios_dir=args.scenarios_dir,
            defaults={"seed": args.seed, "days": args.days},
        )
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
