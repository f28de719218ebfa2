"""A pydantic ``Field`` that carries a parameter's unit, source and plausible range.

Every default in the schema is declared with :func:`param` so that ``docs/parameters.md`` can be generated from
the schema itself and no default goes without a source or an explicit "assumption" with a range.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel as _BaseModel
from pydantic import ConfigDict, Field


class Strict(_BaseModel):
    """Base for every schema section: unknown keys are errors, types are not coerced, objects are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


def param(
    default: Any,
    *,
    source: str,
    unit: str = "",
    range: tuple[float, float] | None = None,
    **constraints: Any,
) -> Any:
    """Declare a parameter with its provenance.

    ``source`` names a seed document, paper or report, or starts with "assumption"; an assumption must give
    ``range`` (the span that sensitivity analysis should explore).
    """
    if source.lower().startswith("assumption") and range is None:
        raise ValueError(f"an assumed default needs a range: {source!r}")
    extra: dict[str, Any] = {"source": source, "unit": unit}
    if range is not None:
        extra["range"] = list(range)
    return Field(default, json_schema_extra=extra, **constraints)
