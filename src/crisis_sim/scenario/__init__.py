"""Scenario files: schema, loader with clear errors, overrides."""

from crisis_sim.scenario.loader import ScenarioError, load_scenario, set_path, with_overrides
from crisis_sim.scenario.schema import DISPOSITIONS, RISK_LEVELS, SEVERITIES, Scenario

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
