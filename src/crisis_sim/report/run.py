"""Run an experiment for the report or the dashboard with the experiment engine (spec → store → run_batch),
and read back what a report needs. No second runner: this is the same path as ``crisis-sim compare``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crisis_sim.experiments.runner import run_batch
from crisis_sim.experiments.spec import ExperimentSpec
from crisis_sim.experiments.store import ResultStore, read_series


@dataclass
class Outcome:
    spec: ExperimentSpec
    runs: pd.DataFrame
    series: pd.DataFrame


def run_experiment(
    spec: ExperimentSpec,
    store_dir: str | Path | None = None,
    executor: str = "processes",
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    allow_version_change: bool = False,
) -> Outcome:
    """Run every missing (scenario, replication) into ``store_dir`` (a temporary store deleted afterwards when
    None) and return the runs and the monthly series. ``on_progress(done, total)`` after each stored chunk. A
    store made by another crisis_sim version is refused unless ``allow_version_change``."""
    tmp = None if store_dir else tempfile.mkdtemp(prefix="crisis-sim-report-")
    root = Path(store_dir or tmp)
    try:
        with ResultStore(root, spec, allow_version_change=allow_version_change) as store:
            total = len(spec.pairs())

            def chunk_done(_name: str) -> None:
                if on_progress:
                    on_progress(store.count_on_disk(), total)

            if on_progress:
                on_progress(store.count_on_disk(), total)
            run_batch(store, executor, workers, scheduler, None, progress=progress, on_chunk=chunk_done)
            runs = store.read_runs()
        series = read_series(root)
        return Outcome(spec, runs, series)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def jsonable_result(result: dict[str, Any]) -> dict[str, Any]:
    from crisis_sim.serialize import jsonable

    return jsonable(result)
