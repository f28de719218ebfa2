"""Where runs execute: a local process pool (default) or Dask distributed (LocalCluster or a scheduler address).

A task is a *chunk*: a few (scenario, replication) pairs run one after another by :func:`run_chunk`, which calls
:func:`crisis_sim.sim.run_single` and sends back only the summary rows and the monthly series (no ledgers),
so transfer stays small. Every run is a pure function of (scenario, replication, root seed): the results are the
same bit for bit whatever the executor, the number of workers or the chunking.

Workers ignore SIGINT; the driver alone handles Ctrl-C, then stops the workers it started.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from crisis_sim.experiments.store import merge_columns, series_columns, summary_row
from crisis_sim.scenario import Scenario
from crisis_sim.sim import run_single

EXECUTORS = ("processes", "dask")


@dataclass(frozen=True)
class ChunkTask:
    """The unit of work sent to a worker: the scenarios it needs, its pairs, and what to return."""

    scenarios: dict[int, tuple[str, Scenario]]
    pairs: tuple[tuple[int, int], ...]
    root_seed: int
    metrics: tuple[str, ...]
    series: bool = True


ChunkResult = tuple[list[dict[str, Any]], dict[str, list] | None]


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Run every pair of a chunk; return the summary rows (and monthly series in long format)."""
    rows, series = [], []
    for s, r in task.pairs:
        label, scenario = task.scenarios[s]
        result = run_single(scenario, r, task.root_seed)
        rows.append(summary_row(label, s, r, task.root_seed, result.summary, task.metrics))
        if task.series:
            series.append(series_columns(s, r, result.timeseries))
    return rows, (merge_columns(series) if task.series else None)


def _init_worker(driver_pid: int) -> None:
    """Pool worker set-up: leave Ctrl-C to the driver, and exit if the driver dies (kill -9 of the driver
    alone would otherwise leave the workers, and the forkserver they keep open, waiting forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(driver_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="driver-watchdog", daemon=True).start()


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start child processes with SIGINT ignored (an ignored disposition survives fork and exec, and Python
    keeps it), so a Ctrl-C sent to the terminal's process group reaches only the driver, which then stops the
    workers itself. SIGINT is also blocked meanwhile: a Ctrl-C during start-up stays pending and is delivered
    here once the handler is back (Linux keeps blocked signals pending even while ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    old_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


class ProcessExecutor:
    """concurrent.futures.ProcessPoolExecutor on the 'forkserver' context (preloaded with the model code),
    or 'spawn' where forkserver is unavailable; never 'fork' (threads in the driver)."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = int(workers)
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["crisis_sim.experiments.executors"])
        else:  # pragma: no cover - not Linux
            ctx = mp.get_context("spawn")
        self._other_children = set(mp.active_children())  # processes this pool did not start
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        pending: set[Future] = {self.pool.submit(fn, t) for t in tasks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()

    def abort(self) -> None:
        """Drop queued chunks and stop the running ones now (their work is lost, finished chunks are kept)."""
        processes = [p for p in mp.active_children() if p not in self._other_children]  # this pool's workers
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """dask.distributed: a LocalCluster of single-threaded worker processes, or an existing scheduler
    (``--scheduler tcp://host:8786``, e.g. one started by dask-jobqueue on SLURM/PBS)."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None = None):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            with _workers_ignore_sigint():
                self.cluster = LocalCluster(
                    n_workers=int(workers),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.cluster)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or int(workers)
        self._futures: list[Any] = []

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        from dask.distributed import as_completed

        self._futures = [self.client.submit(fn, t, pure=False) for t in tasks]
        for fut in as_completed(self._futures):
            result = fut.result()
            fut.release()
            yield result

    def abort(self) -> None:
        if self._futures:
            self.client.cancel(self._futures)
        self.close()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(kind: str, workers: int, scheduler: str | None = None) -> ProcessExecutor | DaskExecutor:
    if scheduler or kind == "dask":
        return DaskExecutor(workers, scheduler)
    if kind == "processes":
        return ProcessExecutor(workers)
    raise ValueError(f"expected an executor in {EXECUTORS}, found {kind!r}")
