"""The ``[programs]`` section: one optional sub-section per program, found rather than listed.

Every module in :mod:`crisis_sim.scenario.program_sections` that defines a config class with a ``key`` class
attribute adds the section ``[programs.<key>]`` (a config module is all a new program's data needs; its behaviour
is one line in :data:`crisis_sim.programs.PROGRAMS`). A section that is absent or has ``enabled = false`` leaves the
model exactly as police-as-usual. A program defined outside the package registers its section at run time with
:func:`crisis_sim.scenario.schema.register_section` (through :func:`crisis_sim.programs.register_program`).
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from pydantic import BaseModel, create_model

import crisis_sim.scenario.program_sections as _sections_pkg
from crisis_sim.scenario.params import Strict

SECTIONS: dict[str, type[BaseModel]] = {}
"""Config class of every program section, by key."""


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(_sections_pkg.__path__), key=lambda i: i.name):
        module = import_module(f"{_sections_pkg.__name__}.{info.name}")
        for value in vars(module).values():
            key = getattr(value, "key", None)
            if isinstance(value, type) and issubclass(value, BaseModel) and isinstance(key, str):
                if key in SECTIONS and SECTIONS[key] is not value:
                    raise ValueError(f"two program sections use the key {key!r}")
                SECTIONS[key] = value


def build_programs_config() -> type[Strict]:
    """A pydantic model with one optional field per registered section (strict: unknown sections are refused)."""
    fields = {key: (cls | None, None) for key, cls in SECTIONS.items()}
    model = create_model("ProgramsConfig", __base__=Strict, **fields)  # type: ignore[call-overload]
    model.__doc__ = "One optional section per program (scenario/program_sections)."
    return model


_discover()
ProgramsConfig = build_programs_config()
