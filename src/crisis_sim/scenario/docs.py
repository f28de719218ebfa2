"""Generate the parameter table (docs/parameters.md) from the schema itself, so the docs cannot drift.

Run ``python -m crisis_sim.scenario.docs > docs/parameters.md``; a test checks the file is current.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from crisis_sim.scenario.schema import Scenario


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _default_text(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list | dict):
        value = json.loads(json.dumps(value, default=lambda v: v.model_dump(mode="json")))
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= 70 else text[:67] + "..."


def rows(model: type[BaseModel] = Scenario, prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    """(key path, default, unit, source, range) for every parameter declared with a source."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "source" in extra:
            rng = extra.get("range")
            out.append((path, _default_text(field.default), str(extra.get("unit", "")), str(extra["source"]),
                        f"{rng[0]:g}-{rng[1]:g}" if rng else ""))  # fmt: skip
            continue
        sub = _model_of(field.annotation)
        if sub is not None:
            out.extend(rows(sub, f"{path}."))
    return out


def render() -> str:
    lines = [
        "# Scenario parameters",
        "",
        "Generated from the schema by `python -m crisis_sim.scenario.docs` — do not edit by hand.",
        "Every default names its source; an \"assumption\" gives the range that sensitivity analysis should explore.",
        "Required fields without defaults (city population, districts and their patrol units, scenario name) are",
        "set in each scenario file.",
        "",
        "| key path | default | unit | source | range |",
        "|---|---|---|---|---|",
    ]
    for path, default, unit, source, rng in rows():
        cells = [path, f"`{default}`", unit, source, rng]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
