"""Response models as programs. :data:`PROGRAMS` is the only registry: one line per program.

Programs are consulted in registry order whatever order the scenario file lists them in: phone triage first (it
may resolve a call with no unit), then the specialised responders from the least to the most police-involved, then
CIT (a preference among patrol units), then follow-up (outreach) and destinations (stabilisation centre).

Adding a program is a config module in :mod:`crisis_sim.scenario.program_sections` (found by key), a program module
here (a :class:`Program` subclass carrying its own facts: ``key``, ``label``, ``config``, ``stream_key``,
``latents``, ``series_defaults``) and one line in :data:`PROGRAMS`. A program defined elsewhere (a notebook, a
test, another package) is added at run time with :func:`register_program`, touching no file of this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim import rng
from crisis_sim.programs.base import Program
from crisis_sim.programs.cit import CIT
from crisis_sim.programs.co_response import CoResponse
from crisis_sim.programs.mobile_crisis import MobileCrisis
from crisis_sim.programs.outreach import OutreachProgram
from crisis_sim.programs.stabilization import Stabilization
from crisis_sim.programs.triage import Triage

if TYPE_CHECKING:
    from crisis_sim.scenario.schema import Scenario

PROGRAMS: list[type[Program]] = [Triage, MobileCrisis, CoResponse, CIT, OutreachProgram, Stabilization]
"""The registry, in consultation order."""


def program_keys() -> tuple[str, ...]:
    """Keys of the registered programs, in consultation order."""
    return tuple(cls.key for cls in PROGRAMS)


def program_class(key: str) -> type[Program]:
    """The registered program class for ``key``."""
    for cls in PROGRAMS:
        if cls.key == key:
            return cls
    raise KeyError(f"no program with key {key!r}; registered: {', '.join(program_keys())}")


def register_program(cls: type[Program], before: str | None = None) -> type[Program]:
    """Add a program defined outside this package: its config section joins the scenario schema, its stream id
    and latent columns are checked against every other owner's (:mod:`crisis_sim.rng`), and it is consulted after
    the registered programs (or just before the program ``before``). Registering the same class again is a no-op.
    """
    from crisis_sim.scenario.schema import register_section

    if cls in PROGRAMS:
        return cls
    if cls.key in program_keys():
        raise ValueError(f"a program with key {cls.key!r} is registered already")
    if getattr(cls.config_class, "key", None) != cls.key:
        raise ValueError(f"program {cls.__name__} needs a config_class whose key is {cls.key!r}")
    rng.reserve(cls.key, cls.stream_key, cls.latents)
    register_section(cls.config_class)
    PROGRAMS.insert(program_keys().index(before) if before else len(PROGRAMS), cls)
    return cls


def build_programs(scenario: Scenario) -> list[Program]:
    """Instantiate the enabled programs of a scenario, in registry order."""
    out: list[Program] = []
    for cls in PROGRAMS:
        section = getattr(scenario.programs, cls.key, None)
        if section is not None and getattr(section, "enabled", True):
            out.append(cls(section))
    return out


def series_defaults() -> dict[str, Any]:
    """Monthly-series columns that programs report, with the value a run without the program carries."""
    out: dict[str, Any] = {}
    for cls in PROGRAMS:
        out.update(cls.series_defaults)
    return out


__all__ = [
    "PROGRAMS", "Program", "build_programs", "program_class", "program_keys", "register_program", "series_defaults",
]  # fmt: skip
