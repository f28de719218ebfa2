"""How well does the model match your city? The city's call records against a few replications of its scenario.

:func:`baseline_check` runs the scenario (the experiment engine, as the report does) and compares, row by row,
the city's figures (with 95% Wilson intervals for shares of its records) with the model's mean over replications
(95% t-interval): calls per 1,000 residents a day, MH share, MH calls by 3-hour block of the day and by weekday,
and the dispositions of MH calls. A row "matches" when the two intervals overlap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from crisis_sim.analysis.ingest import DISPOSITIONS, WEEKDAYS, wilson
from crisis_sim.experiments.compare import t_interval

BLOCK_HOURS = 3
# Model statistic (a run-summary entry) of each disposition share among MH calls.
MODEL_SHARE = {"arrest": "arrests", "involuntary": "involuntary_holds", "voluntary_transport": "voluntary_transports",
               "resolved": "resolved_on_scene", "report": "reports"}  # fmt: skip


def _summaries(runs: Any) -> list[dict[str, Any]]:
    out = []
    for _, r in runs.iterrows():
        d = json.loads(r["extra"]) if isinstance(r.get("extra"), str) else {}
        for col in r.index:
            if col not in ("extra",) and col not in d:
                d[col] = r[col]
        out.append(d)
    return out


def _row(group: str, item: str, city: float, city_lo: float | None, city_hi: float | None,
         model: list[float], unit: str = "share") -> dict[str, Any]:  # fmt: skip
    mean, lo, hi = t_interval(np.asarray(model, float))
    a_lo = city_lo if city_lo is not None else city
    a_hi = city_hi if city_hi is not None else city
    if not math.isfinite(lo):
        lo = hi = mean
    overlap = a_lo <= hi and lo <= a_hi
    verdict = "matches" if overlap else ("model higher" if lo > a_hi else "model lower")
    return {"group": group, "item": item, "unit": unit, "city": city, "city_low": city_lo, "city_high": city_hi,
            "model": mean, "model_low": lo, "model_high": hi, "verdict": verdict}  # fmt: skip


def compare_with_city(profile: Mapping[str, Any], summaries: list[dict[str, Any]], population: int,
                      counted_days: int) -> list[dict[str, Any]]:  # fmt: skip
    """Rows of the match table from the ingest profile of the city's records and the model's run summaries."""
    rows = []
    per_day = [s["calls"] / counted_days / population * 1000 for s in summaries]
    rows.append(_row("volume", "calls per 1,000 residents a day", profile["calls_per_1000_per_day"], None, None,
                     per_day, "rate"))  # fmt: skip
    lo, hi = wilson(profile["mh_calls"], profile["calls"])
    rows.append(_row("volume", "MH share of calls", profile["mh_share"], lo, hi,
                     [s["mh_calls"] / s["calls"] if s["calls"] else math.nan for s in summaries]))  # fmt: skip
    n_mh = profile["mh_calls"]
    city_hour = np.asarray(profile["mh_hourly_share"], float)
    for b in range(0, 24, BLOCK_HOURS):
        share = float(city_hour[b : b + BLOCK_HOURS].sum())
        lo, hi = wilson(round(share * n_mh), n_mh)
        model = [float(np.sum(s["mh_hourly_share"][b : b + BLOCK_HOURS])) for s in summaries]
        rows.append(_row("MH calls by time of day", f"{b:02d}:00-{b + BLOCK_HOURS:02d}:00", share, lo, hi, model))
    for d, day in enumerate(WEEKDAYS):
        share = float(profile["mh_weekday_share"][d])
        lo, hi = wilson(round(share * n_mh), n_mh)
        rows.append(_row("MH calls by weekday", day, share, lo, hi, [s["mh_weekday_share"][d] for s in summaries]))
    for key, (words, _stat) in DISPOSITIONS.items():
        d = profile["dispositions"][key]
        model = [s[MODEL_SHARE[key]] / s["mh_calls"] if s["mh_calls"] else math.nan for s in summaries]
        rows.append(_row("MH call dispositions", words, d["share"], d["low"], d["high"], model))
    return rows


def baseline_check(scenario: str, profile: Mapping[str, Any], replications: int = 3, seed: int = 0,
                   days: int | None = None, workers: int = 1, progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Run the scenario (a file or built-in name; SpecError/ScenarioError when invalid) ``replications`` times
    and compare it with the city's records (``profile`` from :func:`crisis_sim.analysis.ingest.profile_calls`)."""
    from crisis_sim.experiments.spec import build_spec, parse_scenario_arg

    spec = build_spec([parse_scenario_arg(scenario)], replications, seed, days)
    return check_spec(spec, profile, workers, progress)


def check_spec(spec: Any, profile: Mapping[str, Any], workers: int = 1, progress: bool = False) -> dict[str, Any]:
    """:func:`baseline_check` for an experiment spec whose first scenario is the city."""
    from crisis_sim.report.run import run_experiment

    sc = spec.scenarios[0].scenario
    replications = spec.replications
    outcome = run_experiment(spec, None, "processes", workers, None, progress=progress)
    outcome.runs = outcome.runs[outcome.runs["scenario_index"] == 0]
    counted = sc.simulation.horizon_days - sc.simulation.warmup_days
    rows = compare_with_city(profile, _summaries(outcome.runs), sc.city.population, counted)
    return {"replications": replications, "counted_days": counted, "rows": rows}


def format_check(result: Mapping[str, Any]) -> str:
    """The match table as text."""
    def pct(x: float | None, unit: str) -> str:
        if x is None or not math.isfinite(x):
            return "n/a"
        return f"{x:.3g}" if unit == "rate" else f"{x:.1%}"

    lines = [f"How well does the model match your city? (model: {result['replications']} replications of "
             f"{result['counted_days']} counted days; intervals 95%: Wilson for the city's shares, t over "
             "replications for the model)", ""]  # fmt: skip
    head = f"{'':34s} {'city':>8s} {'city 95% interval':>19s} {'model':>8s} {'model 95% interval':>19s}  verdict"
    group = None
    for r in result["rows"]:
        if r["group"] != group:
            group = r["group"]
            lines += ["", group, head]
        u = r["unit"]
        ci = (f"{pct(r['city_low'], u)}-{pct(r['city_high'], u)}" if r["city_low"] is not None else "")
        lines.append(f"  {r['item']:32s} {pct(r['city'], u):>8s} {ci:>19s} {pct(r['model'], u):>8s} "
                     f"{pct(r['model_low'], u) + '-' + pct(r['model_high'], u):>19s}  {r['verdict']}")  # fmt: skip
    n = sum(r["verdict"] == "matches" for r in result["rows"])
    lines += ["", f"{n} of {len(result['rows'])} rows match (the intervals overlap)."]
    return "\n".join(lines)
