"""Generate the parameter table (docs/parameters.md) from the schema itself, so the docs cannot drift.

Run ``python -m crisis_sim.scenario.docs > docs/parameters.md``; a test checks the file is current.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
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


ROOT = Path(__file__).resolve().parents[3]  # the repository (calibration/ and scenarios/ live there)


def calibrated_params(root: Path = ROOT) -> list[dict[str, Any]]:
    """The free parameters of calibration/params.toml (empty when the file is not there)."""
    path = root / "calibration" / "params.toml"
    if not path.is_file():
        return []
    return [
        p for p in tomllib.loads(path.read_text()).get("param", []) if isinstance(p, dict) and "path" in p
    ]


_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*$")
_CALIBRATED = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*#\s*calibrated:\s*(.*)$")


def calibrated_values(root: Path = ROOT) -> list[tuple[str, str, str, str]]:
    """(scenario file, key path, value, note) for every line of scenarios/*.toml marked ``# calibrated: ...``."""
    out = []
    for file in sorted((root / "scenarios").glob("*.toml")):
        table = ""
        for line in file.read_text().splitlines():
            if m := _TABLE.match(line):
                table = m.group(1)
            elif m := _CALIBRATED.match(line):
                key = f"{table}.{m.group(1)}" if table else m.group(1)
                out.append((file.name, key, m.group(2), m.group(3)))
    return out


def render() -> str:
    lines = [
        "# Scenario parameters",
        "",
        "Generated from the schema by `python -m crisis_sim.scenario.docs` — do not edit by hand.",
        'Every default names its source; an "assumption" gives the range that sensitivity analysis should explore.',
        "Required fields without defaults (city population, districts and their patrol units, scenario name) are",
        "set in each scenario file.",
        "",
        "| key path | default | unit | source | range |",
        "|---|---|---|---|---|",
    ]
    free = [str(p["path"]) for p in calibrated_params()]
    for path, default, unit, source, rng in rows():
        if any(f == path or f.startswith(f"{path}.") for f in free):
            source = f"**calibrated** (calibration/params.toml; see below); {source}"
        cells = [path, f"`{default}`", unit, source, rng]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if free:
        lines += ["", "## Calibrated parameters", "",
                  "Free parameters of `calibration/params.toml`, fitted by `crisis-sim calibrate` to the [[fit]] targets",
                  "of `calibration/targets.toml` (docs/calibration.md). The search range is the prior.", "",
                  "| key path | search range | source of the range |", "|---|---|---|"]  # fmt: skip
        for p in calibrated_params():
            rng = f"{p.get('low', '')}-{p.get('high', '')}" + (" (log)" if p.get("log") else "")
            extra = f"; balanced by {p['balance']}" if p.get("balance") else ""
            cells = [str(p["path"]), rng, f"{p.get('source', '')}{extra}"]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        values = calibrated_values()
        if values:
            lines += ["", "Values set in the shipped scenarios, marked `# calibrated:` there:", "",
                      "| scenario | key path | value | study, date |", "|---|---|---|---|"]  # fmt: skip
            for file, key, value, note in values:
                lines.append(f"| {file} | {key} | `{value}` | {note.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
