"""The inputs file of a sensitivity analysis: uncertain inputs, optional groups and categories, output metrics.

A TOML file (see docs/sensitivity.md)::

    metrics = ["connected_to_services", "arrests", "cost_total"]   # output metrics, by name

    [[inputs]]
    path = "programs.outreach.nurse_fte"       # any numeric schema path (list items by index or name)
    distribution = "uniform"                   # uniform | loguniform | triangular | normal | truncnormal
    low = 0.5
    high = 2.0
    name = "nurse_fte"                         # optional label (default: the shortest unique path suffix)
    group = "staffing"                         # optional (Sobol and Morris analyse groups)
    source = "schema range; [echinops_study] §2.4"  # where the range comes from (shown in the docs and outputs)

    [fixed]                                    # optional: overrides applied to every run (like --set)
    "timeline" = [{ day = 0, type = "turnover", role = "patrol", annual_rate = 0.12 }]

    [[categorical]]                            # optional: the analysis is run once per value
    path = "police.officers_per_unit"
    values = [1, 2]

Parameters per distribution: uniform and loguniform ``low, high``; triangular ``low, mode, high``; normal
``mean, sd``; truncnormal ``low, high, mean, sd``. Without ``distribution``, ``low``/``high`` mean uniform.
Every problem is one line ``FILE: KEY: expected ..., found ...`` (a :class:`ScenarioError`, exit status 2).

``python -m crisis_sim.analysis.sensitivity_inputs PATH [PATH ...]`` prints an inputs file for schema paths,
uniform over the ``range`` each parameter declares in the schema, citing its source.
"""

from __future__ import annotations

import math
import sys
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from crisis_sim.scenario import Scenario, ScenarioError
from crisis_sim.scenario.loader import Described, format_problem

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "truncnormal": ("low", "high", "mean", "sd"),
}
INPUT_KEYS = {"path", "name", "distribution", "group", "source", "low", "high", "mode", "mean", "sd"}
TOP_KEYS = {"scenario", "description", "metrics", "inputs", "categorical", "fixed"}
NORMAL_CUT_SD = 4.0  # normal inputs are truncated at mean +/- 4 sd (probability lost: 6e-5)


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain input: a schema path and its distribution."""

    path: str
    name: str
    distribution: str
    params: Mapping[str, float]
    kind: type  # int or float: the schema field's type (ints are rounded)
    group: str | None = None
    source: str = ""

    def salib_dist(self) -> tuple[str, list[float]]:
        """SALib 1.6 ``dists`` name and ``bounds`` entry for this input.

        normal → ``truncnorm`` at mean ± 4 sd, so that Morris levels and the FAST search curve (which reach the
        0 and 1 quantiles) stay finite; triangular → ``triang`` [low, high, peak as a share of the width].
        """
        p = self.params
        if self.distribution == "uniform":
            return "unif", [p["low"], p["high"]]
        if self.distribution == "loguniform":
            return "logunif", [p["low"], p["high"]]
        if self.distribution == "triangular":
            return "triang", [p["low"], p["high"], (p["mode"] - p["low"]) / (p["high"] - p["low"])]
        if self.distribution == "normal":
            lo, hi = p["mean"] - NORMAL_CUT_SD * p["sd"], p["mean"] + NORMAL_CUT_SD * p["sd"]
            return "truncnorm", [lo, hi, p["mean"], p["sd"]]
        return "truncnorm", [p["low"], p["high"], p["mean"], p["sd"]]

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the input can take."""
        dist, b = self.salib_dist()
        return (b[0], b[1])

    def to_value(self, x: float) -> int | float:
        """The value written into the scenario: integer fields get the nearest integer inside the support."""
        if self.kind is int:
            lo, hi = self.support()
            return int(min(math.floor(hi), max(math.ceil(lo), round(float(x)))))
        return float(x)


@dataclass(frozen=True)
class Categorical:
    path: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class InputsSpec:
    file: str
    inputs: tuple[UncertainInput, ...]
    metrics: tuple[str, ...]
    categorical: tuple[Categorical, ...] = ()
    scenario: str | None = None
    description: str = ""
    fixed: Mapping[str, Any] = field(default_factory=dict)  # overrides applied to every run, like --set

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]

    @property
    def groups(self) -> list[str] | None:
        """Group of each input (its own name when ungrouped), or None when no input names a group."""
        if not any(i.group for i in self.inputs):
            return None
        return [i.group or i.name for i in self.inputs]

    def categories(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, overrides) for every combination of the categorical choices; one unnamed entry if none."""
        combos: list[tuple[str, dict[str, Any]]] = [("", {})]
        for cat in self.categorical:
            combos = [
                (f"{lab},{cl}" if lab else cl, {**ov, cat.path: v})
                for lab, ov in combos
                for cl, v in zip(cat.labels, cat.values, strict=True)
            ]
        return combos


# --- the schema: field types by dotted path ------------------------------------------------------------------
def _strip(annotation: Any) -> list[Any]:
    """The alternatives of an annotation with Annotated/Optional/Union unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _strip(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_strip(arg))
        return out
    return [annotation]


def field_type(path: str, model: type[BaseModel] = Scenario) -> Any:
    """The leaf annotation's type at ``path`` (``int``, ``float``, ``bool``, a model, ...) or None if the
    schema has no such path. List items and dict entries take any index/key component."""
    candidates: list[Any] = [model]
    for part in path.split("."):
        nxt: list[Any] = []
        for cand in candidates:
            for alt in _strip(cand):
                origin = typing.get_origin(alt)
                if isinstance(alt, type) and issubclass(alt, BaseModel):
                    if part in alt.model_fields:
                        nxt.append(alt.model_fields[part].annotation)
                elif origin in (list, tuple):
                    args = typing.get_args(alt)
                    if args:
                        nxt.append(args[0])
                elif origin is dict:
                    args = typing.get_args(alt)
                    if len(args) == 2:
                        nxt.append(args[1])
        if not nxt:
            return None
        candidates = nxt
    leaves = [a for c in candidates for a in _strip(c)]
    for want in (int, float):
        if want in leaves and bool not in leaves:
            return want
    return leaves[0] if leaves else None


def field_info(path: str, model: type[BaseModel] = Scenario) -> tuple[str, tuple[float, float] | None] | None:
    """(source, range) declared with ``param`` for a schema path (the innermost declared field on the path)."""
    current: Any = model
    found = None
    for part in path.split("."):
        nxt = None
        for alt in _strip(current):
            origin = typing.get_origin(alt)
            if isinstance(alt, type) and issubclass(alt, BaseModel) and part in alt.model_fields:
                f = alt.model_fields[part]
                extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
                if "source" in extra:
                    rng = extra.get("range")
                    found = (str(extra["source"]), (float(rng[0]), float(rng[1])) if rng else None)
                nxt = f.annotation
                break
            if origin in (list, tuple, dict):
                nxt = typing.get_args(alt)[-1]
                break
        if nxt is None:
            return found
        current = nxt
    return found


def path_in_raw(raw: Any, path: str) -> bool:
    """Whether ``path`` names an existing entry of a scenario's dumped dict (list items by index or name)."""
    node = raw
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        elif isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                hits = [x for x in node if isinstance(x, dict) and x.get("name") == part]
                if not hits:
                    return False
                node = hits[0]
        else:
            return False
    return True


# --- reading -------------------------------------------------------------------------------------------------
def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _short_names(paths: Sequence[str]) -> list[str]:
    names = []
    for path in paths:
        parts = path.split(".")
        cand = path
        for k in range(1, len(parts) + 1):
            cand = ".".join(parts[-k:])
            if sum(1 for other in paths if other.split(".")[-k:] == parts[-k:]) == 1:
                break
        names.append(cand)
    return names


def load_inputs(path: str | Path) -> InputsSpec:
    """Read and validate an inputs file (schema paths, distributions, metrics, categories)."""
    label = str(path)
    p = Path(path)
    if not p.is_file():
        raise ScenarioError.one(label, "", "an existing inputs file (TOML)", "<no such file>")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError.one(
            label, "", "a readable UTF-8 TOML file", f"<{exc.__class__.__name__}>"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError.one(label, "", "valid TOML", f"<syntax error: {exc}>") from None
    return parse_inputs(raw, label)


def _fail(label: str, key: str, expected: str, found: Any) -> ScenarioError:
    return ScenarioError([format_problem(label, key, expected, found)])


def parse_inputs(raw: Mapping[str, Any], label: str = "<inputs>", check_paths: bool = True) -> InputsSpec:
    """Validate a parsed inputs file; ``check_paths=False`` accepts any path as a float input (test functions)."""
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise _fail(label, unknown[0], f"a known key ({', '.join(sorted(TOP_KEYS))})",
                    Described(f"unknown key {unknown[0]!r}"))  # fmt: skip
    metrics = raw.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise _fail(label, "metrics", 'a list of metric names (e.g. ["arrests", "cost_total"])',
                    metrics if metrics is not None else "<nothing>")  # fmt: skip
    for k, m in enumerate(metrics):
        if not isinstance(m, str) or not m.isidentifier():
            raise _fail(label, f"metrics[{k}]", "a metric name like arrests or cost_total", m)
    if len(set(metrics)) != len(metrics):
        dup = next(m for m in metrics if metrics.count(m) > 1)
        raise _fail(label, "metrics", "each metric once", Described(f"{dup!r} twice"))
    items = raw.get("inputs")
    if not isinstance(items, list) or not items:
        raise _fail(
            label, "inputs", "at least one [[inputs]] table", items if items is not None else "<nothing>"
        )
    inputs = [_parse_input(label, k, item, check_paths) for k, item in enumerate(items)]
    paths = [i.path for i in inputs]
    for k, pth in enumerate(paths):
        if paths.index(pth) != k:
            raise _fail(label, f"inputs[{k}].path", "each path once", Described(f"{pth!r} again"))
    names = [i.name for i in inputs]
    auto = _short_names(paths)
    names = [n or a for n, a in zip(names, auto, strict=True)]
    for k, n in enumerate(names):
        if names.index(n) != k:
            raise _fail(label, f"inputs[{k}].name", "a name no other input has", n)
    inputs = [
        UncertainInput(i.path, n, i.distribution, i.params, i.kind, i.group, i.source)
        for i, n in zip(inputs, names, strict=True)
    ]
    groups = [i.group for i in inputs if i.group]
    if groups and len(set(i.group or i.name for i in inputs)) < 2:
        raise _fail(label, "inputs", "at least two groups when inputs are grouped", Described("one group"))
    cats = raw.get("categorical", [])
    if isinstance(cats, dict):
        cats = [cats]
    if not isinstance(cats, list):
        raise _fail(label, "categorical", "[[categorical]] tables with path and values", cats)
    categorical = tuple(_parse_categorical(label, k, c, paths, check_paths) for k, c in enumerate(cats))
    scenario = raw.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise _fail(label, "scenario", "a scenario file name (string)", scenario)
    fixed = raw.get("fixed", {})
    if not isinstance(fixed, dict):
        raise _fail(
            label, "fixed", 'a table of schema paths and values (e.g. "police.officers_per_unit" = 2)', fixed
        )
    for key in fixed:
        if check_paths and field_type(key) is None:
            raise _fail(label, f"fixed.{key}", "a path of the scenario schema (quote dotted paths)", key)
        if key in paths:
            raise _fail(label, f"fixed.{key}", "a path that is not also an uncertain input", key)
    description = str(raw.get("description", ""))
    return InputsSpec(label, tuple(inputs), tuple(metrics), categorical, scenario, description, dict(fixed))


def _parse_input(label: str, k: int, item: Any, check_paths: bool = True) -> UncertainInput:
    where = f"inputs[{k}]"
    if not isinstance(item, dict):
        raise _fail(label, where, "a table with path and a distribution", item)
    unknown = sorted(set(item) - INPUT_KEYS)
    if unknown:
        raise _fail(label, f"{where}.{unknown[0]}", f"a known key ({', '.join(sorted(INPUT_KEYS))})",
                    Described(f"unknown key {unknown[0]!r}"))  # fmt: skip
    path = item.get("path")
    if not isinstance(path, str) or not path or not all(path.split(".")):
        raise _fail(label, f"{where}.path", "a dotted schema path like programs.outreach.nurse_fte",
                    path if path is not None else "<nothing>")  # fmt: skip
    where = f"inputs[{k}] ({path})"
    kind = field_type(path) if check_paths else float
    if kind is None:
        raise _fail(label, f"{where}.path", "a path of the scenario schema (see docs/parameters.md)", path)
    if kind not in (int, float):
        what = getattr(kind, "__name__", str(kind))
        raise _fail(
            label, f"{where}.path", "a numeric parameter (int or float)", Described(f"a {what} field")
        )
    dist = item.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        raise _fail(label, f"{where}.distribution", f"one of {', '.join(DISTRIBUTIONS)}", dist)
    needed = DISTRIBUTIONS[dist]
    params: dict[str, float] = {}
    for key in needed:
        if key not in item:
            raise _fail(label, f"{where}.{key}", f"a number ({dist} needs {', '.join(needed)})", "<nothing>")
        if not _number(item[key]):
            raise _fail(label, f"{where}.{key}", "a finite number", item[key])
        params[key] = float(item[key])
    extra = sorted(set(item) & {"low", "high", "mode", "mean", "sd"} - set(needed))
    if extra:
        raise _fail(label, f"{where}.{extra[0]}", f"only {', '.join(needed)} for a {dist} distribution",
                    Described(f"{extra[0]} = {item[extra[0]]!r}"))  # fmt: skip
    if "low" in params and not params["low"] < params["high"]:
        raise _fail(label, f"{where}.high", f"a number above low ({params['low']:g})", item["high"])
    if dist == "loguniform" and params["low"] <= 0:
        raise _fail(label, f"{where}.low", "a positive number (log-uniform)", item["low"])
    if dist == "triangular" and not params["low"] <= params["mode"] <= params["high"]:
        raise _fail(
            label, f"{where}.mode", f"a number in [{params['low']:g}, {params['high']:g}]", item["mode"]
        )
    if "sd" in params and params["sd"] <= 0:
        raise _fail(label, f"{where}.sd", "a positive number", item["sd"])
    if kind is int:
        lo = params.get("low", params.get("mean", 0.0) - NORMAL_CUT_SD * params.get("sd", 0.0))
        hi = params.get("high", params.get("mean", 0.0) + NORMAL_CUT_SD * params.get("sd", 0.0))
        if math.floor(hi) < math.ceil(lo):
            raise _fail(label, f"{where}.high", "a range holding at least one integer (integer field)",
                        Described(f"[{lo:g}, {hi:g}]"))  # fmt: skip
    name = item.get("name", "")
    if not isinstance(name, str):
        raise _fail(label, f"{where}.name", "a label (string)", name)
    group = item.get("group")
    if group is not None and (not isinstance(group, str) or not group):
        raise _fail(label, f"{where}.group", "a group name (string)", group)
    source = item.get("source", "")
    if not isinstance(source, str):
        raise _fail(label, f"{where}.source", "a citation (string)", source)
    return UncertainInput(path, name, dist, params, kind, group, source)


def _parse_categorical(
    label: str, k: int, item: Any, input_paths: Sequence[str], check_paths: bool = True
) -> Categorical:
    where = f"categorical[{k}]"
    if not isinstance(item, dict):
        raise _fail(label, where, "a table with path and values", item)
    unknown = sorted(set(item) - {"path", "values", "labels"})
    if unknown:
        raise _fail(label, f"{where}.{unknown[0]}", "a known key (labels, path, values)",
                    Described(f"unknown key {unknown[0]!r}"))  # fmt: skip
    path = item.get("path")
    if not isinstance(path, str) or (check_paths and field_type(path) is None):
        raise _fail(
            label, f"{where}.path", "a path of the scenario schema", path if path is not None else "<nothing>"
        )
    if path in input_paths:
        raise _fail(label, f"{where}.path", "a path that is not also an uncertain input", path)
    values = item.get("values")
    if not isinstance(values, list) or len(values) < 2:
        raise _fail(
            label,
            f"{where}.values",
            "a list of at least two values",
            values if values is not None else "<nothing>",
        )
    labels = item.get("labels")
    if labels is None:
        short = path.rsplit(".", 1)[-1]
        labels = [
            f"{short}={v}" if not isinstance(v, dict | list) else f"{short}#{j}" for j, v in enumerate(values)
        ]
    if (
        not isinstance(labels, list)
        or len(labels) != len(values)
        or not all(isinstance(x, str) for x in labels)
    ):
        raise _fail(label, f"{where}.labels", f"{len(values)} labels (strings), one per value", labels)
    if len(set(labels)) != len(labels):
        raise _fail(label, f"{where}.labels", "distinct labels", labels)
    return Categorical(path, tuple(values), tuple(labels))


def check_against_scenario(spec: InputsSpec, scenario: Scenario) -> None:
    """Every path must exist in the scenario (setting a path of an absent program section would switch the
    program on) and each input's extremes must be accepted by the schema, one input at a time."""
    from crisis_sim.scenario import with_overrides

    raw = scenario.model_dump(mode="python")
    for k, inp in enumerate(spec.inputs):
        if not path_in_raw(raw, inp.path):
            raise _fail(spec.file, f"inputs[{k}].path",
                        f"a path present in scenario {scenario.name!r} (its section is absent; setting it would "
                        "switch the section on)", inp.path)  # fmt: skip
        lo, hi = inp.support()
        for value in (inp.to_value(lo), inp.to_value(hi)):
            try:
                with_overrides(scenario, {inp.path: value}, label=spec.file)
            except ScenarioError as exc:
                raise ScenarioError([
                    f"{spec.file}: inputs[{k}] ({inp.path}): expected a range the scenario accepts, found "
                    f"{value!r} rejected ({exc.lines[0].split(': ', 1)[-1]})"
                ]) from None  # fmt: skip
    for k, cat in enumerate(spec.categorical):
        for value in cat.values:
            try:
                with_overrides(scenario, {cat.path: value}, label=spec.file)
            except ScenarioError as exc:
                raise ScenarioError([
                    f"{spec.file}: categorical[{k}] ({cat.path}): expected values the scenario accepts, found "
                    f"{value!r} rejected ({exc.lines[0].split(': ', 1)[-1]})"
                ]) from None  # fmt: skip


# --- an inputs file from the schema's declared ranges ----------------------------------------------------------
def inputs_toml(paths: Sequence[str], metrics: Sequence[str] = ("arrests", "cost_total")) -> str:
    """An inputs file, uniform over each path's declared schema ``range``, citing the declared source."""
    lines = [f"metrics = [{', '.join(repr(m).replace(chr(39), chr(34)) for m in metrics)}]", ""]
    for path in paths:
        kind = field_type(path)
        info = field_info(path)
        if kind not in (int, float):
            raise ScenarioError([format_problem("<schema>", path, "a numeric schema parameter", path)])
        if info is None or info[1] is None:
            lines += ["[[inputs]]", f'path = "{path}"', 'distribution = "uniform"',
                      "# no range declared in the schema: set low and high and cite where they come from",
                      "# low = ...", "# high = ...", 'source = ""', ""]  # fmt: skip
            continue
        source, (lo, hi) = info
        fmt = (lambda v: str(int(v))) if kind is int else (lambda v: repr(float(v)))
        lines += ["[[inputs]]", f'path = "{path}"', 'distribution = "uniform"', f"low = {fmt(lo)}",
                  f"high = {fmt(hi)}", f"source = {_toml_str('schema range; ' + source)}", ""]  # fmt: skip
    return "\n".join(lines)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":  # pragma: no cover - tiny helper
    if len(sys.argv) < 2:
        sys.exit("usage: python -m crisis_sim.analysis.sensitivity_inputs PATH [PATH ...]")
    try:
        sys.stdout.write(inputs_toml(sys.argv[1:]))
    except ScenarioError as err:
        sys.exit(str(err))
