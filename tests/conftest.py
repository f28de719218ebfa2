"""Shared fixtures: small scenarios and cached short runs (the model is deterministic, so caching is safe)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from crisis_sim.scenario import Scenario, load_scenario, with_overrides

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
