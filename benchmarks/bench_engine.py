"""Engine benchmark: one simulated year of a scenario against a bare SimPy M/M/c loop, in the same process.

The bare loop is the floor for "SimPy with a process per customer": a source process, a ``simpy.Store`` of server
tokens, pre-drawn numpy randomness, and no model logic. It is sized to process about as many SimPy events as the
model did, so both event rates are measured over the same amount of work. The ratio model/bare says how much of
SimPy's raw speed the model keeps; the wall time says whether a year is fast enough to run thousands of
replications.

Usage (from the repository root, with the project's virtual environment)::

    .venv/bin/python benchmarks/bench_engine.py                      # baseline city, one year, 3 repeats
    .venv/bin/python benchmarks/bench_engine.py --days 30 --repeats 1

This is a script that prints figures; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

from crisis_sim.model.clock import CountingEnvironment
from crisis_sim.outcomes import build_ledger
from crisis_sim.scenario.loader import load_scenario, with_overrides
from crisis_sim.sim import CrisisModel

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "baseline_midsize_city.toml"
EVENTS_PER_CUSTOMER = 6  # source timeout, process start, get, service timeout, put, process end


def bare_events(n_events: int) -> int:
    """Events the bare loop processes, counted once in an untimed run (counting slows SimPy's loop)."""
    return _bare(n_events, CountingEnvironment, timed=False)[0]


def bare_simpy(n_events: int) -> tuple[int, float, float]:
    """M/M/c with a Store of server tokens and a process per customer; returns (events, wall s, CPU s)."""
    _, wall, cpu = _bare(n_events, simpy.Environment, timed=True)
    return bare_events(n_events), wall, cpu


def _bare(
    n_events: int, env_class: type, timed: bool, servers: int = 10, load: float = 0.8, seed: int = 0
) -> tuple[int, float, float]:
    n = max(1, n_events // EVENTS_PER_CUSTOMER)
    g = np.random.default_rng(seed)
    service_rate = 1.0
    gaps = g.exponential(1.0 / (load * servers * service_rate), n).tolist()
    services = g.exponential(1.0 / service_rate, n).tolist()
    env = env_class()
    tokens = simpy.Store(env)
    tokens.items.extend(range(servers))

    def customer(service: float):
        token = yield tokens.get()
        yield env.timeout(service)
        tokens.put(token)

    def source():
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return getattr(env, "processed", -1), wall, cpu


def run_model(scenario) -> dict[str, float]:
    """Build and run the model for the scenario's horizon; then build the ledger once."""
    t0 = time.perf_counter()
    model = CrisisModel(scenario, replication=0, root_seed=0)
    t1, c1 = time.perf_counter(), time.process_time()
    model.run()
    t2, c2 = time.perf_counter(), time.process_time()
    ledger = build_ledger(model)
    t3 = time.perf_counter()
    counted = CrisisModel(scenario, replication=0, root_seed=0, count_events=True).run()  # untimed: counting costs
    return {
        "events": counted.events_processed,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "run_cpu_s": c2 - c1,
        "ledger_s": t3 - t2,
        "calls": len(ledger),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--scenario", default=str(DEFAULT_SCENARIO), help="scenario TOML (default: baseline city)"
    )
    ap.add_argument("--days", type=int, default=None, help="simulated days (default: the scenario's horizon)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each; medians are reported (default 3)")
    args = ap.parse_args(argv)

    scenario = load_scenario(args.scenario)
    if args.days is not None:
        warm = min(scenario.simulation.warmup_days, args.days // 2)
        scenario = with_overrides(
            scenario, {"simulation.horizon_days": args.days, "simulation.warmup_days": warm}
        )
    days = scenario.simulation.horizon_days

    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SimPy {simpy.__version__}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print(f"scenario: {scenario.name} ({args.scenario}), {days} days, replication 0, seed 0, "
          f"{args.repeats} repeat(s)")  # fmt: skip

    model_runs, bare_runs = [], []
    for rep in range(args.repeats):  # interleaved, so background load hits both alike
        gc.collect()
        m = run_model(scenario)
        gc.collect()
        b_events, b_wall, b_cpu = bare_simpy(m["events"])
        model_runs.append(m)
        bare_runs.append({"events": b_events, "wall_s": b_wall, "cpu_s": b_cpu})
        print(f"  repeat {rep + 1}: model {m['events']:,} events in {m['run_s']:.3f} s (CPU {m['run_cpu_s']:.3f} s; "
              f"+ build {m['build_s']:.3f} s, ledger {m['ledger_s']:.3f} s); "
              f"bare SimPy {b_events:,} events in {b_wall:.3f} s (CPU {b_cpu:.3f} s)")  # fmt: skip

    med = statistics.median
    m_events, calls = model_runs[0]["events"], model_runs[0]["calls"]
    b_events = bare_runs[0]["events"]
    m_run = med(r["run_s"] for r in model_runs)
    m_build = med(r["build_s"] for r in model_runs)
    m_ledger = med(r["ledger_s"] for r in model_runs)
    m_rate = med(r["events"] / r["run_s"] for r in model_runs)
    b_rate = med(r["events"] / r["wall_s"] for r in bare_runs)
    m_rate_cpu = med(r["events"] / r["run_cpu_s"] for r in model_runs)
    b_rate_cpu = med(r["events"] / r["cpu_s"] for r in bare_runs)
    customers = b_events / EVENTS_PER_CUSTOMER
    print(f"model events/s:      {m_rate:,.0f}  ({m_events:,} SimPy events for {calls:,} calls, "
          f"{m_events / max(calls, 1):.2f} per call)")  # fmt: skip
    print(f"bare SimPy events/s: {b_rate:,.0f}  (M/M/c, Store of tokens, {b_events:,} events for "
          f"{customers:,.0f} customers, {EVENTS_PER_CUSTOMER} per customer)")  # fmt: skip
    print(
        f"ratio model/bare:    {m_rate / b_rate:.2f}  (events/s, wall clock; on CPU time {m_rate_cpu / b_rate_cpu:.2f})"
    )
    per_call = (calls / m_run) / (customers / (b_events / b_rate))
    print(f"calls/s vs bare customers/s: {per_call:.2f}")
    print(f"model wall time:     {m_build + m_run:.3f} s for {days} days (build {m_build:.3f} s + run {m_run:.3f} s); "
          f"ledger {m_ledger:.3f} s; total {m_build + m_run + m_ledger:.3f} s")  # fmt: skip
    print(f"peak memory:         {peak_rss_mb():,.0f} MB (peak RSS of this process, ru_maxrss)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
