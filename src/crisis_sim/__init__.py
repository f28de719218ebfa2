"""crisis_sim: simulate police-mental-health crisis response systems before launching them.

The public API (``import crisis_sim as cs``; every name is documented in docs/api.md). Names resolve lazily, on
first use, so ``import crisis_sim`` stays cheap, and a name never changes meaning when a submodule is imported
(none of them is also the name of a subpackage: the HTML report is :func:`make_report`, not ``report``).

- scenarios: :func:`load_scenario` (a file or a built-in name), :func:`with_overrides`, :func:`builtin_scenarios`,
  :class:`Scenario`, :class:`ScenarioError`
- one run: :func:`run` (→ :class:`RunResult`: ledger, timeseries, summary), :func:`counted` (the ledger after
  warm-up), :func:`run_single`, :func:`simulate` (also returns the :class:`CrisisModel`)
- experiments over common random numbers, as tidy DataFrames keyed by scenario label: :func:`compare`,
  :func:`sweep`, :func:`build_experiment`; their stores: :func:`load_runs`, :func:`load_series`; figures and
  sentences: :func:`plot_differences`, :func:`plot_series`, :func:`describe_differences`
- analysis: :func:`sensitivity`, :func:`calibrate`, :func:`calibrate_abc`, :func:`validate_targets`, :func:`design`,
  :func:`robustness`; the report: :func:`make_report`,
  :func:`decision_table`, :func:`check_goals`; a city's own data: :func:`ingest_calls`, :func:`baseline_check`
- the engine underneath: :func:`build_spec`, :func:`run_batch`, :class:`ResultStore`, :func:`compare_runs`,
  :class:`SpecError`, :class:`StoreError`
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public name -> the stable module that defines it (imported by name, on first use).
_EXPORTS = {
    "load_scenario": "crisis_sim.scenario.loader",
    "with_overrides": "crisis_sim.scenario.loader",
    "builtin_scenarios": "crisis_sim.scenario.loader",
    "ScenarioError": "crisis_sim.scenario.loader",
    "Scenario": "crisis_sim.scenario.schema",
    "run_single": "crisis_sim.sim",
    "simulate": "crisis_sim.sim",
    "RunResult": "crisis_sim.sim",
    "CrisisModel": "crisis_sim.sim",
    "run": "crisis_sim.api",
    "counted": "crisis_sim.api",
    "pre_post": "crisis_sim.api",
    "compare": "crisis_sim.api",
    "psa": "crisis_sim.api",
    "load_evidence": "crisis_sim.analysis.evidence",
    "sweep": "crisis_sim.api",
    "build_experiment": "crisis_sim.api",
    "load_runs": "crisis_sim.api",
    "load_series": "crisis_sim.api",
    "plot_differences": "crisis_sim.api",
    "plot_series": "crisis_sim.api",
    "describe_differences": "crisis_sim.api",
    "sensitivity": "crisis_sim.api",
    "calibrate": "crisis_sim.api",
    "calibrate_abc": "crisis_sim.api",
    "design": "crisis_sim.api",
    "robustness": "crisis_sim.api",
    "validate_targets": "crisis_sim.api",
    "check_consistency": "crisis_sim.api",
    "make_report": "crisis_sim.api",
    "decision_table": "crisis_sim.api",
    "check_goals": "crisis_sim.api",
    "ingest_calls": "crisis_sim.api",
    "baseline_check": "crisis_sim.api",
    "ems_check": "crisis_sim.api",
    "selection_effect": "crisis_sim.api",
    "build_spec": "crisis_sim.experiments",
    "run_batch": "crisis_sim.experiments",
    "ResultStore": "crisis_sim.experiments",
    "compare_runs": "crisis_sim.experiments",
    "SpecError": "crisis_sim.experiments",
    "StoreError": "crisis_sim.experiments",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crisis_sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = sorted(_EXPORTS)
