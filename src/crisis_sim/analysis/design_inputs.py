"""The levers file of a design search: program levers, objectives and constraints (TOML, validated with pydantic).

A levers file (see docs/design.md)::

    description = "Mid-size city: how much of each program"

    [[levers]]
    name = "mobile_teams"                    # label (unique; default: the path)
    path = "programs.mobile_crisis.teams"    # a schema path of the scenario (list items by index or name)
    type = "int"                             # int | real
    low = 1
    high = 6
    unit_cost = 0.0                          # optional: USD per unit per year the schema's cost fields miss
    source = "schema range"                  # where the range comes from (a reference key or "assumption")

    [[objectives]]
    metric = "annual_cost"                   # a run-summary metric, or annual_cost / lever_cost (below)
    direction = "minimize"                   # minimize | maximize

    constraints = ["specialized_coverage >= 0.8", "p90_response_min <= 30"]   # metric op number

    [fixed]                                  # optional: overrides applied to every design (like --set)
    "programs.cit.course_hours" = 40

Derived metrics: ``lever_cost`` = sum of ``unit_cost x value`` over the levers (USD a year); ``annual_cost`` =
the run's ``cost_total`` over the counted days (after warm-up) scaled to 365 days, plus ``lever_cost``.
Constraints are parsed by a tiny grammar (``NAME OP NUMBER``, OP one of ``>= <= > <``), never evaluated as code.
Every problem is one line ``FILE: KEY: expected ..., found ...`` (a :class:`ScenarioError`, exit status 2).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisis_sim.scenario import Scenario, ScenarioError
from crisis_sim.scenario.loader import format_problem

DERIVED_METRICS = ("annual_cost", "lever_cost")
OPERATORS = (">=", "<=", ">", "<")
_CONSTRAINT = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$"
)


class Lever(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    path: str = Field(min_length=1)
    type: Literal["int", "real"]
    low: float
    high: float
    name: str | None = None
    unit_cost: float = Field(default=0.0, ge=0.0)
    source: str | None = None

    @field_validator("low", "high")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("a finite number")
        return v

    @property
    def label(self) -> str:
        return self.name or self.path

    def to_value(self, x: float) -> int | float:
        return int(round(x)) if self.type == "int" else float(x)


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    direction: Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return {">=": value >= self.bound, "<=": value <= self.bound, ">": value > self.bound,
                "<": value < self.bound}[self.op]  # fmt: skip

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 when the constraint holds, else how far off (NaN counts as far off)."""
        if value is None or not math.isfinite(value):
            return 1e12
        gap = self.bound - value if self.op in (">=", ">") else value - self.bound
        if self.op in (">", "<") and gap == 0:
            return 1e-12
        return gap


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    levers: list[Lever] = Field(min_length=1)
    objectives: list[Objective] = Field(min_length=1)
    constraints: list[str] = Field(default_factory=list)
    fixed: dict[str, Any] = Field(default_factory=dict)
    cheapest_by: str | None = None


@dataclass(frozen=True)
class LeversSpec:
    file: str
    levers: tuple[Lever, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    fixed: Mapping[str, Any]
    cheapest_by: str
    description: str | None = None
    extra_metrics: tuple[str, ...] = ()  # shown in the outputs (--metric), not searched on
    enable: tuple[str, ...] = ()  # program sections absent from the scenario that levers switch on

    def metrics(self) -> list[str]:
        """Every metric named by an objective, a constraint, cheapest_by or --metric (derived ones included)."""
        return list(dict.fromkeys([*(o.metric for o in self.objectives), *(c.metric for c in self.constraints),
                                   self.cheapest_by, *self.extra_metrics]))  # fmt: skip

    def lever_cost(self, values: Mapping[str, float]) -> float:
        return float(sum(lv.unit_cost * float(values[lv.label]) for lv in self.levers))

    def overrides(self, values: Mapping[str, float], partial: bool = False) -> dict[str, Any]:
        """A design's overrides of the base scenario (which already has [fixed]): the switched-on program sections
        and the lever values (``partial``: the sections only)."""
        sections: dict[str, Any] = {f"programs.{key}": {} for key in self.enable}
        if partial:
            return sections
        return {**sections, **{lv.path: lv.to_value(values[lv.label]) for lv in self.levers}}

    def identity(self) -> dict[str, Any]:
        return {
            "levers": [lv.model_dump() for lv in self.levers],
            "objectives": [o.model_dump() for o in self.objectives],
            "constraints": [c.text for c in self.constraints],
            "fixed": dict(self.fixed),
            "cheapest_by": self.cheapest_by,
        }


def _fail(file: str, key: str, expected: str, found: Any) -> ScenarioError:
    return ScenarioError([format_problem(file, key, expected, found)])


def read_input_file(path: str | Path, model: type[BaseModel], what: str, docs: str) -> Any:
    """Read a TOML input file (levers, uncertainties) and validate it with ``model``; any problem is one
    :class:`ScenarioError` line naming the file, the key path and what was expected (``what``: the kind of file;
    ``docs``: where its keys are documented)."""
    file = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(file, "", f"{what} (TOML)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(file, "", "a readable UTF-8 TOML file", str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "", "valid TOML", str(exc)) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        found = err.get("input", "")
        expected = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            expected, found = "this key", "nothing"
        elif err["type"] == "extra_forbidden":
            expected = f"a known key (see {docs})"
        raise _fail(file, _loc(err["loc"]), expected, found) from None


def parse_constraint(text: str, file: str = "<constraint>", key: str = "constraints") -> Constraint:
    """``metric op number`` (e.g. ``p90_response_min <= 30``), nothing else."""
    m = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if not m:
        raise _fail(file, key, "'METRIC OP NUMBER' with OP one of >=, <=, >, < (e.g. 'p90_response_min <= 30')",
                    text)  # fmt: skip
    bound = float(m.group(3))
    return Constraint(m.group(1), m.group(2), bound, f"{m.group(1)} {m.group(2)} {m.group(3)}")


def load_levers(path: str | Path) -> LeversSpec:
    file = str(path)
    parsed = read_input_file(
        path, _File, "a levers file", "docs/design.md; a key under [[objectives]] belongs to that table"
    )
    labels: set[str] = set()
    for k, lv in enumerate(parsed.levers):
        if lv.low >= lv.high:
            raise _fail(file, f"levers[{k}] ({lv.label})", "low < high", f"low {lv.low:g}, high {lv.high:g}")
        if lv.type == "int" and (lv.low != int(lv.low) or lv.high != int(lv.high)):
            raise _fail(file, f"levers[{k}] ({lv.label})", "whole-number low and high for an int lever",
                        f"low {lv.low:g}, high {lv.high:g}")  # fmt: skip
        if lv.label in labels:
            raise _fail(file, f"levers[{k}].name", "a name not used by another lever", lv.label)
        labels.add(lv.label)
    seen = set()
    for k, o in enumerate(parsed.objectives):
        if o.metric in seen:
            raise _fail(file, f"objectives[{k}].metric", "each metric at most once", o.metric)
        seen.add(o.metric)
    constraints = tuple(
        parse_constraint(t, file, f"constraints[{k}]") for k, t in enumerate(parsed.constraints)
    )
    cheapest = parsed.cheapest_by or next(
        (o.metric for o in parsed.objectives if "cost" in o.metric and o.direction == "minimize"),
        parsed.objectives[0].metric,
    )
    return LeversSpec(file, tuple(parsed.levers), tuple(parsed.objectives), constraints, dict(parsed.fixed),
                      cheapest, parsed.description)  # fmt: skip


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_against_scenario(spec: LeversSpec, scenario: Scenario) -> LeversSpec:
    """Every lever path must be in the scenario, or under a program section the scenario does not have (the
    lever then switches that program on, with its defaults for the rest); each lever's low and high must be
    accepted by the schema. Returns the spec with those sections recorded in ``enable``."""
    from crisis_sim.analysis.sensitivity_inputs import path_in_raw
    from crisis_sim.programs import PROGRAMS
    from crisis_sim.scenario import with_overrides

    raw = scenario.model_dump(mode="python")
    keys = {cls.key for cls in PROGRAMS}
    enable: list[str] = []
    for lv in spec.levers:
        key = _absent_program(raw, lv.path, keys)
        if key and key not in enable and not any(p.startswith(f"programs.{key}") for p in spec.fixed):
            enable.append(key)
    spec = dataclasses.replace(spec, enable=tuple(enable))
    for k, lv in enumerate(spec.levers):
        if not path_in_raw(raw, lv.path) and not _absent_program(raw, lv.path, keys):
            raise _fail(spec.file, f"levers[{k}].path",
                        f"a schema path present in scenario {scenario.name!r} (e.g. programs.mobile_crisis.teams)",
                        lv.path)  # fmt: skip
        for value in (lv.to_value(lv.low), lv.to_value(lv.high)):
            try:
                with_overrides(
                    scenario, {**spec.overrides({}, partial=True), lv.path: value}, label=spec.file
                )
            except ScenarioError as exc:
                raise ScenarioError([
                    f"{spec.file}: levers[{k}] ({lv.path}): expected a range the scenario accepts, found "
                    f"{value!r} rejected ({exc.lines[0].split(': ', 1)[-1]})"
                ]) from None  # fmt: skip
    return spec


def _absent_program(raw: Mapping[str, Any], path: str, keys: set[str]) -> str | None:
    """The program key when ``path`` lies under a program section the scenario does not have."""
    parts = path.split(".")
    if (
        len(parts) >= 3
        and parts[0] == "programs"
        and parts[1] in keys
        and not (raw.get("programs") or {}).get(parts[1])
    ):
        return parts[1]
    return None


def check_metrics(spec: LeversSpec, known: Iterable[str]) -> None:
    """Objectives, constraints and cheapest_by must name metrics the run summary has (or a derived one)."""
    names = set(known) | set(DERIVED_METRICS)
    listing = ", ".join(sorted(names))
    for k, o in enumerate(spec.objectives):
        if o.metric not in names:
            raise _fail(
                spec.file, f"objectives[{k}].metric", f"a metric of the run summary ({listing})", o.metric
            )
    for k, c in enumerate(spec.constraints):
        if c.metric not in names:
            raise _fail(spec.file, f"constraints[{k}]", f"a metric of the run summary ({listing})", c.metric)
    if spec.cheapest_by not in names:
        raise _fail(spec.file, "cheapest_by", f"a metric of the run summary ({listing})", spec.cheapest_by)
    for m in spec.extra_metrics:
        if m not in names:
            raise _fail("--metric", "", f"a metric of the run summary ({listing})", m)
