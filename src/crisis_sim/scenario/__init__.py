"""Scenario files: schema, loader with clear errors, overrides.

Exports are resolved lazily (PEP 562) so that ``crisis_sim.scenario.params`` can be imported by the schema's
own building blocks (program sections, timeline events) without importing the schema first.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ScenarioError": "crisis_sim.scenario.loader",
    "load_scenario": "crisis_sim.scenario.loader",
    "set_path": "crisis_sim.scenario.loader",
    "with_overrides": "crisis_sim.scenario.loader",
    "DISPOSITIONS": "crisis_sim.scenario.schema",
    "RISK_LEVELS": "crisis_sim.scenario.schema",
    "SEVERITIES": "crisis_sim.scenario.schema",
    "Scenario": "crisis_sim.scenario.schema",
}

if TYPE_CHECKING:
    from crisis_sim.scenario.loader import ScenarioError, load_scenario, set_path, with_overrides
    from crisis_sim.scenario.schema import DISPOSITIONS, RISK_LEVELS, SEVERITIES, Scenario


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DISPOSITIONS",
    "RISK_LEVELS",
    "SEVERITIES",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "set_path",
    "with_overrides",
]
