"""Response models as programs. Each module holds one program; :data:`REGISTRY` maps scenario keys to classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisis_sim.programs.base import Program

if TYPE_CHECKING:
    from crisis_sim.scenario.schema import Scenario

# scenario section name under [programs] -> Program subclass; programs are added here as they are written.
REGISTRY: dict[str, type[Program]] = {}


def build_programs(scenario: Scenario) -> list[Program]:
    """Instantiate the enabled programs of a scenario, in registry order."""
    out: list[Program] = []
    for key, cls in REGISTRY.items():
        section = getattr(scenario.programs, key, None)
        if section is not None and getattr(section, "enabled", True):
            out.append(cls(section))
    return out


__all__ = ["REGISTRY", "Program", "build_programs"]
