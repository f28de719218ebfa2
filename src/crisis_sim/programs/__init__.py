"""Response models as programs. Each module holds one program and registers it with :func:`register`.

Programs are consulted in :data:`ORDER` whatever order the scenario file lists them in: phone triage first (it may
resolve a call with no unit), then the specialised responders from the least to the most police-involved, then
CIT (a preference among patrol units), then follow-up (outreach) and destinations (stabilisation centre).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisis_sim.programs.base import Program

if TYPE_CHECKING:
    from crisis_sim.scenario.schema import Scenario

ORDER = ("triage", "mobile_crisis", "co_response", "cit", "outreach", "stabilization")
REGISTRY: dict[str, type[Program]] = {}


def register(cls: type[Program]) -> type[Program]:
    """Class decorator: make a program available under its ``key`` (the scenario's [programs.<key>] section)."""
    if cls.key not in ORDER:
        raise ValueError(f"program key {cls.key!r} must be listed in ORDER")
    REGISTRY[cls.key] = cls
    return cls


def build_programs(scenario: Scenario) -> list[Program]:
    """Instantiate the enabled programs of a scenario, in :data:`ORDER`."""
    out: list[Program] = []
    for key in ORDER:
        cls = REGISTRY.get(key)
        section = getattr(scenario.programs, key, None)
        if cls is not None and section is not None and getattr(section, "enabled", True):
            out.append(cls(section))
    return out


# Program modules register themselves on import; one line per program.
from crisis_sim.programs import _registered  # noqa: E402,F401

__all__ = ["ORDER", "REGISTRY", "Program", "build_programs", "register"]
