"""Schema sections of the response-model programs, one module per program."""

from __future__ import annotations

from typing import Any


def check_districts_exist(section: str, districts: list[str] | None, scenario: Any) -> None:
    """A section's district list (None: the whole city) must name districts of the scenario's city."""
    if districts is None:
        return
    names = [d.name for d in scenario.city.districts]
    unknown = [d for d in districts if d not in names]
    if unknown:
        raise ValueError(
            f"programs.{section}.districts to name districts of the city {names}, found {unknown}"
        )
