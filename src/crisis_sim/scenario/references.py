"""The reference list (docs/references.md) and the citation convention every parameter source follows.

A source cites a reference by its key in square brackets (``[bailey2022] arrest OR 0.48``); a source without a
key says "assumption" or "calibrated". :func:`check_source` applies the rule to one text, :func:`schema_sources`
collects every source the schema declares (program sections and timeline events included) and
:func:`toml_sources` the ``source`` fields and comments of the shipped TOML files.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[3]  # the repository (docs/ lives there) when run from a checkout
# docs/references.md, shipped in the package as crisis_sim/references.md (a link to it in the source tree)
REFERENCES = Path(__file__).resolve().parents[1] / "references.md"

KEY = re.compile(r"\[([a-z][a-z0-9_]*)\]")
_ENTRY = re.compile(r"^###\s+([a-z][a-z0-9_]*)\s*$")
_NO_KEY_WORDS = ("assumption", "calibrated")
# Internal material a user cannot open must not be cited.
FORBIDDEN = re.compile(r"DOMAIN\.md|\bseeds?\s+0\d\d|/shared/seeds", re.IGNORECASE)
# "Author 2020" / "Author et al. 2020" outside a key: a work named without its key.
_AUTHOR_YEAR = re.compile(r"\b[A-Z][A-Za-z'\-]+(?: et al\.?)? \(?(?:19|20)\d\d\b")


def load_references(path: Path | None = None) -> dict[str, str]:
    """key -> citation text (the entry's lines joined), in the order of the file; empty if the file is absent."""
    path = REFERENCES if path is None else path
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := _ENTRY.match(line):
            key = m.group(1)
            out[key] = ""
        elif line.startswith("#"):
            key = None
        elif key is not None and line.strip():
            out[key] = f"{out[key]} {line.strip()}".strip()
    return out


def cited_keys(text: str) -> list[str]:
    """The reference keys a text cites, in order, without repeats."""
    return list(dict.fromkeys(KEY.findall(text)))


def check_source(text: str, keys: set[str] | dict[str, str]) -> list[str]:
    """Problems of one source text under the convention (empty: it complies)."""
    problems = []
    cited = cited_keys(text)
    unknown = [k for k in cited if k not in keys]
    if unknown:
        problems.append(f"unknown reference key(s) {unknown}")
    lowered = text.lower()
    if not cited and not any(w in lowered for w in _NO_KEY_WORDS):
        problems.append('neither a [key] nor "assumption"/"calibrated"')
    if FORBIDDEN.search(text):
        problems.append("cites internal material (DOMAIN.md / seed documents)")
    if not cited and _AUTHOR_YEAR.search(KEY.sub("", text)):
        problems.append("names a work (author year) without its [key]")
    return problems


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        out.extend(_models(arg))
    for meta in getattr(annotation, "__metadata__", ()) or ():
        out.extend(_models(meta))
    return out


def schema_sources(model: type[BaseModel] | None = None) -> list[tuple[str, str]]:
    """(where, source) for every field of the schema that declares a source, through every nested section and
    every member of a union (the timeline's event types)."""
    if model is None:
        from crisis_sim.scenario.schema import Scenario

        model = Scenario
    out: list[tuple[str, str]] = []
    seen: set[type[BaseModel]] = set()

    def walk(m: type[BaseModel]) -> None:
        if m in seen:
            return
        seen.add(m)
        for name, field in m.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if "source" in extra:
                out.append((f"{m.__module__}.{m.__name__}.{name}", str(extra["source"])))
            for sub in _models(field.annotation):
                walk(sub)

    walk(model)
    return out


def _toml_source_fields(data: Any, where: str) -> list[tuple[str, str]]:
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "source" and isinstance(v, str):
                out.append((where, v))
            else:
                out.extend(_toml_source_fields(v, f"{where}.{k}"))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_toml_source_fields(v, f"{where}[{i}]"))
    return out


def _comment(line: str) -> str:
    """The comment of one TOML line ('' if none): the text after the first # outside a string."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i + 1 :]
    return ""


def toml_files(root: Path = ROOT) -> list[Path]:
    """The shipped scenarios, evidence files, calibration inputs/targets, sensitivity inputs, design levers and
    robustness stressors."""
    files = sorted((root / "src" / "crisis_sim" / "scenarios").glob("*.toml"))
    files += sorted((root / "src" / "crisis_sim" / "evidence").glob("*.toml"))
    files += sorted((root / "calibration").glob("*.toml"))
    files += sorted((root / "sensitivity").glob("*.toml"))
    files += sorted((root / "design").glob("*.toml"))
    files += sorted((root / "robustness").glob("*.toml"))
    return files


def toml_sources(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]], set[str]]:
    """(source fields, comments, table names) of one TOML file: each source field must follow the convention;
    comments are free text but any [key] they cite must exist (table names such as [fixed] excepted)."""
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    fields = _toml_source_fields(data, path.name)
    comments = [(f"{path.name}:{n}", c) for n, line in enumerate(text.splitlines(), 1)
                if (c := _comment(line)) and not c.strip().startswith("[")]  # fmt: skip  (commented-out TOML)
    tables = set(data) | {k for v in data.values() if isinstance(v, dict) for k in v}
    return fields, comments, tables
