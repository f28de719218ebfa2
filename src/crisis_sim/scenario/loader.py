"""Read scenario files (TOML), follow ``base = "..."`` inheritance, apply overrides, validate.

Every failure becomes a :class:`ScenarioError` whose lines each name the file, the key path, what was expected
and what was found: the CLI prints them and exits with status 2, never a traceback.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crisis_sim.scenario.schema import Scenario
from crisis_sim.scenario.timeline import EVENT_TYPES

_UNION_TAGS = {
    "lognormal",
    "exponential",
    "fixed",
    *EVENT_TYPES,
}  # discriminator values pydantic puts in paths


class ScenarioError(Exception):
    """A scenario that cannot be used; ``lines`` are the user-facing messages, one problem per line."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines

    @classmethod
    def one(cls, file: str, path: str, expected: str, found: Any) -> ScenarioError:
        return cls([format_problem(file, path, expected, found)])


def format_problem(file: str, path: str, expected: str, found: Any) -> str:
    where = f"{file}: {path}" if path else file
    return f"{where}: expected {expected}, found {_short(found)}"


class Described(str):
    """A 'found' text that describes rather than quotes the input (printed without quotes)."""


def _short(value: Any) -> str:
    text = (
        value
        if isinstance(value, Described) or (isinstance(value, str) and value.startswith("<"))
        else repr(value)
    )
    return text if len(text) <= 80 else text[:77] + "..."


# --- reading -------------------------------------------------------------------------------------------------
def read_toml(path: Path) -> dict[str, Any]:
    label = str(path)
    if not path.exists():
        raise ScenarioError.one(label, "", "an existing scenario file", "<no such file>")
    if path.is_dir():
        raise ScenarioError.one(label, "", "a scenario file", "<a directory>")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError.one(
            label, "", "a readable UTF-8 TOML file", f"<{exc.__class__.__name__}>"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError.one(label, "", "valid TOML", f"<syntax error: {exc}>") from None


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` wins; tables merge key by key, arrays and scalars are replaced whole."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_with_bases(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The raw dict of ``path`` merged over its ``base`` chain (relative paths resolve from the file's folder)."""
    path = path.resolve() if path.exists() else path
    if path in _chain:
        cycle = " -> ".join(map(str, (*_chain, path)))
        raise ScenarioError.one(str(path), "base", "a base chain without cycles", Described(cycle))
    raw = read_toml(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise ScenarioError.one(str(path), "base", "a file name (string)", base)
    base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
    if not base_path.exists():
        raise ScenarioError.one(
            str(path), "base", "an existing base scenario file", Described(f"no file {base_path}")
        )
    return deep_merge(read_with_bases(base_path, (*_chain, path)), raw)


# --- overrides -----------------------------------------------------------------------------------------------
def set_path(raw: dict[str, Any], dotted: str, value: Any, *, label: str = "<override>") -> None:
    """Set ``a.b.c`` in a raw scenario dict; list items are addressed by index or by their ``name``."""
    parts = dotted.split(".")
    if not all(parts):
        raise ScenarioError.one(label, dotted, "a dotted key path like programs.outreach.nurse_fte", dotted)
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            idx = _list_index(node, part)
            if idx is None:
                raise ScenarioError.one(label, here, f"an index 0-{len(node) - 1} or an item name", part)
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError.one(label, here, "a table to descend into", node)


def _list_index(items: list[Any], part: str) -> int | None:
    if part.isdigit():
        i = int(part)
        return i if i < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None


# --- validation ----------------------------------------------------------------------------------------------
def validate_raw(raw: dict[str, Any], label: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError([_describe(label, err) for err in exc.errors()]) from None


def _describe(label: str, err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err["loc"] if str(p) not in _UNION_TAGS and not str(p).startswith("function-")]
    path = ".".join(loc)
    kind = err["type"]
    msg: str = err["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys([str(p) for p in err["loc"][:-1] if not str(p).startswith("function-")])
        hint = f"one of {', '.join(allowed)}" if allowed else "no key here"
        return format_problem(label, path, f"a known key ({hint})", Described(f"unknown key {loc[-1]!r}"))
    if kind == "missing":
        return format_problem(label, path, "this key to be set", "<nothing>")
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        if ", found " in text:
            expected, found = text.split(", found ", 1)
            return f"{label}: {path or '<top level>'}: expected {expected}, found {found}"
        return format_problem(label, path or "<top level>", text, err.get("input"))
    expected = msg.removeprefix("Input should be ").removeprefix("Input ")
    return format_problem(label, path, expected, err.get("input"))


def _allowed_keys(loc: list[str]) -> list[str]:
    model: Any = Scenario
    annotation: Any = None
    for part in loc:
        if part.isdigit():  # a list item: same model
            continue
        tagged = _tagged_model(annotation, part) if annotation is not None else None
        if tagged is not None:  # a discriminated union's tag picks the member
            model, annotation = tagged, None
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return []
        annotation = fields[part].annotation
        model = _inner_model(annotation)
        if model is None:
            return []
    fields = getattr(model, "model_fields", None)
    return sorted(fields) if fields else []


def _tagged_model(annotation: Any, tag: str) -> Any:
    """The member of a (possibly nested) union whose ``type``/``kind`` literal is ``tag``."""
    for arg in getattr(annotation, "__args__", ()) or ():
        fields = getattr(arg, "model_fields", None)
        if fields:
            for key in ("type", "kind"):
                if key in fields and tag in (getattr(fields[key].annotation, "__args__", ()) or ()):
                    return arg
        else:
            found = _tagged_model(arg, tag)
            if found is not None:
                return found
    return None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


BUILTIN_PACKAGE = "crisis_sim.scenarios"


def builtin_dir() -> Path:
    """The folder of the scenarios shipped inside the package (package data, found with importlib.resources)."""
    from importlib.resources import files

    return Path(str(files(BUILTIN_PACKAGE)))


def builtin_scenarios() -> dict[str, Path]:
    """Built-in scenario names (file stems) and their files, sorted by name."""
    return {p.stem: p for p in sorted(builtin_dir().glob("*.toml"))}


def resolve_scenario_path(path: str | Path) -> Path:
    """A scenario file's path; a bare name such as ``small_district`` (no folder, no such file here) is a
    built-in scenario."""
    p = Path(path)
    if p.exists() or p.parent != Path("."):
        return p
    builtin = builtin_scenarios().get(p.stem if p.suffix == ".toml" else p.name)
    return builtin if builtin is not None else p


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge bases, apply ``overrides`` (dotted path → value) and validate one scenario file.

    ``path`` is a file or the name of a built-in scenario (``crisis-sim scenarios`` lists them)."""
    path = resolve_scenario_path(path)
    if not path.exists() and path.parent == Path("."):  # neither a file here nor a built-in name
        names = ", ".join(builtin_scenarios())
        raise ScenarioError.one(str(path), "", f"an existing scenario file or a built-in scenario name ({names})",
                                "<no such file>")  # fmt: skip
    raw = read_with_bases(path)
    for dotted, value in (overrides or {}).items():
        set_path(raw, dotted, value, label=str(path))
    return validate_raw(raw, str(path))


def shorten_horizon(scenario: Scenario, days: int | None, label: str = "<override>") -> Scenario:
    """``--days N`` for every command: simulate N days, shrink warm-up to at most half of them, and drop timeline
    events dated on or after day N (they would never fire)."""
    if days is None:
        return scenario
    over: dict[str, Any] = {
        "simulation.horizon_days": days,
        "simulation.warmup_days": min(scenario.simulation.warmup_days, days // 2),
    }
    kept = [e for e in scenario.timeline if e.day < days]
    if len(kept) != len(scenario.timeline):
        over["timeline"] = [e.model_dump(mode="python") for e in kept]
    return with_overrides(scenario, over, label=label)


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], label: str = "<override>") -> Scenario:
    """A new scenario with dotted-path overrides applied and the whole thing re-validated."""
    raw = scenario.model_dump(mode="python")
    for dotted, value in overrides.items():
        set_path(raw, dotted, value, label=label)
    return validate_raw(raw, label)
