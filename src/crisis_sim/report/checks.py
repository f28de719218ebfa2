"""Warnings from published figures: the base option's run statistics against the calibration targets.

The targets file (``calibration/targets.toml`` of the repository, or another in the same format) lists published
statistics with their range (docs/calibration.md). The report measures each target that applies to the first
option exactly as the calibration does (:func:`crisis_sim.analysis.calibration.measure` over the replications'
flattened summaries) and warns when the 95% interval of the simulated mean does not meet the published range (the
same test as the calibration's "not distinguishable" column), so a planner sees that the city behaves unlike the
evidence before reading the differences.

Only targets that describe the option itself apply: ``metric`` and ``share`` statistics with no ``scenario`` of
their own, measured on a first option that runs no programs (the fit targets describe police as usual). Targets
needing the ledger (``by_responder.*``, ``eligible_calls_01_09``) or another scenario are left out and named as
such in ``report.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crisis_sim.analysis import calibration as cal
from crisis_sim.scenario.docs import ROOT

DEFAULT_TARGETS = ROOT / "calibration" / "targets.toml"


def _summaries(runs: pd.DataFrame, scenario_index: int) -> list[dict[str, float]]:
    """One flattened summary per replication (stored columns and the extra JSON), replication order."""
    sub = runs[runs["scenario_index"] == scenario_index].sort_values("replication")
    out = []
    for _, row in sub.iterrows():
        summary: dict[str, Any] = {}
        text = row.get("extra")
        if isinstance(text, str):
            summary.update(json.loads(text))
        for k, v in row.items():
            if k not in ("extra", "scenario", "scenario_index", "replication") and not isinstance(v, str):
                summary[k] = v
        out.append(cal.flatten(summary))
    return out


def calibration_check(runs: pd.DataFrame, base_has_programs: bool, option: str,
                      targets: str | Path | None = None) -> dict[str, Any]:  # fmt: skip
    """``{"file", "checked": [row, ...], "skipped": [{target, reason}], "warnings": [{option, kind, text}]}``;
    an absent targets file gives ``{"file": None, ...}`` with nothing checked."""
    path = Path(targets) if targets else DEFAULT_TARGETS
    result: dict[str, Any] = {"file": None, "checked": [], "skipped": [], "warnings": []}
    if not path.is_file():
        return result
    result["file"] = str(path)
    try:
        items = cal.load_targets(path)
    except cal.CalibrationError as exc:
        result["skipped"].append({"target": "(file)", "reason": str(exc)})
        return result
    summaries = _summaries(runs, 0)
    for t in items:
        if t.kind not in ("metric", "share") or t.scenario is not None:
            result["skipped"].append({"target": t.name, "reason": "describes another scenario or a paired effect"})
            continue
        if base_has_programs and t.role == "fit":
            result["skipped"].append({"target": t.name, "reason": "describes police as usual; the first option "
                                      "runs programs"})  # fmt: skip
            continue
        try:
            m = cal.measure(t, {"own": summaries}, "own")
        except cal.CalibrationError:
            result["skipped"].append({"target": t.name, "reason": "needs a statistic the stored runs lack"})
            continue
        if not math.isfinite(m.mean):
            result["skipped"].append({"target": t.name, "reason": "not measurable in these runs"})
            continue
        row = m.row()
        result["checked"].append(row)
        if not m.ci_overlaps:
            lo, hi = t.tolerance
            ci = (f" (95% interval {_num(m.ci_low)} to {_num(m.ci_high)})"
                  if math.isfinite(m.ci_low) else "")  # fmt: skip
            result["warnings"].append({
                "option": option, "kind": "calibration target outside its range", "target": t.name,
                "text": f"{option}: {_statistic(t)} is {_num(m.mean)}{ci}"
                        + (f" ({t.population})" if t.population else "") + ", outside the published "
                        f"range {_num(lo)} to {_num(hi)} (calibration target {t.name}, {t.source.split(']')[0]}]) "
                        "— the city as simulated differs from the evidence here; check its inputs before "
                        "relying on differences that pass through this figure.",
            })  # fmt: skip
    return result


def _statistic(t: cal.Target) -> str:
    """The target's statistic in words: "the hold rate", "the share (a + b) / (c)"."""
    from crisis_sim.report.narrative import metric_label

    if t.kind == "metric":
        return "the " + metric_label(t.metric)
    return "the share " + cal.describe(t)


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def checked_rows_html(check: dict[str, Any], esc: Any) -> str:
    """The calibration targets checked, as a small table (for the details)."""
    rows: Sequence[dict[str, Any]] = check.get("checked") or []
    if not rows:
        return ""
    body = "".join(
        f"<tr><td class=l>{esc(r['target'])}</td><td class=l>{esc(r['population'])}</td>"
        f"<td class=num>{_num(r['simulated_mean'])}<br><span class=ci>{_num(r['ci_low'])} to {_num(r['ci_high'])}"
        f"</span></td><td class=num>{esc(r['observed'])}</td>"
        f"<td class='num {'better' if r['ci_overlaps_tolerance'] else 'worse'}'>"
        f"{'consistent' if r['ci_overlaps_tolerance'] else 'outside'}</td></tr>"
        for r in rows
    )
    return ("<div class=scroll><table><tr><th class=l>target</th><th class=l>statistic</th><th>first option, "
            "95% interval</th><th>published</th><th>verdict</th></tr>" + body + "</table></div>")
