"""The ``crisis-sim`` command line. Each subcommand lives in its own module and registers itself in COMMANDS.

User errors (bad scenario, bad option) print one readable line per problem on stderr and exit with status 2;
nothing is written when a run fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from crisis_sim.cli.common import EXIT_USAGE, UsageError
from crisis_sim.scenario import ScenarioError


def _commands() -> list[tuple[str, Callable[[argparse._SubParsersAction], None]]]:
    # Imported here so that `crisis-sim --help` stays fast and each command owns its module.
    from crisis_sim.cli import (
        calibrate,
        check_queue,
        compare,
        dashboard,
        design,
        ems_check,
        ingest,
        report,
        robustness,
        run,
        scenarios,
        selection,
        sensitivity,
        sweep,
        validate,
    )

    return [("run", run.register), ("validate", validate.register), ("scenarios", scenarios.register),
            ("check-queue", check_queue.register),
            ("compare", compare.register), ("sweep", sweep.register), ("calibrate", calibrate.register),
            ("sensitivity", sensitivity.register), ("report", report.register), ("dashboard", dashboard.register),
            ("ingest", ingest.register),
            ("design", design.register), ("robustness", robustness.register),
            ("ems-check", ems_check.register), ("selection-effect", selection.register)]  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 already; keep its one-line style without the usage dump
        self.exit(EXIT_USAGE, f"crisis-sim: error: {message}\n")


def version_line() -> str:
    """``crisis-sim 0.1.0`` plus ``(commit abc1234)`` when the package is imported from a git checkout."""
    from crisis_sim.provenance import describe

    return describe().replace("crisis_sim", "crisis-sim", 1)


class _VersionAction(argparse.Action):
    """--version, asking git only when it is given (so other commands do not pay for it)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crisis-sim",
        description="Simulate police-mental-health crisis response systems from scenario files (TOML).",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print the crisis_sim version (and git commit when run from a checkout)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for _name, register in _commands():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"crisis-sim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("crisis-sim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
