"""Shared fixtures: small scenarios and the one cache of runs (the model is deterministic, so caching is safe)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import settings

from crisis_sim.scenario import Scenario, load_scenario, with_overrides
from crisis_sim.sim import simulate

# No per-example deadline: the suite runs on 2 shared cores, where one slow example is load, not a bug.
settings.register_profile("crisis_sim", deadline=None)
settings.load_profile("crisis_sim")

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def short(scenario: Scenario, days: int, warmup: int = 0, **overrides) -> Scenario:
    return with_overrides(
        scenario, {"simulation.horizon_days": days, "simulation.warmup_days": warmup, **overrides}, label="<test>"
    )


@functools.cache
def small(days: int = 60) -> Scenario:
    return short(load_scenario(SCENARIOS / "small_district.toml"), days)


@pytest.fixture
def small_scenario() -> Scenario:
    return small(60)


# The session's runs, keyed by (scenario JSON, replication, seed): every test module shares this one cache, so a
# scenario several modules run is simulated once per session (per xdist worker). Results are shared objects:
# copy a ledger before changing it.
_RUNS: dict[tuple[str, int, int], tuple] = {}


def cached_run(scenario: Scenario, replication: int = 0, seed: int = 0) -> tuple:
    """``simulate(scenario, replication, seed)`` -> (model, RunResult), run once per session per key."""
    key = (scenario.model_dump_json(), int(replication), int(seed))
    if key not in _RUNS:
        _RUNS[key] = simulate(scenario, replication, seed)
    return _RUNS[key]


@pytest.fixture(scope="session", name="cached_run")
def cached_run_fixture():
    """The session-wide run cache as a fixture: ``cached_run(scenario, replication=0, seed=0)``."""
    return cached_run
