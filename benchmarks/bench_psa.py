"""Cost of a probabilistic sensitivity analysis (issue 12 item 8): S strategies × N evidence draws × R replications on
the mid-size city, process pool vs Dask.

    .venv/bin/python benchmarks/bench_psa.py --draws 100 --replications 2          # the issue's full size
    .venv/bin/python benchmarks/bench_psa.py --draws 10 --replications 2 --executors processes

The PSA goes through the real path of ``crisis-sim compare --psa N``: ``build_spec`` → ``build_psa_spec`` (N
quasi-random joint draws from ``evidence/default.toml``, applied identically to every strategy, plus each strategy
once at its point values) → a fresh ``ResultStore`` → ``run_batch`` on the executor → ``psa_tables`` (paired
differences, probability best, cost-effectiveness, EVPPI). So a PSA of N draws runs (N + 1) × S × R simulations.
Prints per executor: executor start-up included wall time of the batch, the analysis time, runs, runs/s and the
mean in-worker run time (``wall_s`` of each run, the load gauge). The default strategies are the five options of
``make run`` for the mid-size city (police as usual, + CIT, + co-response, + a mobile crisis team, the mixed city);
``--strategies`` takes any scenario arguments (files, built-in names, variants). A figure script, not an assertion:
state the machine load beside the figures (printed before and after each phase).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"
CITY = str(SCEN / "baseline_midsize_city.toml")
STRATEGIES = [  # the five options of `make run` (README): police as usual, CIT, co-response, mobile team, mixed city
    CITY,
    f"{CITY}::cit:programs.cit={{}}",
    f"{CITY}::co_response:programs.co_response={{}}",
    f"{CITY}::mobile_crisis:programs.mobile_crisis={{}}",
    str(SCEN / "mixed_city.toml"),
]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover
        return "n/a"


def bench(executor: str, args) -> dict:
    from crisis_sim.analysis.evidence import load_evidence
    from crisis_sim.analysis.psa import build_psa_spec, psa_tables
    from crisis_sim.experiments import ResultStore, run_batch
    from crisis_sim.experiments.spec import build_spec, parse_scenario_arg
    from crisis_sim.outcomes import KEY_METRICS

    requests = [parse_scenario_arg(s) for s in args.strategies]
    base = build_spec(requests, args.replications, args.seed, args.days)
    plan = build_psa_spec(base, load_evidence(args.evidence), args.draws)
    before = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-psa-") as d:
        t0 = time.perf_counter()
        with ResultStore(Path(d), plan.spec) as store:
            report = run_batch(store, executor, args.workers, None, None, progress=not args.no_progress)
            runs = store.read_runs()
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = psa_tables(plan, runs, list(KEY_METRICS), ["arrests"])
        analysis = time.perf_counter() - t1
    mean_run = float(runs["wall_s"].mean())
    return {"executor": executor, "workers": args.workers, "strategies": len(plan.strategies),
            "draws": args.draws, "replications": args.replications, "days": args.days, "runs": report.ran,
            "batch_wall_s": wall, "analysis_s": analysis, "runs_per_s": report.ran / wall, "mean_run_s": mean_run,
            "sum_run_s": float(runs["wall_s"].sum()), "evidence_entries_applied": len(plan.applied),
            "prob_best_arrests": {str(r.strategy): float(r.prob_best) for r in
                                  result.summary[result.summary["metric"] == "arrests"].itertuples()},
            "load_before": before, "load_after": loadavg()}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--replications", type=int, default=2)
    p.add_argument("--days", type=int, default=None, help="shorten the horizon (default: the scenario's own)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--evidence", default=None, help="evidence file (default: the packaged evidence/default.toml)")
    p.add_argument("--strategies", nargs="+", default=STRATEGIES, metavar="SCENARIO")
    p.add_argument("--executors", nargs="+", default=["processes", "dask"])
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args()
    print(f"PSA: {len(args.strategies)} strategies x {args.draws} draws (+ point values) x {args.replications} "
          f"replications, days {args.days or 'scenario horizon'}, {args.workers} workers; cpus {os.cpu_count()}; "
          f"load {loadavg()}", flush=True)  # fmt: skip
    rows = []
    for executor in args.executors:
        rows.append(bench(executor, args))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'executor':<10} {'runs':>5} {'batch wall':>11} {'analysis':>9} {'runs/s':>7} {'mean run':>9}  load before/after")
    for r in rows:
        print(f"{r['executor']:<10} {r['runs']:>5} {r['batch_wall_s']:>10.1f}s {r['analysis_s']:>8.1f}s "
              f"{r['runs_per_s']:>7.2f} {r['mean_run_s']:>8.3f}s  {r['load_before']} / {r['load_after']}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
