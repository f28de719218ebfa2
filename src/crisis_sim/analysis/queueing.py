"""Validation against queueing theory: the engine configured as M/M/c, compared with Erlang C.

The scenario built here goes through the model's own dispatch path (district patrol store, FIFO among waiting
calls): one district, Poisson calls at a flat rate, exponential time on scene, no travel, no hand-off, no MH calls.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from crisis_sim.scenario.loader import validate_raw
from crisis_sim.scenario.schema import Scenario


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """(P(wait), mean wait) for M/M/c, in the time unit of the rates."""
    a = arrival_rate / service_rate
    rho = a / servers
    if rho >= 1:
        return 1.0, math.inf
    # Numerically stable Erlang B recursion, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = a * b / (k + a * b)
    c = b / (1 - rho + rho * b)
    return c, c / (servers * service_rate - arrival_rate)


def mmc_scenario(arrival_rate_per_hour: float, service_rate_per_hour: float, servers: int, customers: int) -> Scenario:
    days = math.ceil(customers / (24 * arrival_rate_per_hour) * 1.1) + 2
    raw = {
        "name": f"mmc_{arrival_rate_per_hour:g}_{service_rate_per_hour:g}_{servers}",
        "description": "M/M/c check: Poisson calls, exponential on-scene time, no travel, no hand-off.",
        "simulation": {"horizon_days": days, "warmup_days": 0},
        "city": {
            "population": 1000,
            "districts": [
                {"name": "only", "population_share": 1.0, "travel_time": {"kind": "fixed", "minutes": 0.0},
                 "patrol_units": {"all_day": servers}}  # fmt: skip
            ],
        },
        "demand": {
            "police_calls_per_1000_per_day": 24.0 * arrival_rate_per_hour,
            "mh_share": 0.0,
            "other_hourly_profile": [1.0] * 24,
            "other_weekday_profile": [1.0] * 7,
            "other_on_scene": {"kind": "exponential", "mean_min": 60.0 / service_rate_per_hour},
        },
        "police": {"shifts": [{"name": "all_day", "start_hour": 0.0, "hours": 24.0}]},
    }
    return validate_raw(raw, "<check-queue>")


def batch_means(x: np.ndarray, batches: int = 20) -> tuple[float, tuple[float, float]]:
    """Mean and 95% CI by the method of batch means (handles the autocorrelation of successive waits)."""
    usable = len(x) - len(x) % batches
    means = x[:usable].reshape(batches, -1).mean(axis=1)
    half = stats.t.ppf(0.975, batches - 1) * means.std(ddof=1) / math.sqrt(batches)
    return float(x.mean()), (float(means.mean() - half), float(means.mean() + half))


def check_queue(arrival_rate: float, service_rate: float, servers: int, customers: int, seed: int = 0) -> dict:
    """Simulate ``customers`` calls (after a 5% warm-up) and compare waits with Erlang C (minutes)."""
    from crisis_sim.sim import run_single  # local: analysis sits downstream of the model

    if arrival_rate >= servers * service_rate:
        raise ValueError(
            f"expected a stable queue (arrival rate < servers x service rate = {servers * service_rate:g}), "
            f"found arrival rate {arrival_rate:g}"
        )
    warm = max(customers // 20, 1)
    scenario = mmc_scenario(arrival_rate, service_rate, servers, customers + warm)
    ledger = run_single(scenario, 0, seed).ledger
    served = ledger.sort_values("t_received").dropna(subset=["t_dispatched"])
    waits = (served["t_dispatched"] - served["t_received"]).to_numpy()[warm : warm + customers]
    mean, ci = batch_means(waits)
    p_wait, p_ci = batch_means((waits > 1e-9).astype(float))
    erl_p, erl_w = erlang_c(arrival_rate / 60.0, service_rate / 60.0, servers)
    return {
        "customers": int(len(waits)),
        "arrival_rate_per_hour": arrival_rate,
        "service_rate_per_hour": service_rate,
        "servers": servers,
        "sim_mean_wait": mean,
        "sim_mean_wait_ci": list(ci),
        "erlang_mean_wait": erl_w,
        "sim_p_wait": p_wait,
        "sim_p_wait_ci": list(p_ci),
        "erlang_p_wait": erl_p,
        "unit": "minutes",
    }
