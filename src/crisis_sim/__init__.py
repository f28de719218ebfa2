"""crisis_sim: simulate police-mental-health crisis response systems before launching them.

The public API, resolved lazily so that ``import crisis_sim`` stays cheap:

- scenarios: :func:`load_scenario`, :func:`with_overrides`, :class:`Scenario`, :class:`ScenarioError`
- one run: :func:`run_single` (pure: scenario, replication, root seed → :class:`RunResult`), :func:`simulate`
  (also returns the :class:`CrisisModel`)
- experiments: :func:`build_spec`, :func:`run_batch`, :class:`ResultStore`, :func:`compare_runs`
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "crisis_sim.scenario.loader",
    "with_overrides": "crisis_sim.scenario.loader",
    "ScenarioError": "crisis_sim.scenario.loader",
    "Scenario": "crisis_sim.scenario.schema",
    "run_single": "crisis_sim.sim",
    "simulate": "crisis_sim.sim",
    "RunResult": "crisis_sim.sim",
    "CrisisModel": "crisis_sim.model.crisis_model",
    "build_spec": "crisis_sim.experiments",
    "run_batch": "crisis_sim.experiments",
    "ResultStore": "crisis_sim.experiments",
    "compare_runs": "crisis_sim.experiments",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crisis_sim' has no attribute {name!r}")


__all__ = [
    "CrisisModel",
    "ResultStore",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "build_spec",
    "compare_runs",
    "load_scenario",
    "run_batch",
    "run_single",
    "simulate",
    "with_overrides",
]
