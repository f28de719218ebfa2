"""Design search and robustness throughput: a T-trial design search and an E-experiment robustness run on the small
district, process pool vs Dask.

    .venv/bin/python benchmarks/bench_design.py --trials 200 --experiments 500 --replications 2 --days 120

Both go through the real path (``run_design`` / ``run_robustness``: Optuna or EMA → one ``run_batch`` per trial or
experiment → Parquet stores), each in a fresh temporary folder, with ``--workers`` workers. Prints per executor the
wall time, the runs done and runs/s, and the mean in-worker run time (``wall_s`` of each run, read back from the
stores) so that the share of wall time spent outside the model (executor start-up per batch, the sampler, store
writes) can be read off. The design search uses the levers below (mobile crisis teams and start hour on the small
district) without a confirmation re-run. A figure script, not an assertion: state the machine load beside the
figures (printed before and after each phase).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "scenarios" / "small_district.toml")
LEVERS = """
constraints = ["specialized_coverage >= 0.5"]
[[levers]]
name = "teams"
path = "programs.mobile_crisis.teams"
type = "int"
low = 1
high = 3
unit_cost = 150000.0
source = "assumption: benchmark only"
[[levers]]
name = "start_hour"
path = "programs.mobile_crisis.start_hour"
type = "real"
low = 8.0
high = 14.0
source = "assumption: benchmark only"
[[objectives]]
metric = "annual_cost"
direction = "minimize"
[[objectives]]
metric = "specialized_coverage"
direction = "maximize"
"""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover
        return "n/a"


def run_seconds(folder: Path) -> tuple[int, float]:
    """Runs stored under ``folder`` (every results store below it) and their summed in-worker time."""
    parts = list(folder.glob("**/runs/*.parquet"))
    if not parts:
        return 0, 0.0
    runs = pd.concat([pd.read_parquet(p, columns=["wall_s"]) for p in parts])
    return len(runs), float(runs["wall_s"].sum())


def bench_design(executor: str, args, tmp: Path) -> dict:
    from crisis_sim.analysis.design_run import run_design

    levers = tmp / "levers.toml"
    levers.write_text(LEVERS, encoding="utf-8")
    out = tmp / f"design-{executor}"
    before = loadavg()
    t0 = time.perf_counter()
    result = run_design(SMALL, str(levers), args.trials, args.replications, out, days=args.days,
                        executor=executor, workers=args.workers, population=args.population,
                        confirm_replications=0, plots=False)  # fmt: skip
    wall = time.perf_counter() - t0
    n, busy = run_seconds(out / "designs")
    return {"what": f"design {args.trials} trials", "executor": executor, "workers": args.workers, "wall_s": wall,
            "runs": result.doc["runs_now"], "stored_runs": n, "runs_per_s": result.doc["runs_now"] / wall,
            "mean_run_s": busy / n if n else None, "pareto": len(result.doc["pareto"]),
            "load_before": before, "load_after": loadavg()}  # fmt: skip


def bench_robustness(executor: str, args, tmp: Path) -> dict:
    from crisis_sim.analysis.robustness_run import run_robustness

    out = tmp / f"robustness-{executor}"
    before = loadavg()
    t0 = time.perf_counter()
    result = run_robustness([SMALL], str(ROOT / "robustness" / "small_district.toml"), args.experiments,
                            args.replications, out, days=args.days, executor=executor, workers=args.workers,
                            plots=False)  # fmt: skip
    wall = time.perf_counter() - t0
    n, busy = run_seconds(out / "experiments")
    return {"what": f"robustness {args.experiments} experiments", "executor": executor, "workers": args.workers,
            "wall_s": wall, "runs": result.doc["runs_now"], "stored_runs": n,
            "runs_per_s": result.doc["runs_now"] / wall, "mean_run_s": busy / n if n else None,
            "load_before": before, "load_after": loadavg()}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--experiments", type=int, default=500)
    p.add_argument("--replications", type=int, default=2)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--executors", nargs="+", default=["processes", "dask"])
    p.add_argument("--only", choices=["design", "robustness"], default=None)
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--pool-per-batch", action="store_true",
                   help="start an executor for every trial/experiment (the behaviour before the shared pool), "
                   "for a before/after comparison")  # fmt: skip
    args = p.parse_args()
    if args.pool_per_batch:
        from crisis_sim.analysis.design import SharedPool

        SharedPool.get = lambda self: None  # run_batch then makes (and closes) its own executor each time
    print(f"small_district, {args.days} days, {args.replications} replications, {args.workers} workers"
          f"{', an executor per batch' if args.pool_per_batch else ', one executor per command'}; "
          f"cpus {os.cpu_count()}; load {loadavg()}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for executor in args.executors:
            if args.only in (None, "design"):
                rows.append(bench_design(executor, args, Path(d)))
                print(json.dumps(rows[-1]), flush=True)
            if args.only in (None, "robustness"):
                rows.append(bench_robustness(executor, args, Path(d)))
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'what':<28} {'executor':<10} {'wall':>8} {'runs':>5} {'runs/s':>7} {'mean run':>9} {'load before/after'}")
    for r in rows:
        print(f"{r['what']:<28} {r['executor']:<10} {r['wall_s']:>7.1f}s {r['runs']:>5} {r['runs_per_s']:>7.2f} "
              f"{(r['mean_run_s'] or 0):>8.3f}s  {r['load_before']} / {r['load_after']}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
