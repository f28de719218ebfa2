"""Options and helpers shared by the commands that run simulations."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crisis_sim.scenario import Scenario, load_scenario
from crisis_sim.scenario.loader import shorten_horizon


def add_run_options(p: argparse.ArgumentParser) -> None:
    """--seed and --days mean the same in every command that runs simulations."""
    p.add_argument("--seed", type=int, default=0, help="root seed of the random streams (default 0)")
    p.add_argument("--days", type=positive("days"), default=None,
                   help="simulate N days instead of the scenario's horizon (warm-up shrinks to fit)")  # fmt: skip


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


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any) -> str:
    return json.dumps(jsonable(obj), indent=2, sort_keys=False)


def write_atomically(out_dir: str | Path, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write every file into a temporary folder next to ``out_dir``, then move them in; all or nothing."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        out.mkdir(exist_ok=True)
        for name in writers:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
