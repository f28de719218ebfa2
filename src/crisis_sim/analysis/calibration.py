"""Calibration of free parameters against published figures, and validation on held-out figures.

Two small TOML files drive it (see docs/calibration.md and the shipped ``calibration/`` folder):

* **targets** — ``[[fit]]``, ``[[validation]]`` and ``[[consistency]]`` tables (a consistency target returns an input
  of the model — see :mod:`crisis_sim.analysis.consistency` — and is checked like a validation target but reported
  apart from it), each one published statistic: a summary metric of a run
  (``statistic = "arrest_rate"``, a dotted path into nested summary entries is allowed), a pooled share
  (``statistic = "share"`` with ``numerator``/``denominator`` lists of metric paths), or a paired effect between two
  scenarios (``statistic = "ratio"`` or ``"odds_ratio"`` with ``metric``, ``scenario`` and ``reference``). Each has
  ``value`` with ``sd`` or ``range = [low, high]``, ``population``, ``source`` and an optional ``weight``.
* **params** — ``[[param]]`` tables: ``path`` (a schema path), ``low``/``high``, optional ``log``/``integer``,
  optional ``balance`` (a sibling share that absorbs the change so a mix still sums to 1) and ``source``.

The loss of a trial is the weighted mean of squared standardised distances, ``((sim - value) / sd)**2`` or, for a
range, the distance outside the range over its half-width (0 inside). Every trial runs the same replications
0..R-1 from the same root seed (common random numbers), so trials differ only by their parameters.

Optuna keeps the study in SQLite inside the output folder: rerunning the same command after an interruption
continues the same study (``--trials`` is the total of completed trials wanted); a study begun by another
crisis_sim version or git commit is resumed only with ``allow_version_change`` (``--allow-version-change``), and
the outputs record the version (``provenance.json``, ``best_params.json``, the tables). Files are parsed with ``tomllib``
only; nothing from a user file is ever evaluated.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crisis_sim.provenance import describe as describe_version
from crisis_sim.provenance import provenance, version_change
from crisis_sim.scenario import Scenario, ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.loader import builtin_scenarios, resolve_scenario_path

ROLES = ("fit", "validation", "consistency")  # consistency: checked like validation, never counted as it
KINDS = ("metric", "share", "ratio", "odds_ratio")
PENALTY = 1.0e6  # loss of a trial whose parameters give an invalid scenario (e.g. a mix below 0)


class CalibrationError(ValueError):
    """A bad targets/params file or study folder; one user-facing line."""


# --- files ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    name: str
    role: str
    kind: str
    value: float
    sd: float | None = None
    low: float | None = None
    high: float | None = None
    weight: float = 1.0
    metric: str = ""
    reference_metric: str = ""  # ratio / odds_ratio: the reference's metric (default: the same metric)
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    scenario: str | None = None  # None: the scenario being calibrated
    reference: str | None = None  # ratio / odds_ratio only; None: the scenario being calibrated
    population: str = ""
    source: str = ""

    @property
    def tolerance(self) -> tuple[float, float]:
        """The interval counted as a match: the published range, or value ± 2 sd."""
        if self.low is not None and self.high is not None:
            return self.low, self.high
        assert self.sd is not None
        return self.value - 2 * self.sd, self.value + 2 * self.sd

    def z(self, simulated: float) -> float:
        """Standardised distance of a simulated value from the target: ``(sim - value) / sd``, or for a range
        0 inside and the distance outside over a quarter of its width (the range read as ± 2 sd)."""
        if not math.isfinite(simulated):
            return math.inf
        if self.low is not None and self.high is not None:
            sd = max((self.high - self.low) / 4, 1e-12)
            if simulated < self.low:
                return (self.low - simulated) / sd
            if simulated > self.high:
                return (simulated - self.high) / sd
            return 0.0
        assert self.sd is not None
        return (simulated - self.value) / self.sd

    def scenarios(self, own: str) -> list[str]:
        out = [self.scenario or own]
        if self.kind in ("ratio", "odds_ratio"):
            out.append(self.reference or own)
        return out


@dataclass(frozen=True)
class FreeParam:
    path: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    balance: str | None = None
    source: str = ""


def _read(path: str | Path, what: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise CalibrationError(f"{p}: expected an existing {what} file (TOML), found no such file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{p}: expected valid TOML, found a syntax error: {exc}") from None


def _number(table: Mapping[str, Any], key: str, where: str, default: Any = ...) -> float | None:
    value = table.get(key, default)
    if value is ... or value is None:
        if default is ...:
            raise CalibrationError(f"{where}: expected {key} = <number>, found nothing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CalibrationError(f"{where}.{key}: expected a finite number, found {value!r}")
    return float(value)


def _paths(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise CalibrationError(
            f"{where}.{key}: expected a metric name or a list of metric names, found {value!r}"
        )
    return tuple(value)


def _scenario_path(value: Any, folder: Path, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise CalibrationError(f"{where}: expected a scenario file name (string), found {value!r}")
    p = Path(value) if Path(value).is_absolute() else folder / value
    if not p.is_file() and Path(value).parent == Path(".") and resolve_scenario_path(value).is_file():
        p = resolve_scenario_path(value)  # a built-in scenario named without a path
    if not p.is_file():
        raise CalibrationError(f"{where}: expected an existing scenario file or a built-in scenario name "
                               f"({', '.join(builtin_scenarios())}), found no file {p}")  # fmt: skip
    return str(p)


_TARGET_KEYS = {"name", "statistic", "metric", "reference_metric", "numerator", "denominator", "scenario", "reference", "value",
                "sd", "range", "weight", "population", "source", "note"}  # fmt: skip


def load_targets(path: str | Path) -> list[Target]:
    """Parse a targets file; every problem is a one-line :class:`CalibrationError` naming file and key."""
    raw = _read(path, "targets")
    folder = Path(path).parent
    unknown = [k for k in raw if k not in ROLES]
    if unknown:
        raise CalibrationError(f"{path}: expected [[fit]], [[validation]] and [[consistency]] tables, found "
                               f"{unknown[0]!r}")  # fmt: skip
    targets: list[Target] = []
    for role in ROLES:
        tables = raw.get(role, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise CalibrationError(
                f"{path}: {role}: expected an array of tables [[{role}]], found {tables!r}"
            )
        for i, t in enumerate(tables):
            where = f"{path}: {role}[{i}]"
            extra = sorted(set(t) - _TARGET_KEYS)
            if extra:
                raise CalibrationError(f"{where}: expected a known key ({', '.join(sorted(_TARGET_KEYS))}), "
                                       f"found unknown key {extra[0]!r}")  # fmt: skip
            name = t.get("name")
            if not isinstance(name, str) or not name:
                raise CalibrationError(f"{where}.name: expected a target name, found {name!r}")
            where = f"{path}: {role}.{name}"
            stat = t.get("statistic")
            if not isinstance(stat, str) or not stat:
                raise CalibrationError(f"{where}.statistic: expected a metric name or one of share, ratio, "
                                       f"odds_ratio, found {stat!r}")  # fmt: skip
            kind, metric, num, den, ref_metric = "metric", stat, (), (), ""
            if stat == "share":
                kind, metric = "share", ""
                num, den = _paths(t, "numerator", where), _paths(t, "denominator", where)
            elif stat in ("ratio", "odds_ratio"):
                kind = stat
                metric = t.get("metric")
                if not isinstance(metric, str) or not metric:
                    raise CalibrationError(
                        f"{where}.metric: expected the metric the {stat} compares, found {metric!r}"
                    )
                ref_metric = t.get("reference_metric", metric)
                if not isinstance(ref_metric, str) or not ref_metric:
                    raise CalibrationError(
                        f"{where}.reference_metric: expected a metric name, found {ref_metric!r}"
                    )
                if t.get("scenario") is None:
                    raise CalibrationError(f"{where}.scenario: expected the scenario file of the {stat}'s "
                                           "numerator, found nothing")  # fmt: skip
            elif not all(part.isidentifier() for part in stat.split(".")):
                raise CalibrationError(f"{where}.statistic: expected a metric name (e.g. arrest_rate) or one of "
                                       f"share, ratio, odds_ratio, found {stat!r}")  # fmt: skip
            value = _number(t, "value", where)
            sd = _number(t, "sd", where, None)
            rng = t.get("range")
            low = high = None
            if rng is not None:
                if (not isinstance(rng, list) or len(rng) != 2
                        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng)
                        or rng[0] >= rng[1]):  # fmt: skip
                    raise CalibrationError(
                        f"{where}.range: expected [low, high] with low < high, found {rng!r}"
                    )
                low, high = float(rng[0]), float(rng[1])
            if sd is None and low is None:
                raise CalibrationError(f"{where}: expected an uncertainty (sd = <number>) or range = [low, high], "
                                       "found neither")  # fmt: skip
            if sd is not None and sd <= 0:
                raise CalibrationError(f"{where}.sd: expected a positive number, found {sd!r}")
            weight = _number(t, "weight", where, 1.0)
            assert weight is not None
            if weight < 0:
                raise CalibrationError(f"{where}.weight: expected a number >= 0, found {weight!r}")
            for key in ("population", "source"):
                if not isinstance(t.get(key, ""), str):
                    raise CalibrationError(f"{where}.{key}: expected text, found {t[key]!r}")
            if not t.get("source"):
                raise CalibrationError(
                    f"{where}.source: expected the publication the figure comes from, found nothing"
                )
            targets.append(Target(
                name=name, role=role, kind=kind, value=value, sd=sd, low=low, high=high, weight=weight,
                metric=metric, reference_metric=(ref_metric if kind in ("ratio", "odds_ratio") else ""), numerator=num, denominator=den,
                scenario=_scenario_path(t.get("scenario"), folder, f"{where}.scenario"),
                reference=_scenario_path(t.get("reference"), folder, f"{where}.reference"),
                population=t.get("population", ""), source=t["source"],
            ))  # fmt: skip
    names = [t.name for t in targets]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise CalibrationError(f"{path}: expected unique target names, found {dup!r} twice")
    if not targets:
        raise CalibrationError(f"{path}: expected at least one [[fit]] or [[validation]] target, found none")
    return targets


_PARAM_KEYS = {"path", "low", "high", "log", "integer", "balance", "source", "note"}


def load_params(path: str | Path) -> list[FreeParam]:
    raw = _read(path, "params")
    tables = raw.get("param")
    extra = [k for k in raw if k != "param"]
    if extra or not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        found = repr(extra[0]) if extra else repr(tables)
        raise CalibrationError(f"{path}: expected one or more [[param]] tables, found {found}")
    out: list[FreeParam] = []
    for i, t in enumerate(tables):
        where = f"{path}: param[{i}]"
        bad = sorted(set(t) - _PARAM_KEYS)
        if bad:
            raise CalibrationError(f"{where}: expected a known key ({', '.join(sorted(_PARAM_KEYS))}), found "
                                   f"unknown key {bad[0]!r}")  # fmt: skip
        p = t.get("path")
        if not isinstance(p, str) or not p or not all(part for part in p.split(".")):
            raise CalibrationError(f"{where}.path: expected a dotted schema path, found {p!r}")
        where = f"{path}: param.{p}"
        low, high = _number(t, "low", where), _number(t, "high", where)
        assert low is not None and high is not None
        if low >= high:
            raise CalibrationError(f"{where}: expected low < high, found low={low:g}, high={high:g}")
        flags = {}
        for key in ("log", "integer"):
            value = t.get(key, False)
            if not isinstance(value, bool):
                raise CalibrationError(f"{where}.{key}: expected true or false, found {value!r}")
            flags[key] = value
        if flags["log"] and low <= 0:
            raise CalibrationError(
                f"{where}.low: expected a positive low bound with log = true, found {low:g}"
            )
        balance = t.get("balance")
        if balance is not None and (not isinstance(balance, str) or not balance):
            raise CalibrationError(f"{where}.balance: expected a sibling schema path, found {balance!r}")
        source = t.get("source")
        if not isinstance(source, str) or not source:
            raise CalibrationError(f"{where}.source: expected the source or assumption behind the range, found "
                                   f"{source!r}")  # fmt: skip
        out.append(FreeParam(p, low, high, flags["log"], flags["integer"], balance, source))
    paths = [q.path for q in out]
    dup = next((q for q in paths if paths.count(q) > 1), None)
    if dup:
        raise CalibrationError(f"{path}: expected each parameter once, found {dup!r} twice")
    return out


# --- scenarios with parameters applied -----------------------------------------------------------------------
def get_path(raw: Any, dotted: str) -> Any:
    """Read ``a.b.c`` from a dumped scenario (list items by index or ``name``); KeyError if absent."""
    node = raw
    for part in dotted.split("."):
        if isinstance(node, list):
            idx = int(part) if part.isdigit() else next(
                (i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part), None)  # fmt: skip
            if idx is None or idx >= len(node):
                raise KeyError(dotted)
            node = node[idx]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def check_params(params: Sequence[FreeParam], scenario: Scenario, label: str) -> None:
    """Each path (and balance) must name a number in ``scenario`` reached through tables only (a calibrated
    file can then set it as ``[a.b] c = value``)."""
    raw = scenario.model_dump(mode="python")
    for p in params:
        for q in (p.path, p.balance):
            if q is None:
                continue
            try:
                value = get_path(raw, q)
            except KeyError:
                raise CalibrationError(f"{label}: {q}: expected a schema path of a number in the scenario, "
                                       "found no such key") from None  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CalibrationError(f"{label}: {q}: expected a number to calibrate, found {value!r}")
            node: Any = raw
            for part in q.split(".")[:-1]:
                node = node[part] if isinstance(node, dict) else None
                if not isinstance(node, dict):
                    raise CalibrationError(f"{label}: {q}: expected a path through tables only (not list items), "
                                           f"found a list at {part!r}")  # fmt: skip
            if p.integer and not isinstance(value, int):
                raise CalibrationError(f"{label}: {q}: integer = true but the scenario holds {value!r}")


def overrides_for(
    params: Sequence[FreeParam], values: Mapping[str, float], scenario: Scenario
) -> dict[str, Any]:
    """Dotted-path overrides for ``scenario``: the parameter values plus their balancing shares."""
    raw = scenario.model_dump(mode="python")
    out: dict[str, Any] = {}
    for p in params:
        value = values[p.path]
        value = int(round(value)) if p.integer else float(value)
        out[p.path] = value
        if p.balance:
            old = float(get_path(raw, p.path))
            base = float(out.get(p.balance, get_path(raw, p.balance)))
            out[p.balance] = round(base - (value - old), 12)
    return out


def current_values(params: Sequence[FreeParam], scenario: Scenario) -> dict[str, float]:
    raw = scenario.model_dump(mode="python")
    return {p.path: get_path(raw, p.path) for p in params}


def prepare(file: str, days: int | None) -> Scenario:
    from crisis_sim.experiments.spec import apply_days

    return apply_days(load_scenario(file), days, file)


# --- running and measuring -----------------------------------------------------------------------------------
def flatten(summary: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric summary entries, nested dicts as dotted names (``unserved_eligible_by_reason.busy``)."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, int | float):  # bool included
            out[name] = float(value)
        elif value is None:
            out[name] = math.nan
        elif hasattr(value, "item"):
            out[name] = float(value.item())
    return out


RunTask = tuple[int, Scenario, int, int]  # (scenario index, scenario, replication, root seed)


def run_task(task: RunTask) -> tuple[int, int, dict[str, float]]:
    """One replication; module level so that process and Dask workers can import it."""
    from crisis_sim.sim import run_single

    index, scenario, replication, seed = task
    result = run_single(scenario, replication, seed)
    return index, replication, {**flatten(result.summary), **ledger_metrics(result.ledger)}


def ledger_metrics(ledger: Any) -> dict[str, float]:
    """Statistics that published evaluations report but the run summary does not (MH calls after warm-up):
    ``by_responder.<responder>.{calls,arrest_rate,force_rate,hold_rate}`` (e.g. the arrest rate of calls a
    co-response unit handled, as in Bailey 2022) and ``eligible_calls_01_09`` (eligible calls received between
    01:00 and 09:00, as in the B-HEARD audit)."""
    out: dict[str, float] = {}
    if ledger is None or len(ledger) == 0 or "mh" not in ledger:
        return out
    mh = ledger[ledger["mh"].astype(bool) & ~ledger["in_warmup"].astype(bool)]
    for responder, calls in mh.groupby("responder"):
        n = len(calls)
        key = f"by_responder.{responder}"
        out[f"{key}.calls"] = float(n)
        out[f"{key}.arrest_rate"] = float((calls["disposition"] == "arrest").mean()) if n else math.nan
        out[f"{key}.hold_rate"] = float((calls["disposition"] == "involuntary").mean()) if n else math.nan
        out[f"{key}.force_rate"] = float(calls["force"].astype(bool).mean()) if n else math.nan
    if "eligible" in mh:
        eligible = mh[mh["eligible"].astype(bool)]
        hour = (eligible["t_received"].astype(float) % 1440.0) / 60.0
        out["eligible_calls_01_09"] = float(((hour >= 1.0) & (hour < 9.0)).sum())
    return out


class Runner:
    """Runs (scenario, replication) tasks in-process (one worker) or on the experiment engine's executor,
    keeping one pool alive for the whole calibration."""

    def __init__(self, executor: str = "processes", workers: int = 1, scheduler: str | None = None):
        self.kind, self.workers, self.scheduler = executor, int(workers), scheduler
        self.pool: Any = None

    def map(self, tasks: list[RunTask]) -> list[tuple[int, int, dict[str, float]]]:
        if self.workers <= 1 and self.kind == "processes" and not self.scheduler:
            return [run_task(t) for t in tasks]
        if self.pool is None:
            from crisis_sim.experiments.executors import make_executor

            self.pool = make_executor(self.kind, self.workers, self.scheduler)
        return list(self.pool.run(run_task, tasks))

    def abort(self) -> None:
        if self.pool is not None:
            self.pool.abort()
            self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


@dataclass
class Measured:
    target: Target
    values: list[float]
    mean: float
    ci_low: float
    ci_high: float

    @property
    def z(self) -> float:
        return self.target.z(self.mean)

    @property
    def within(self) -> bool:
        """The simulated mean lies in the tolerance interval (the range, or value ± 2 sd)."""
        lo, hi = self.target.tolerance
        return math.isfinite(self.mean) and lo <= self.mean <= hi

    @property
    def ci_overlaps(self) -> bool:
        """The 95% CI of the simulated mean meets the tolerance interval (not distinguishable from it)."""
        lo, hi = self.target.tolerance
        if not (math.isfinite(self.ci_low) and math.isfinite(self.ci_high)):
            return self.within
        return self.ci_low <= hi and self.ci_high >= lo

    def row(self) -> dict[str, Any]:
        t = self.target
        lo, hi = t.tolerance
        observed = f"{t.low:g}-{t.high:g}" if t.low is not None else f"{t.value:g} ± {t.sd:g}"
        return {"target": t.name, "role": t.role, "statistic": describe(t), "simulated_mean": self.mean,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "observed": observed, "tolerance_low": lo,
                "tolerance_high": hi, "within_tolerance": self.within, "ci_overlaps_tolerance": self.ci_overlaps, "z": self.z,
                "replications": sum(math.isfinite(v) for v in self.values), "population": t.population,
                "source": t.source}  # fmt: skip


def describe(t: Target) -> str:
    if t.kind == "share":
        return f"({_sum_text(t.numerator)}) / ({_sum_text(t.denominator)})"
    if t.kind in ("ratio", "odds_ratio"):
        ref = t.reference_metric if t.reference_metric != t.metric else ""
        return (
            f"{t.kind} of {t.metric}: {Path(t.scenario or '.').stem} vs "
            f"{Path(t.reference or '.').stem or 'own'} {ref}"
        ).rstrip()
    return t.metric


def _sum_text(names: Sequence[str]) -> str:
    text = " + ".join(names).replace("+ -", "- ")
    return text


def mean_ci(values: Iterable[float]) -> tuple[float, float, float]:
    xs = [v for v in values if math.isfinite(v)]
    if not xs:
        return math.nan, math.nan, math.nan
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, math.nan, math.nan
    from scipy.stats import t as student

    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    half = float(student.ppf(0.975, len(xs) - 1)) * sd / math.sqrt(len(xs))
    return m, m - half, m + half


def _metric(summary: Mapping[str, float], name: str, target: Target) -> float:
    if name not in summary:
        known = ", ".join(sorted(k for k in summary if "." not in k)[:12])
        raise CalibrationError(f"target {target.name}: expected a summary metric (e.g. {known}, ...), found "
                               f"{name!r}")  # fmt: skip
    return summary[name]


def _total(summary: Mapping[str, float], names: Sequence[str], target: Target) -> float:
    """Sum of metrics; a name written ``-metric`` is subtracted."""
    return sum(
        -_metric(summary, n[1:], target) if n.startswith("-") else _metric(summary, n, target) for n in names
    )


def _odds(p: float) -> float:
    return p / (1 - p) if 0 < p < 1 else math.nan


def measure(target: Target, runs: Mapping[str, list[dict[str, float]]], own: str) -> Measured:
    """Per-replication values of a target from ``runs[scenario file][replication]``, then mean and 95% CI."""
    main = runs[target.scenario or own]
    values: list[float] = []
    for r, summary in enumerate(main):
        if target.kind == "metric":
            v = _metric(summary, target.metric, target)
        elif target.kind == "share":
            num = _total(summary, target.numerator, target)
            den = _total(summary, target.denominator, target)
            v = num / den if den > 0 else math.nan
        else:
            ref = runs[target.reference or own][r]
            a = _metric(summary, target.metric, target)
            b = _metric(ref, target.reference_metric or target.metric, target)
            if target.kind == "ratio":
                v = a / b if b > 0 else math.nan
            else:
                v = _odds(a) / _odds(b) if _odds(b) > 0 else math.nan
        values.append(float(v))
    return Measured(target, values, *mean_ci(values))


def loss_of(measured: Sequence[Measured]) -> float:
    return loss_from_means([m.target for m in measured], {m.target.name: m.mean for m in measured})


def loss_from_means(targets: Sequence[Target], means: Mapping[str, float]) -> float:
    """The calibration loss of simulated target means (``{target name: mean}``): the weighted mean of squared
    standardised distances (:meth:`Target.z`); PENALTY if a target's mean is missing or not finite. Optuna
    minimises it; ABC-SMC (analysis/abc_smc.py) uses it as the distance."""
    total_w = sum(t.weight for t in targets) or 1.0
    acc = 0.0
    for t in targets:
        z = t.z(float(means.get(t.name, math.nan)))
        if not math.isfinite(z):
            return PENALTY
        acc += t.weight * z * z
    return acc / total_w


@dataclass
class Problem:
    """What a calibration evaluates: one scenario, its targets and free parameters, the CRN design."""

    scenario: str
    targets: list[Target]
    params: list[FreeParam]
    replications: int
    seed: int = 0
    days: int | None = None
    _loaded: dict[str, Scenario] = field(default_factory=dict, repr=False)

    def base(self, file: str) -> Scenario:
        if file not in self._loaded:
            self._loaded[file] = prepare(file, self.days)
        return self._loaded[file]

    def files(self, role: str | None) -> list[str]:
        files: list[str] = [self.scenario] if role in (None, "fit") else []
        for t in self.targets:
            if role is None or t.role == role:
                files.extend(t.scenarios(self.scenario))
        return list(dict.fromkeys(files))

    def check(self) -> None:
        for f in self.files(None):
            check_params(self.params, self.base(f), f)

    def evaluate(
        self, values: Mapping[str, float] | None, role: str | None, runner: Runner
    ) -> list[Measured]:
        """Simulate every scenario the ``role``'s targets need, with ``values`` applied (None: as they are)."""
        return self.evaluate_many([values], role, runner)[0]

    def evaluate_many(
        self, value_sets: Sequence[Mapping[str, float] | None], role: str | None, runner: Runner
    ) -> list[list[Measured]]:
        """:meth:`evaluate` for several parameter sets in one batch on ``runner`` (each set on the same
        replications 0..R-1 and root seed: common random numbers)."""
        files = self.files(role)
        scenarios = []
        for values in value_sets:
            for f in files:
                sc = self.base(f)
                if values is not None:
                    sc = with_overrides(sc, overrides_for(self.params, values, sc), label=f)
                scenarios.append(sc)
        tasks = [(i, sc, r, self.seed) for r in range(self.replications) for i, sc in enumerate(scenarios)]
        runs: list[dict[str, list[dict[str, float]]]] = [
            {f: [{}] * self.replications for f in files} for _ in value_sets
        ]
        for i, r, summary in runner.map(tasks):
            runs[i // len(files)][files[i % len(files)]][r] = summary
        wanted = [t for t in self.targets if role is None or t.role == role]
        return [[measure(t, one, self.scenario) for t in wanted] for one in runs]

    def identity(self) -> dict[str, Any]:
        """What must not change for a study to be resumed."""
        return {
            "scenario": json.loads(self.base(self.scenario).model_dump_json()),
            "targets": [_plain_target(t) for t in self.targets if t.role == "fit"],
            "params": [vars(p) for p in self.params],
            "replications": self.replications,
            "seed": self.seed,
            "days": self.days,
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _plain_target(t: Target) -> dict[str, Any]:
    d = dict(vars(t))
    for key in ("scenario", "reference"):
        d[key] = Path(d[key]).name if d[key] else None
    return d


# --- the study -----------------------------------------------------------------------------------------------
def default_study_name(scenario: str) -> str:
    return f"calibrate-{Path(scenario).stem}"


def open_study(problem: Problem, out: Path, study_name: str, sampler_seed: int, allow_version_change: bool = False):
    """Create or resume the SQLite-backed study in ``out``; refuse a study made for another problem, or by another
    crisis_sim version or commit unless ``allow_version_change`` (later versions are listed in the study's
    ``resumed_by`` attribute)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(out / 'study.db').resolve()}"
    fingerprint = problem.fingerprint()
    names = (
        [s.study_name for s in optuna.get_all_study_summaries(storage)] if (out / "study.db").exists() else []
    )
    if names and study_name not in names:
        raise CalibrationError(f"{out}: expected the study {study_name!r} in study.db, found {', '.join(names)} "
                               "(use another --out or the same --study)")  # fmt: skip
    probe = optuna.create_study(
        study_name=study_name, storage=storage, direction="minimize", load_if_exists=True
    )
    old = probe.user_attrs.get("fingerprint")
    if old is None:
        probe.set_user_attr("fingerprint", fingerprint)
        probe.set_user_attr("problem", json.loads(json.dumps(problem.identity(), default=str)))
        probe.set_user_attr("provenance", provenance())
    elif old != fingerprint:
        raise CalibrationError(f"{out}: expected a study of the same scenario, targets, params, replications, seed "
                               f"and days, found one made with different settings (use another --out)")  # fmt: skip
    else:
        why = version_change(probe.user_attrs.get("provenance"))
        if why is not None:
            if not allow_version_change:
                raise CalibrationError(f"{out / 'study.db'}: calibration study {study_name!r} {why}; give "
                                       "--allow-version-change to add trials of this version anyway, or use "
                                       "another --out")  # fmt: skip
            resumed = list(probe.user_attrs.get("resumed_by") or [])
            if provenance() not in resumed:
                probe.set_user_attr("resumed_by", [*resumed, provenance()])
    # Trials left running by a killed process are marked failed; they do not count towards --trials.
    import optuna.trial as ot

    for tr in probe.get_trials(deepcopy=False, states=(ot.TrialState.RUNNING,)):
        probe.tell(tr.number, state=ot.TrialState.FAIL)
    done = len(probe.get_trials(deepcopy=False, states=(ot.TrialState.COMPLETE,)))
    sampler = optuna.samplers.TPESampler(
        seed=sampler_seed + len(probe.trials), n_startup_trials=min(10, max(3, 2 * len(problem.params)))
    )
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    return study, done


def distributions(params: Sequence[FreeParam]) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {
        p.path: IntDistribution(int(math.ceil(p.low)), int(math.floor(p.high)), log=p.log)
        if p.integer
        else FloatDistribution(p.low, p.high, log=p.log)
        for p in params
    }


def clip_to(params: Sequence[FreeParam], values: Mapping[str, float]) -> dict[str, float]:
    return {p.path: min(max(values[p.path], p.low), p.high) for p in params}


def calibrate(
    problem: Problem,
    trials: int,
    out: Path,
    runner: Runner,
    study_name: str | None = None,
    on_trial: Callable[[int, float, float], None] | None = None,
    allow_version_change: bool = False,
):
    """Run trials until the study holds ``trials`` completed ones; the first trial of a new study is the
    scenario's own values (clipped to the ranges), so the fit before calibration is on record."""
    import optuna.trial as ot

    name = study_name or default_study_name(problem.scenario)
    study, done = open_study(problem, out, name, problem.seed, allow_version_change)
    dists = distributions(problem.params)
    if not study.trials:
        study.enqueue_trial(
            clip_to(problem.params, current_values(problem.params, problem.base(problem.scenario)))
        )
    while done < trials:
        trial = study.ask(dists)
        try:
            values = {p.path: trial.params[p.path] for p in problem.params}
            try:
                measured = problem.evaluate(values, "fit", runner)
                loss = loss_of(measured)
                trial.set_user_attr("fit", {m.target.name: [m.mean, m.ci_low, m.ci_high] for m in measured})
            except ScenarioError as exc:  # e.g. a balancing share pushed below 0
                loss = PENALTY
                trial.set_user_attr("invalid", exc.lines[0][:300])
        except BaseException:
            study.tell(trial, state=ot.TrialState.FAIL)
            raise
        study.tell(trial, loss)
        done += 1
        if on_trial:
            on_trial(done, loss, study.best_value)
    return study


# --- outputs -------------------------------------------------------------------------------------------------
def fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return "–" if not math.isfinite(x) else f"{x:.4g}"
    return str(x)


def table_md(measured: Sequence[Measured]) -> str:
    lines = ["| target | statistic | simulated mean | 95% CI | observed | mean within tolerance | CI overlaps "
             "tolerance | z | source |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in measured:
        r = m.row()
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in (
            r["target"], r["statistic"], fmt(r["simulated_mean"]), f"{fmt(r['ci_low'])} – {fmt(r['ci_high'])}",
            r["observed"], fmt(r["within_tolerance"]), fmt(r["ci_overlaps_tolerance"]), fmt(r["z"]), r["source"])) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_table(measured: Sequence[Measured], csv_path: Path, md_path: Path, title: str) -> None:
    rows = [m.row() for m in measured]
    with open(csv_path, "w", newline="") as fh:
        if rows:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    hits, overlaps = sum(m.within for m in measured), sum(m.ci_overlaps for m in measured)
    md_path.write_text(
        f"# {title}\n\n{hits} of {len(measured)} targets with the simulated mean within tolerance (the published "
        f"range, or value ± 2 sd); {overlaps} of {len(measured)} with a 95% CI that overlaps it.\n\n"
        f"{table_md(measured)}\nSimulated by {describe_version()}.\n"
    )


def write_provenance(out: Path, study: Any = None) -> None:
    """``provenance.json``: the crisis_sim version and git commit that wrote these outputs and, for a study,
    the one that began it and any later ones that added trials."""
    doc: dict[str, Any] = {"written_by": provenance()}
    if study is not None:
        doc["study_begun_by"] = study.user_attrs.get("provenance")
        doc["study_resumed_by"] = study.user_attrs.get("resumed_by") or []
    tmp = out / ".provenance.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, out / "provenance.json")


def toml_value(value: Any) -> str:
    """A TOML literal for the scalar values a calibration writes (no eval, no third-party writer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to TOML")
        return repr(float(f"{value:.6g}"))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise TypeError(f"unsupported TOML value {value!r}")


def calibrated_toml(
    base: str,
    overrides: Mapping[str, Any],
    comment: str,
    header: Sequence[str] = (),
    complete: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """``base = "<original>"`` plus one table per parent path, each value marked ``# calibrated: ...``.
    ``complete`` adds unchanged siblings (marked as such) to tables whose keys are all required, such as a
    disposition mix that the base file leaves at the schema default."""
    tables: dict[str, list[tuple[str, Any, bool]]] = {}
    for dotted, value in overrides.items():
        parent, _, key = dotted.rpartition(".")
        tables.setdefault(parent, []).append((key, value, True))
    for parent, items in (complete or {}).items():
        have = {k for k, _, _ in tables.get(parent, [])}
        tables.setdefault(parent, []).extend((k, v, False) for k, v in items.items() if k not in have)
    lines = [f"# {h}" for h in header]
    lines.append(f"base = {toml_value(base)}")

    def line(key: str, value: Any, calibrated: bool) -> str:
        mark = f"calibrated: {comment}" if calibrated else "unchanged (the table must be complete)"
        return f"{key} = {toml_value(value)}  # {mark}"

    lines.extend(line(*item) for item in tables.pop("", []))
    for parent, items in sorted(tables.items()):
        lines.extend(["", f"[{parent}]"])
        lines.extend(line(*item) for item in items)
    return "\n".join(lines) + "\n"


def _model_at(dotted: str) -> Any:
    """The schema model of a table path, or None (dict-typed or list-typed nodes)."""
    from crisis_sim.scenario.loader import _inner_model

    model: Any = Scenario
    for part in dotted.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        model = _inner_model(fields[part].annotation)
    return model


def completing_tables(
    file: str, overrides: Mapping[str, Any], scenario: Scenario
) -> dict[str, dict[str, Any]]:
    """Tables that a calibrated file must write whole: the base file does not set them and their schema model
    has required keys (their default lives on the parent), so a partial table would not validate."""
    from crisis_sim.scenario.loader import read_with_bases

    raw = read_with_bases(resolve_scenario_path(file))
    dump = scenario.model_dump(mode="python")
    out: dict[str, dict[str, Any]] = {}
    for parent in {d.rpartition(".")[0] for d in overrides}:
        if not parent:
            continue
        try:
            get_path(raw, parent)
            continue
        except KeyError:
            pass
        model = _model_at(parent)
        if model is None or not any(f.is_required() for f in model.model_fields.values()):
            continue
        node = get_path(dump, parent)
        out[parent] = {k: v for k, v in node.items() if isinstance(v, int | float | str | bool)}
    return out


def plot_trials(study: Any, params: Sequence[FreeParam], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.trial as ot

    out_dir.mkdir(parents=True, exist_ok=True)
    done = [t for t in study.trials if t.state == ot.TrialState.COMPLETE]
    xs = [t.number for t in done]
    ys = [min(t.value, 1e3) for t in done]
    best, running = [], math.inf
    for y in ys:
        running = min(running, y)
        best.append(running)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax.scatter(xs, ys, s=14, color="#8c8c8c", label="trial")
    ax.plot(xs, best, color="#c44e52", label="best so far")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("trial")
    ax.set_ylabel("loss (mean squared z)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    paths = [out_dir / "loss_by_trial.png"]
    fig.savefig(paths[0])
    plt.close(fig)
    n = len(params)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), dpi=100, squeeze=False)
    best_t = study.best_trial if done else None
    for ax, p in zip(axes.flat, params, strict=False):
        ax.scatter([t.params[p.path] for t in done], ys, s=12, color="#4c72b0")
        if best_t is not None:
            ax.axvline(best_t.params[p.path], color="#c44e52", lw=1)
        if p.log:
            ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(p.path.split(".", 1)[-1], fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    paths.append(out_dir / "param_vs_loss.png")
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def write_trials_csv(study: Any, params: Sequence[FreeParam], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", "state", "loss", *[p.path for p in params]])
        for t in study.trials:
            w.writerow([t.number, t.state.name, t.value, *[t.params.get(p.path) for p in params]])


def write_outputs(
    problem: Problem, study: Any, out: Path, runner: Runner, plots: bool = True, validate: bool = True
) -> dict[str, Any]:
    """Best parameters, fit and validation tables (re-simulated at the best values), trials, plots and the
    calibrated scenario file. Returns the best-parameter document."""
    best = study.best_trial
    values = {p.path: best.params[p.path] for p in problem.params}
    base = problem.base(problem.scenario)
    overrides = overrides_for(problem.params, values, base)
    fit = problem.evaluate(values, "fit", runner)
    has_validation = validate and any(t.role == "validation" for t in problem.targets)
    validation = problem.evaluate(values, "validation", runner) if has_validation else []
    if not has_validation:
        for name in ("validation.md", "validation.csv"):  # never leave a stale table from an earlier run
            (out / name).unlink(missing_ok=True)
    has_consistency = validate and any(t.role == "consistency" for t in problem.targets)
    consistency = problem.evaluate(values, "consistency", runner) if has_consistency else []
    if not has_consistency:
        for name in ("consistency.md", "consistency.csv"):
            (out / name).unlink(missing_ok=True)
    first = study.trials[0] if study.trials else None
    today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
    doc = {
        "study": study.study_name,
        "scenario": problem.scenario,
        "best_trial": best.number,
        "loss": best.value,
        "loss_before": first.value if first is not None and first.value is not None else None,
        "params": values,
        "overrides": overrides,
        "trials_completed": sum(t.state.name == "COMPLETE" for t in study.trials),
        "replications": problem.replications,
        "seed": problem.seed,
        "days": problem.days,
        "date": today,
        "fit_within_tolerance": f"{sum(m.within for m in fit)}/{len(fit)}",
        "validation_within_tolerance": f"{sum(m.within for m in validation)}/{len(validation)}",
        "consistency_within_tolerance": f"{sum(m.within for m in consistency)}/{len(consistency)}",
        "provenance": provenance(),
    }
    tmp = out / ".best_params.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, out / "best_params.json")
    write_table(fit, out / "fit.csv", out / "fit.md", f"Fit targets at the best trial ({study.study_name})")
    if validation:
        write_table(validation, out / "validation.csv", out / "validation.md",
                    f"Held-out validation targets at the calibrated values ({study.study_name})")  # fmt: skip
    if consistency:
        write_table(consistency, out / "consistency.csv", out / "consistency.md",
                    f"Consistency checks (they return an input; not validation) at the calibrated values "
                    f"({study.study_name})")  # fmt: skip
    write_trials_csv(study, problem.params, out / "trials.csv")
    write_provenance(out, study)
    rel = os.path.relpath(resolve_scenario_path(problem.scenario).resolve(), out.resolve())
    header = [f"Calibrated {Path(problem.scenario).name}: study {study.study_name}, trial {best.number} of "
              f"{doc['trials_completed']}, loss {best.value:.4g}",
              f"{problem.replications} replications (CRN seeds 0..{problem.replications - 1}, root seed "
              f"{problem.seed}), days {problem.days or 'as in the scenario'}; see fit.md and validation.md",
              f"Simulated by {describe_version()}"]  # fmt: skip
    (out / "calibrated.toml").write_text(
        calibrated_toml(
            rel,
            overrides,
            f"{study.study_name}, {today}",
            header,
            completing_tables(problem.scenario, overrides, base),
        )  # fmt: skip
    )
    if plots:
        plot_trials(study, problem.params, out / "plots")
    return doc
