"""Run the missing part of an experiment into its store, with a progress bar and a clean Ctrl-C."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crisis_sim.experiments.executors import ChunkTask, make_executor, run_chunk
from crisis_sim.experiments.spec import ExperimentSpec
from crisis_sim.experiments.store import ResultStore


class Interrupted(Exception):
    """Ctrl-C during a batch; finished chunks are on disk."""

    def __init__(self, done: int, total: int):
        super().__init__(f"interrupted with {done} of {total} runs done")
        self.done, self.total = done, total


@dataclass
class BatchReport:
    total: int
    already_done: int
    ran: int
    chunks: int
    chunk_size: int


def default_chunk_size(n_missing: int, workers: int) -> int:
    """About eight chunks per worker (the last chunks leave workers idle for at most one chunk), at most 5 runs
    so a kill loses little; writing a chunk costs a few milliseconds."""
    return max(1, min(5, math.ceil(n_missing / max(1, 8 * workers))))


def make_tasks(
    spec: ExperimentSpec, pairs: list[tuple[int, int]], chunk_size: int, series: bool = True
) -> list[ChunkTask]:
    tasks = []
    for i in range(0, len(pairs), chunk_size):
        chunk = tuple(pairs[i : i + chunk_size])
        needed = {
            s: (spec.scenarios[s].label, spec.scenarios[s].scenario) for s in sorted({s for s, _ in chunk})
        }
        tasks.append(ChunkTask(needed, chunk, spec.root_seed, spec.metrics, series))
    return tasks


def run_batch(
    store: ResultStore,
    executor: str = "processes",
    workers: int = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    on_chunk: Callable[[str], None] | None = None,
    on_pool: Callable[[Any], None] | None = None,
    pool: Any | None = None,
) -> BatchReport:
    """Run every pair of ``store.spec`` not yet in the store; raise :class:`Interrupted` on Ctrl-C.

    ``on_chunk`` is told the name of each chunk written; ``on_pool`` is handed the executor once it exists, so that
    another thread can stop the batch at once with its ``abort()`` (the dashboard's cancel). ``pool``: an executor
    already made by ``make_executor`` to run on instead of starting one (a study running many small batches pays the
    start-up once); it is left open, and on Ctrl-C not aborted: its owner closes or aborts it."""
    spec = store.spec
    total = len(spec.pairs())
    missing = store.missing_pairs()
    already = total - len(missing)
    size = chunk_size or default_chunk_size(len(missing), workers)
    if not missing:
        return BatchReport(total, already, 0, 0, size)
    tasks = make_tasks(spec, missing, size)
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, unit="run", file=sys.stderr, disable=not progress, dynamic_ncols=True,
               desc="runs", smoothing=0.1)  # fmt: skip
    owned = pool is None
    ran = 0
    try:
        if owned:
            pool = make_executor(executor, workers, scheduler)
        if on_pool:
            on_pool(pool)
        for rows, series in pool.run(run_chunk, tasks):
            name = store.write_chunk(rows, series)
            ran += len(rows)
            bar.update(len(rows))
            if on_chunk:
                on_chunk(name)
    except KeyboardInterrupt:
        bar.close()
        if pool is not None and owned:
            pool.abort()
            pool = None
        raise Interrupted(store.count_on_disk(), total) from None
    finally:
        bar.close()
        if pool is not None and owned:
            pool.close()
    return BatchReport(total, already, ran, len(tasks), size)
