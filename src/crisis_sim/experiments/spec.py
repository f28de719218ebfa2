"""What an experiment is: scenarios (files or variants of files), replications, root seed, days, metrics.

A *variant* is a scenario file plus overrides of any schema path, written on the command line as::

    FILE::NAME:PATH=VALUE,PATH=VALUE      e.g.  scenarios/small_district.toml::more_patrol:city.districts.north.patrol_units.day=5

``NAME`` labels the variant in tables and in the store; ``VALUE`` is a TOML literal (``5``, ``0.5``, ``true``,
``"text"``, ``{day = 5, evening = 5, night = 3}``); a bare word that is not valid TOML is taken as a string.

The spec has a stable content hash (validated scenario contents via ``model_dump_json``, labels, replications,
root seed, days and stored metric list) that a results store records and checks, so a store is never topped up
with runs of a different experiment.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crisis_sim.outcomes import KEY_METRICS
from crisis_sim.scenario import Scenario, ScenarioError, load_scenario
from crisis_sim.scenario.loader import shorten_horizon

FORMAT = 1  # bump when the store layout or the meaning of a stored column changes

# Stored as float64 columns (one per metric) in the runs dataset; other summary entries go to the ``extra`` JSON
# column. A fixed list keeps every chunk file on one schema, whatever programs a scenario switches on.
STORED_METRICS: tuple[str, ...] = (
    *KEY_METRICS,
    "mh_share", "hold_rate", "connection_rate", "recurrence_90d", "repeat_12m", "median_response_all_min",
    "officer_hours_total", "officer_min_per_involuntary", "ed_wait_min_mean", "waitlist_wait_days", "open_calls",
    "subject_injuries", "officer_injuries", "voluntary_transports", "reports", "phone_resolved",
    "cost_police", "cost_ed", "cost_inpatient", "cost_jail", "cost_programs",
)  # fmt: skip
TIMING_KEYS: tuple[str, ...] = ("wall_s", "sim_wall_s", "events")  # diagnostics, never compared


class SpecError(ValueError):
    """A malformed experiment argument (variant syntax, PATH=VALUE); one user-facing line."""


# --- parsing command-line pieces -----------------------------------------------------------------------------
def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside quotes, brackets and braces (so inline TOML tables and arrays survive)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    """A TOML literal (int, float, bool, string, array, inline table); a bare non-TOML word is a string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text and not any(c in text for c in "\"'[]{}=\n"):
            return text
        raise SpecError(f'expected a TOML value (number, true/false, "text"), found {text!r}') from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` → (path, parsed value)."""
    path, eq, value = text.partition("=")
    path = path.strip()
    if not eq or not path or not value.strip():
        raise SpecError(f"expected PATH=VALUE (e.g. programs.outreach.nurse_fte=2), found {text!r}")
    return path, parse_value(value)


def parse_assignments(text: str) -> dict[str, Any]:
    """``PATH=VALUE,PATH=VALUE`` (commas inside quotes, arrays or inline tables do not split)."""
    out: dict[str, Any] = {}
    for piece in split_top_level(text):
        path, value = parse_assignment(piece)
        out[path] = value
    return out


@dataclass(frozen=True)
class ScenarioRequest:
    """One scenario as asked for on the command line, before loading."""

    file: str
    name: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)


def parse_scenario_arg(text: str) -> ScenarioRequest:
    """``FILE`` or ``FILE::NAME`` or ``FILE::NAME:PATH=VALUE,...``."""
    file, sep, rest = text.partition("::")
    if not sep:
        return ScenarioRequest(text)
    name, colon, assigns = rest.partition(":")
    name = name.strip()
    if not file or not name:
        raise SpecError(f"expected FILE::NAME:PATH=VALUE,... (a variant), found {text!r}")
    return ScenarioRequest(file, name, parse_assignments(assigns) if colon and assigns.strip() else {})


# --- the spec ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioEntry:
    label: str
    file: str
    overrides: Mapping[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class ExperimentSpec:
    scenarios: tuple[ScenarioEntry, ...]
    replications: int
    root_seed: int = 0
    days: int | None = None
    metrics: tuple[str, ...] = STORED_METRICS

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.scenarios]

    def pairs(self) -> list[tuple[int, int]]:
        """Every (scenario index, replication) to run, replication-major so partial stores stay paired."""
        return [(s, r) for r in range(self.replications) for s in range(len(self.scenarios))]

    def identity(self) -> dict[str, Any]:
        """What the hash covers: contents, not file names (the same scenario from another folder matches)."""
        return {
            "format": FORMAT,
            # goals never change a run (the report evaluates them): left out, so other goals reuse the same runs
            "scenarios": [{"label": e.label, "scenario": json.loads(e.scenario.model_dump_json(exclude={"goals"}))}
                          for e in self.scenarios],
            "replications": self.replications,
            "root_seed": self.root_seed,
            "days": self.days,
            "metrics": list(self.metrics),
        }  # fmt: skip

    def content_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), allow_nan=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """Readable summary for manifest.json."""
        return {
            "scenarios": [
                {"label": e.label, "file": e.file, "overrides": dict(e.overrides), "name": e.scenario.name}
                for e in self.scenarios
            ],
            "replications": self.replications,
            "root_seed": self.root_seed,
            "days": self.days,
            "metrics": list(self.metrics),
        }


def apply_days(scenario: Scenario, days: int | None, label: str) -> Scenario:
    """--days N: the same meaning as in ``crisis-sim run`` (see ``shorten_horizon``)."""
    return shorten_horizon(scenario, days, label=label)


def load_entry(
    request: ScenarioRequest, days: int | None, common: Mapping[str, Any] | None = None
) -> ScenarioEntry:
    """Load a file, apply ``common`` overrides (--set), then the variant's own, then --days."""
    overrides = {**(common or {}), **request.overrides}
    scenario = load_scenario(request.file, overrides)
    scenario = apply_days(scenario, days, request.file)
    return ScenarioEntry(request.name or scenario.name, request.file, overrides, scenario)


def unique_labels(labels: Iterable[str]) -> list[str]:
    """``a, a, b`` → ``a, a#2, b``."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def build_spec(
    requests: Iterable[ScenarioRequest],
    replications: int,
    root_seed: int = 0,
    days: int | None = None,
    common: Mapping[str, Any] | None = None,
) -> ExperimentSpec:
    """Load and validate every scenario; all problems of all scenarios are reported together."""
    entries, problems = [], []
    for request in requests:
        try:
            entries.append(load_entry(request, days, common))
        except ScenarioError as exc:
            problems.extend(exc.lines)
    if problems:
        raise ScenarioError(problems)
    labels = unique_labels(e.label for e in entries)
    entries = [
        ScenarioEntry(lab, e.file, e.overrides, e.scenario) for lab, e in zip(labels, entries, strict=True)
    ]
    if replications < 1:
        raise SpecError(f"expected at least 1 replication, found {replications}")
    return ExperimentSpec(tuple(entries), int(replications), int(root_seed), days)


def spec_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A short phrase naming the first difference between two ``identity()`` dicts."""
    for key in ("format", "replications", "root_seed", "days", "metrics"):
        if old.get(key) != new.get(key):
            return f"{key} {old.get(key)!r} -> {new.get(key)!r}"
    old_s, new_s = old.get("scenarios", []), new.get("scenarios", [])
    old_l, new_l = [s["label"] for s in old_s], [s["label"] for s in new_s]
    if old_l != new_l:
        return f"scenarios {old_l} -> {new_l}"
    for a, b in zip(old_s, new_s, strict=True):
        if a != b:
            return (
                f"contents of scenario {a['label']!r} changed ({_first_diff(a['scenario'], b['scenario'])})"
            )
    return "different spec"


def _first_diff(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_diff(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_diff(x, y, f"{path}.{i}")
    return f"{path or '<top>'}: {_short(a)} -> {_short(b)}"


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."
