"""Evidence distributions: what we know (and don't) about each uncertain input, and joint draws from them.

An evidence file (TOML; the default ships as ``crisis_sim/evidence/default.toml``, see docs/uncertainty.md) has one
``[[entries]]`` table per uncertain input::

    [[entries]]
    name = "co_response_arrest_or"                 # a label (unique)
    path = "programs.co_response.arrest_or"        # a schema path (docs/parameters.md)
    distribution = "lognormal_ci"                  # see DISTRIBUTIONS
    estimate = 0.48                                # the distribution's parameters
    low = 0.25
    high = 0.92
    source = "[bailey2022] immediate arrest OR 0.48 (95% CI 0.25-0.92)"   # a docs/references.md key or "assumption"
    why = "an odds ratio's 95% CI is symmetric on the log scale: lognormal"
    apply = "value"                                # "value" (default): the draw is the value; "multiply": it
                                                   # multiplies the scenario's value (a duration: median and p90)

Structural alternatives are named options (``[[options]]`` with ``name``, ``description`` and their own
``[[options.entries]]``); choosing one replaces the entries with the same path (``--evidence-option NAME``).

Distributions (scipy.stats): ``lognormal_ci`` (estimate, low, high, level = 0.95: an odds or rate ratio from its
confidence interval), ``lognormal`` (median, sigma_log), ``beta_counts`` (events, trials; Beta(events + 1,
trials - events + 1), the posterior of a proportion under a uniform prior), ``beta`` (a, b), ``uniform`` (low,
high), ``loguniform`` (low, high), ``triangular`` (low, mode, high), ``normal`` (mean, sd).

Joint draws are the inverse CDFs of a scrambled Latin hypercube (``scipy.stats.qmc``), the inputs independent.
Every problem is one line ``FILE: entries[k] (path).KEY: expected ..., found ...`` (a :class:`ScenarioError`).
"""

from __future__ import annotations

import math
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from scipy import stats
from scipy.stats import qmc

from crisis_sim.analysis.sensitivity_inputs import _strip, field_info, field_type, path_in_raw
from crisis_sim.scenario import Scenario, ScenarioError
from crisis_sim.scenario.loader import Described, format_problem, with_overrides

DEFAULT_EVIDENCE = "default"  # the packaged file crisis_sim/evidence/default.toml
PROBE = 1e-6  # a distribution must keep its 1e-6 and 1 - 1e-6 quantiles inside the schema's bounds


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    source: str = Field(min_length=1)
    why: str = Field(min_length=1)
    apply: Literal["value", "multiply"] = "value"


Num = Annotated[float, Field(allow_inf_nan=False, strict=False)]
PosNum = Annotated[float, Field(gt=0.0, allow_inf_nan=False, strict=False)]


class LognormalCI(_Entry):
    distribution: Literal["lognormal_ci"]
    estimate: PosNum
    low: PosNum
    high: PosNum
    level: Annotated[float, Field(gt=0.5, lt=1.0, strict=False)] = 0.95

    @model_validator(mode="after")
    def _order(self) -> LognormalCI:
        if not self.low < self.estimate < self.high:
            raise ValueError(f"low < estimate < high, found {self.low:g}, {self.estimate:g}, {self.high:g}")
        return self

    def frozen(self) -> Any:
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        sigma = (math.log(self.high) - math.log(self.low)) / (2 * z)
        return stats.lognorm(s=sigma, scale=self.estimate)


class Lognormal(_Entry):
    distribution: Literal["lognormal"]
    median: PosNum
    sigma_log: PosNum

    def frozen(self) -> Any:
        return stats.lognorm(s=self.sigma_log, scale=self.median)


class BetaCounts(_Entry):
    distribution: Literal["beta_counts"]
    events: Annotated[int, Field(ge=0)]
    trials: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def _order(self) -> BetaCounts:
        if self.events > self.trials:
            raise ValueError(f"events <= trials, found {self.events} events in {self.trials} trials")
        return self

    def frozen(self) -> Any:
        return stats.beta(self.events + 1, self.trials - self.events + 1)


class Beta(_Entry):
    distribution: Literal["beta"]
    a: PosNum
    b: PosNum

    def frozen(self) -> Any:
        return stats.beta(self.a, self.b)


class Uniform(_Entry):
    distribution: Literal["uniform"]
    low: Num
    high: Num

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low < high, found low {self.low:g}, high {self.high:g}")
        return self

    def frozen(self) -> Any:
        return stats.uniform(self.low, self.high - self.low)


class LogUniform(Uniform):
    distribution: Literal["loguniform"]  # type: ignore[assignment]
    low: PosNum

    def frozen(self) -> Any:
        return stats.loguniform(self.low, self.high)


class Triangular(_Entry):
    distribution: Literal["triangular"]
    low: Num
    mode: Num
    high: Num

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low < self.high and self.low <= self.mode <= self.high):
            raise ValueError(
                f"low <= mode <= high with low < high, found {self.low:g}, {self.mode:g}, {self.high:g}"
            )
        return self

    def frozen(self) -> Any:
        width = self.high - self.low
        return stats.triang((self.mode - self.low) / width, loc=self.low, scale=width)


class Normal(_Entry):
    distribution: Literal["normal"]
    mean: Num
    sd: PosNum

    def frozen(self) -> Any:
        return stats.norm(self.mean, self.sd)


EntryModel = Annotated[
    LognormalCI | Lognormal | BetaCounts | Beta | Uniform | LogUniform | Triangular | Normal,
    Field(discriminator="distribution"),
]
DISTRIBUTIONS = (
    "lognormal_ci",
    "lognormal",
    "beta_counts",
    "beta",
    "uniform",
    "loguniform",
    "triangular",
    "normal",
)
_ENTRY = TypeAdapter(EntryModel)


@dataclass(frozen=True)
class EvidenceEntry:
    """One uncertain input with its distribution (a frozen scipy.stats distribution)."""

    name: str
    path: str
    distribution: str
    params: Mapping[str, float]
    source: str
    why: str
    apply: str
    kind: type  # int or float (ints are rounded); float for a duration multiplied
    dist: Any

    def ppf(self, u: np.ndarray) -> np.ndarray:
        x = np.asarray(self.dist.ppf(u), dtype=float)
        return np.rint(x) if self.kind is int else x

    def support(self) -> tuple[float, float]:
        """The 1e-6 and 1 - 1e-6 quantiles: the range draws come from in practice."""
        return float(self.dist.ppf(PROBE)), float(self.dist.ppf(1 - PROBE))


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    entries: tuple[EvidenceEntry, ...]


@dataclass(frozen=True)
class Evidence:
    """The entries in force (with the chosen options applied) and the options available."""

    file: str
    entries: tuple[EvidenceEntry, ...]
    options: tuple[Option, ...] = ()
    chosen: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def describe(self) -> dict[str, Any]:
        """For the JSON output: file, chosen options, and one row per entry."""
        return {
            "file": self.file,
            "options": list(self.chosen),
            "available_options": {o.name: o.description for o in self.options},
            "entries": [
                {"name": e.name, "path": e.path, "distribution": e.distribution, **dict(e.params),
                 "apply": e.apply, "source": e.source, "why": e.why}
                for e in self.entries
            ],
        }  # fmt: skip


# --- reading -------------------------------------------------------------------------------------------------
def _fail(label: str, key: str, expected: str, found: Any) -> ScenarioError:
    return ScenarioError([format_problem(label, key, expected, found)])


def _is_duration(path: str) -> bool:
    kind = field_type(path)
    return isinstance(kind, type) and issubclass(kind, BaseModel) and "median_min" in kind.model_fields


def _leaf_adapter(path: str) -> TypeAdapter | None:
    """A validator for the value at ``path`` with the schema's own constraints (None if none found)."""
    current: Any = Scenario
    leaf: Any = None
    for part in path.split("."):
        nxt = None
        for alt in _strip(current):
            origin = typing.get_origin(alt)
            if isinstance(alt, type) and issubclass(alt, BaseModel) and part in alt.model_fields:
                f = alt.model_fields[part]
                leaf = Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation
                nxt = f.annotation
                break
            if origin in (list, tuple, dict):
                nxt = typing.get_args(alt)[-1]
                leaf = nxt
                break
        if nxt is None:
            return None
        current = nxt
    return TypeAdapter(leaf) if leaf is not None else None


def _check_support(label: str, where: str, entry: EvidenceEntry) -> None:
    lo, hi = entry.support()
    if entry.apply == "multiply":
        if lo <= 0:
            raise _fail(
                label, where, 'a positive multiplier (apply = "multiply")', Described(f"support from {lo:g}")
            )
        return
    adapter = _leaf_adapter(entry.path)
    if adapter is None:
        return
    for value in (lo, hi):
        v: Any = int(round(value)) if entry.kind is int else float(value)
        try:
            adapter.validate_python(v, strict=False)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].lower().replace("input should be", "values")
            raise _fail(label, where, f"a distribution inside the schema's bounds ({msg})",
                        Described(f"{entry.distribution} reaching {value:.4g}")) from None  # fmt: skip


def _parse_entry(label: str, where: str, item: Any) -> EvidenceEntry:
    if not isinstance(item, dict):
        raise _fail(label, where, "a table with name, path, distribution, source and why", item)
    path = item.get("path")
    if isinstance(path, str) and path:
        where = f"{where} ({path})"
    dist_name = item.get("distribution")
    if dist_name not in DISTRIBUTIONS:
        raise _fail(label, f"{where}.distribution", f"one of {', '.join(DISTRIBUTIONS)}",
                    dist_name if dist_name is not None else "<nothing>")  # fmt: skip
    try:
        model = _ENTRY.validate_python(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"][1:] if p != dist_name)
        key = f"{where}.{loc}" if loc else where
        if err["type"] == "extra_forbidden":
            return_msg = "only the keys of a " + dist_name + " entry"
            raise _fail(label, key, return_msg, Described(f"unknown key {loc!r}")) from None
        found = err.get("input", "<nothing>") if err["type"] != "missing" else "<nothing>"
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg.replace("Input should be", "a value").replace("Field required", f"this key ({dist_name})")
        if err["type"] == "value_error":
            expected, _, rest = msg.partition(", found ")
            raise _fail(label, key, expected, Described(rest or "otherwise")) from None
        raise _fail(label, key, msg, found) from None
    kind = field_type(model.path)
    if kind is None:
        raise _fail(
            label, f"{where}.path", "a path of the scenario schema (see docs/parameters.md)", model.path
        )
    if model.apply == "multiply":
        if kind not in (int, float) and not _is_duration(model.path):
            raise _fail(label, f"{where}.path", "a number or a duration to multiply",
                        Described(f"a {getattr(kind, '__name__', kind)} field"))  # fmt: skip
        kind = float
    elif kind not in (int, float):
        raise _fail(label, f"{where}.path", 'a numeric parameter (or apply = "multiply" for a duration)',
                    Described(f"a {getattr(kind, '__name__', str(kind))} field"))  # fmt: skip
    if "[" not in model.source and not model.source.lower().startswith(("assumption", "calibrated")):
        raise _fail(
            label, f"{where}.source", 'a [key] of docs/references.md, or "assumption ..."', model.source
        )
    params = {k: v for k, v in model.model_dump().items() if k not in {"name", "path", "source", "why", "apply",
                                                                      "distribution"}}  # fmt: skip
    entry = EvidenceEntry(model.name, model.path, model.distribution, params, model.source, model.why,
                          model.apply, kind, model.frozen())  # fmt: skip
    _check_support(label, where, entry)
    return entry


def _parse_entries(label: str, prefix: str, items: Any) -> list[EvidenceEntry]:
    if not isinstance(items, list) or not items:
        raise _fail(
            label, prefix, f"at least one [[{prefix}]] table", items if items is not None else "<nothing>"
        )
    entries = [_parse_entry(label, f"{prefix}[{k}]", item) for k, item in enumerate(items)]
    seen_names: set[str] = set()
    seen_paths: set[str] = set()
    for k, e in enumerate(entries):
        if e.name in seen_names:
            raise _fail(label, f"{prefix}[{k}].name", "a name no other entry has", e.name)
        if e.path in seen_paths:
            raise _fail(label, f"{prefix}[{k}].path", "each path once", Described(f"{e.path!r} again"))
        seen_names.add(e.name)
        seen_paths.add(e.path)
    return entries


def parse_evidence(
    raw: Mapping[str, Any], label: str = "<evidence>", options: Sequence[str] = ()
) -> Evidence:
    """Validate a parsed evidence file and apply the chosen structural options."""
    unknown = sorted(set(raw) - {"description", "entries", "options"})
    if unknown:
        raise _fail(label, unknown[0], "a known key (description, entries, options)",
                    Described(f"unknown key {unknown[0]!r}"))  # fmt: skip
    entries = _parse_entries(label, "entries", raw.get("entries"))
    opts_raw = raw.get("options", [])
    if not isinstance(opts_raw, list):
        raise _fail(label, "options", "[[options]] tables with name, description and entries", opts_raw)
    available: list[Option] = []
    for k, item in enumerate(opts_raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item.get("name"):
            raise _fail(label, f"options[{k}].name", "an option name (string)", item)
        extra = sorted(set(item) - {"name", "description", "entries"})
        if extra:
            raise _fail(label, f"options[{k}].{extra[0]}", "only name, description and entries",
                        Described(f"unknown key {extra[0]!r}"))  # fmt: skip
        opt_entries = _parse_entries(label, f"options[{k}].entries", item.get("entries"))
        available.append(Option(item["name"], str(item.get("description", "")), tuple(opt_entries)))
    by_name = {o.name: o for o in available}
    for name in options:
        if name not in by_name:
            known = ", ".join(by_name) or "none in this file"
            raise _fail(label, "options", f"an option of this file ({known})", name)
    for name in options:
        replace = {e.path: e for e in by_name[name].entries}
        kept = [replace.pop(e.path, e) for e in entries]
        entries = kept + list(replace.values())
    names = [e.name for e in entries]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise _fail(label, "options", "option entries whose names differ from the base entries'", dup)
    return Evidence(label, tuple(entries), tuple(available), tuple(options))


def load_evidence(path: str | Path | None = None, options: Sequence[str] = ()) -> Evidence:
    """Read an evidence file (``None`` or "default": the packaged ``crisis_sim/evidence/default.toml``)."""
    if path is None or str(path) == DEFAULT_EVIDENCE:
        text = resources.files("crisis_sim.evidence").joinpath("default.toml").read_text(encoding="utf-8")
        label = "evidence/default.toml"
    else:
        label = str(path)
        p = Path(path)
        if not p.is_file():
            raise _fail(label, "", "an existing evidence file (TOML)", Described("no such file"))
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(label, "", "a readable UTF-8 TOML file", Described(exc.__class__.__name__)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(label, "", "valid TOML", Described(f"syntax error: {exc}")) from None
    return parse_evidence(raw, label, options)


# --- drawing and applying ------------------------------------------------------------------------------------
def draw(evidence: Evidence, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` joint draws: one row per draw (index ``draw``), one column per entry name.

    The inverse CDF of each entry applied to a scrambled Latin hypercube (scipy.stats.qmc) seeded by ``seed``:
    the same evidence, n and seed give the same draws."""
    if n < 1:
        raise ValueError(f"expected at least 1 draw, found {n}")
    u = qmc.LatinHypercube(d=len(evidence.entries), seed=np.random.default_rng(seed)).random(n)
    cols = {e.name: e.ppf(u[:, k]) for k, e in enumerate(evidence.entries)}
    out = pd.DataFrame(cols)
    out.index.name = "draw"
    return out


def _get(raw: Any, path: str) -> Any:
    node = raw
    for part in path.split("."):
        if isinstance(node, dict):
            node = node[part]
        elif part.isdigit():
            node = node[int(part)]
        else:
            node = next(x for x in node if isinstance(x, dict) and x.get("name") == part)
    return node


def overrides_for(scenario: Scenario, evidence: Evidence, values: Mapping[str, float]) -> dict[str, Any]:
    """The overrides one draw makes to ``scenario``: paths whose section the scenario lacks are skipped (a
    program effect of a program this strategy does not run is simply not applied)."""
    raw = scenario.model_dump(mode="python")
    out: dict[str, Any] = {}
    for e in evidence.entries:
        if not path_in_raw(raw, e.path):
            continue
        x = float(values[e.name])
        if e.apply == "value":
            out[e.path] = int(x) if e.kind is int else x
            continue
        current = _get(raw, e.path)
        if isinstance(current, dict):  # a duration: scale its minutes, keep its shape
            for key in ("median_min", "p90_min", "mean_min", "minutes"):
                if key in current:
                    out[f"{e.path}.{key}"] = float(current[key]) * x
        else:
            out[e.path] = float(current) * x
    return out


def apply_draw(
    scenario: Scenario, evidence: Evidence, values: Mapping[str, float], draw_index: int
) -> Scenario:
    """``scenario`` with one draw applied; a value outside the schema's bounds → one-line ScenarioError."""
    overrides = overrides_for(scenario, evidence, values)
    return with_overrides(scenario, overrides, label=f"{evidence.file}: draw {draw_index}")


def declared_range(path: str) -> tuple[float, float] | None:
    """The schema's declared plausible range for ``path`` (documentation, not a bound)."""
    info = field_info(path)
    return info[1] if info else None


__all__ = [
    "DEFAULT_EVIDENCE", "DISTRIBUTIONS", "Evidence", "EvidenceEntry", "Option", "apply_draw",
    "declared_range", "draw", "load_evidence", "overrides_for", "parse_evidence",
]  # fmt: skip
