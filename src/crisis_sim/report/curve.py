"""Coverage against team count (or any one setting): ``crisis-sim report ... --coverage-curve PATH=V1,V2,...``.

Every option whose scenario has the setting ``PATH`` (e.g. ``programs.mobile_crisis.teams``) is re-run with each
value through the experiment engine (same replications and root seed as the report, so the points are paired
with each other by common random numbers), and the report plots the coverage of eligible calls, with its 95%
interval, and the annual cost against the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.experiments.compare import t_interval
from crisis_sim.experiments.spec import ExperimentSpec, ScenarioRequest, SpecError, build_spec, parse_value


class CurveError(ValueError):
    """A bad --coverage-curve: one user-facing line."""


def parse_curve(text: str) -> tuple[str, list[Any]]:
    """``PATH=V1,V2,...`` → (path, values); two to twelve values."""
    path, eq, rest = text.partition("=")
    path = path.strip()
    if not eq or not path or not rest.strip():
        raise CurveError(f"--coverage-curve: expected PATH=V1,V2,... (e.g. programs.mobile_crisis.teams=1,2,3,4), "
                         f"found {text!r}")  # fmt: skip
    values = [parse_value(v.strip()) for v in rest.split(",") if v.strip()]
    if not 2 <= len(values) <= 12:
        raise CurveError(f"--coverage-curve: expected 2 to 12 values, found {len(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise CurveError(f"--coverage-curve: {path}: expected numbers, found {v!r}")
    return path, list(dict.fromkeys(values))


def _has(scenario: Any, path: str) -> bool:
    return _get(scenario, path) is not None


def _get(scenario: Any, path: str) -> Any:
    """The value at a dotted path (None when the path does not lead to a plain value)."""
    obj: Any = scenario
    for part in path.split("."):
        if obj is None:
            return None
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list):
            if not part.isdigit() or int(part) >= len(obj):
                return None
            obj = obj[int(part)]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            return None
    return None if obj is None or hasattr(obj, "model_fields") else obj


def curve_spec(spec: ExperimentSpec, names: Sequence[str], path: str, values: Sequence[Any]) -> tuple[
        ExperimentSpec, list[tuple[str, Any, Any]]]:  # fmt: skip
    """The variants' experiment and, per entry, (option name, value, the option's own value)."""
    requests, index = [], []
    for entry, name in zip(spec.scenarios, names, strict=True):
        if not _has(entry.scenario, path):
            continue
        for v in values:
            requests.append(ScenarioRequest(entry.file, f"{entry.label}@{path}={v}", {**entry.overrides, path: v}))
            index.append((name, v, _get(entry.scenario, path)))
    if not requests:
        raise CurveError(f"--coverage-curve: {path}: no option has this setting (e.g. "
                         "programs.mobile_crisis.teams for an option with a mobile crisis team)")  # fmt: skip
    try:
        return build_spec(requests, spec.replications, spec.root_seed, spec.days), index
    except SpecError as exc:
        raise CurveError(f"--coverage-curve: {exc}") from None


def curve_data(curve: ExperimentSpec, index: Sequence[tuple[str, Any, Any]], runs: pd.DataFrame, path: str,
               per_year: float) -> dict[str, Any]:  # fmt: skip
    """``{"path", "values", "options": {name: [{value, coverage, low, high, annual_cost, fte_total,
    unserved_busy_per_year, unserved_off_hours_per_year, as_configured}]}}`` (``as_configured``: the value is the
    option's own)."""
    from crisis_sim.report.decision import staffing

    out: dict[str, Any] = {"path": path, "label": setting_label(path), "values": sorted({v for _n, v, _o in index}),
                           "options": {}}
    for s, (name, value, own) in enumerate(index):
        sub = runs[runs["scenario_index"] == s]
        extras = [json.loads(t) if isinstance(t, str) else {} for t in sub.get("extra", [])]
        cov = np.array([_num(e.get("specialized_coverage")) for e in extras], float)
        cost = sub["cost_total"].to_numpy(float) * per_year if "cost_total" in sub else np.array([])
        busy = np.array([_num((e.get("unserved_eligible_by_reason") or {}).get("busy")) for e in extras], float)
        off = np.array([_num((e.get("unserved_eligible_by_reason") or {}).get("off_hours")) for e in extras], float)
        m, lo, hi = t_interval(cov)
        point = {"value": value, "coverage": _n(m), "low": _n(lo), "high": _n(hi),
                 "annual_cost": _n(float(np.nanmean(cost))) if cost.size else None,
                 "fte_total": staffing(curve.scenarios[s].scenario)["fte_total"],
                 "unserved_busy_per_year": _n(float(np.nanmean(busy)) * per_year) if busy.size else None,
                 "unserved_off_hours_per_year": _n(float(np.nanmean(off)) * per_year) if off.size else None,
                 "as_configured": bool(own == value)}  # fmt: skip
        out["options"].setdefault(name, []).append(point)
    return out


def setting_label(path: str) -> str:
    """``programs.mobile_crisis.teams`` → "mobile crisis team: teams" (plain words, the path kept in report.json)."""
    from crisis_sim.report.decision import _program_short

    parts = path.split(".")
    if len(parts) >= 3 and parts[0] == "programs":
        program = _program_short().get(parts[1], parts[1].replace("_", " "))
        return f"{program}: {' '.join(p.replace('_', ' ') for p in parts[2:])}"
    return " ".join(p.replace("_", " ") for p in parts)


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else math.nan


def _n(x: float) -> float | None:
    return x if math.isfinite(x) else None


def curve_html(data: dict[str, Any], esc: Any) -> str:
    import crisis_sim.report.figures as figures

    png = figures.coverage_curve_figure(data)
    label = data.get("label") or data["path"]
    head = ("<tr><th class=l>option</th><th>" + esc(label) + "</th><th>coverage of eligible calls</th>"
            "<th>annual cost</th><th>staff (FTE)</th><th>unserved: all teams busy, a year</th>"
            "<th>unserved: outside the hours, a year</th></tr>")  # fmt: skip
    body = []
    for name, points in data["options"].items():
        for p in points:
            cov = "n/a" if p["coverage"] is None else f"{p['coverage']:.0%}"
            ci = (f"<br><span class=ci>{p['low']:.0%} to {p['high']:.0%}</span>" if p["low"] is not None else "")
            cost = "n/a" if p["annual_cost"] is None else f"${p['annual_cost']:,.0f}"
            busy = "n/a" if p["unserved_busy_per_year"] is None else f"{p['unserved_busy_per_year']:,.0f}"
            off = "n/a" if p["unserved_off_hours_per_year"] is None else f"{p['unserved_off_hours_per_year']:,.0f}"
            mine = " <span class=ci>(as configured)</span>" if p.get("as_configured") else ""
            body.append(f"<tr><td class=l>{esc(name)}</td><td class=num>{esc(p['value'])}{mine}</td><td class=num>{cov}{ci}"
                        f"</td><td class=num>{cost}</td><td class=num>{p['fte_total']:g}</td><td class=num>{busy}</td>"
                        f"<td class=num>{off}</td></tr>")  # fmt: skip
    return (f"<h3 id=coverage-curve>Coverage against {esc(label)}</h3>"
            f'<img alt="coverage of eligible calls against {esc(label)}" src="{figures.data_uri(png)}">'
            f"<div class=scroll><table class=curve>{head}{''.join(body)}</table></div><p class=legend>Each option "
            f"with this setting ({esc(data['path'])}) re-run at each value (same replications and seed as the "
            "report). Coverage: share of eligible MH calls a specialised responder answered, with its 95% interval over replications. When "
            "coverage stops rising with more teams while calls outside the hours stay, the hours limit coverage, "
            "not the team count.</p>")  # fmt: skip
