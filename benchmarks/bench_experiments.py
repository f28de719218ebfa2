"""Experiment throughput: a batch of runs on 1 and 2 workers with the process pool and with Dask.

    .venv/bin/python benchmarks/bench_experiments.py --runs 200 --days 240

Prints, per (executor, workers): executor start-up, batch wall time, runs/s, the mean in-worker run time
(the ``wall_s`` of each run), the busy fraction (summed run time / (workers x batch time): the share of worker
time spent inside run_single, which machine load distorts less than raw speed-ups), the overhead per run
(worker-seconds beyond the runs themselves, including store writes and idle tails, divided by runs) and the
parallel efficiency (runs/s at N workers over N times runs/s at 1 worker). Batches go through the real path:
chunks, executor, Parquet store. Start-up (forkserver with preloaded model code, or a Dask LocalCluster whose
workers import the model) is measured separately and excluded from the batch time. A ratio script, not an
assertion: state the machine load next to the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:  # pragma: no cover
        return "n/a"


def bench(kind: str, workers: int, spec, chunk_size: int | None) -> dict:
    from crisis_sim.experiments.executors import make_executor, run_chunk
    from crisis_sim.experiments.runner import default_chunk_size, make_tasks
    from crisis_sim.experiments.store import ResultStore

    t0 = time.perf_counter()
    ex = make_executor(kind, workers)
    if kind == "dask":  # workers import the model code before the clock starts
        ex.client.run(importlib.import_module, "crisis_sim.experiments.executors")
    else:
        for fut in [ex.pool.submit(time.sleep, 0.05) for _ in range(workers)]:
            fut.result()
    startup = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d, ResultStore(d, spec) as store:
        size = chunk_size or default_chunk_size(len(spec.pairs()), workers)
        tasks = make_tasks(spec, store.missing_pairs(), size)
        t1 = time.perf_counter()
        for rows, series in ex.run(run_chunk, tasks):
            store.write_chunk(rows, series)
        wall = time.perf_counter() - t1
        runs = store.read_runs()
    ex.close()
    n = len(runs)
    run_s = float(runs["wall_s"].mean())
    return {"executor": kind, "workers": workers, "runs": n, "chunk_size": size, "chunks": len(tasks),
            "startup_s": startup, "wall_s": wall, "runs_per_s": n / wall, "mean_run_s": run_s,
            "overhead_per_run_s": (wall * workers - runs["wall_s"].sum()) / n,
            "busy": runs["wall_s"].sum() / (wall * workers), "load_after": loadavg()}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--days", type=int, default=240)
    p.add_argument("--scenario", default=str(ROOT / "scenarios" / "small_district.toml"))
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--executors", nargs="+", default=["processes", "dask"])
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args()

    from crisis_sim.experiments.spec import ScenarioRequest, build_spec

    spec = build_spec([ScenarioRequest(args.scenario)], args.runs, 0, args.days)
    print(f"{args.runs} runs of {Path(args.scenario).name}, {args.days} days; cpus {os.cpu_count()}; "
          f"load before {loadavg()}", flush=True)  # fmt: skip
    results = []
    for kind in args.executors:
        for w in args.workers:
            r = bench(kind, w, spec, args.chunk_size)
            one = next((x for x in results if x["executor"] == kind and x["workers"] == 1), None)
            r["efficiency"] = r["runs_per_s"] / (w * one["runs_per_s"]) if one else None
            results.append(r)
            eff = f"{100 * r['efficiency']:.0f}%" if r["efficiency"] is not None else "-"
            print(f"{kind:9s} workers={w}  startup {r['startup_s']:.1f} s  batch {r['wall_s']:.1f} s  "
                  f"{r['runs_per_s']:.2f} runs/s  run {r['mean_run_s']:.3f} s  overhead/run "
                  f"{1000 * r['overhead_per_run_s']:.0f} ms  busy {100 * r['busy']:.0f}%  efficiency {eff}  "
                  f"(chunks {r['chunks']} x {r['chunk_size']}; load after {r['load_after']})", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
