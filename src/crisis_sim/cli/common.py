"""Options and helpers shared by the commands that run simulations."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from crisis_sim.scenario import Scenario, load_scenario
from crisis_sim.scenario.loader import shorten_horizon
from crisis_sim.serialize import dumps, jsonable, write_atomically  # noqa: F401  (re-exported for the commands)

EXIT_USAGE = 2


class UsageError(Exception):
    """A bad command-line value; printed as one line, exit status 2."""


def add_run_options(p: argparse.ArgumentParser) -> None:
    """--seed and --days mean the same in every command that runs simulations."""
    p.add_argument("--seed", type=int, default=0, help="root seed of the random streams (default 0)")
    p.add_argument("--days", type=positive("days"), default=None,
                   help="simulate N days instead of the scenario's horizon (warm-up shrinks to fit)")  # fmt: skip


def add_version_change_option(p: argparse.ArgumentParser, what: str = "results store") -> None:
    """--allow-version-change for every command that resumes a store or study."""
    p.add_argument("--allow-version-change", action="store_true",
                   help=f"resume a {what} made by another crisis_sim version or git commit (refused otherwise: "
                   "results of different model versions would be mixed)")  # fmt: skip


def positive(kind: str) -> Callable[[str], int]:
    """An argparse type for a whole number >= 1 of ``kind`` (plural noun), with a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {kind}, found {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected at least 1 {kind.rstrip('s')}, found {value}")
        return value

    return parse


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_for_run(path: str, days: int | None) -> Scenario:
    """Load a scenario and apply --days (shortening warm-up to under half the horizon if needed)."""
    return shorten_horizon(load_scenario(path), days, label=path)
