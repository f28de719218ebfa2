"""Disparities by group: when the runs' summaries carry ``by_group.<attribute>.<value>.<metric>`` (counts per
group of residents, e.g. ``by_group.race.black.arrests``), each group's rate per 1,000 of its MH calls (or, when a
group has no ``mh_calls`` count, its count a year) for every option, and each option's change against the first
option with its paired 95% interval (common random numbers: replication k of every option sees the same crises).

The rates are the model's outputs for groups whose inputs the scenario sets; a gap between groups that follows
from an input (e.g. a higher identification probability for one group) is that input, not a finding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.experiments.compare import paired_interval, t_interval

# Outcomes shown per group (those the summaries carry), and which way is better.
GROUP_METRICS: dict[str, tuple[str, str]] = {
    "arrests": ("arrests", "lower"),
    "use_of_force": ("use-of-force incidents", "lower"),
    "involuntary_holds": ("involuntary holds", "lower"),
    "ed_transports": ("ED transports", "lower"),
    "injuries": ("injuries", "lower"),
    "connected_to_services": ("people connected to services", "higher"),
    "specialized_served": ("calls answered by a specialised responder", "higher"),
}
DENOMINATOR = "mh_calls"


def _groups(runs: pd.DataFrame) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for s, r, text in zip(runs["scenario_index"], runs["replication"], runs.get("extra", [None] * len(runs)),
                          strict=True):  # fmt: skip
        extra = json.loads(text) if isinstance(text, str) else {}
        bg = extra.get("by_group")
        if isinstance(bg, dict) and bg:
            out[(int(s), int(r))] = bg
    return out


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _n(x: float) -> float | None:
    return x if math.isfinite(x) else None


def disparities_data(runs: pd.DataFrame, names: Sequence[str], per_year: float) -> dict[str, Any] | None:
    """``{attribute: {"groups": [value...], "metrics": {metric: {value: {option: {rate, low, high, diff,
    diff_low, diff_high, clear, verdict}}}}, "unit": {metric: text}}}``; None when no run carries groups."""
    by = _groups(runs)
    if not by:
        return None
    n = len(names)
    reps = sorted({r for (_s, r) in by})
    attributes: dict[str, list[str]] = {}
    for bg in by.values():
        for attr, groups in bg.items():
            if isinstance(groups, dict):
                seen = attributes.setdefault(str(attr), [])
                seen.extend(str(g) for g in groups if str(g) not in seen)
    out: dict[str, Any] = {}
    for attr, values in attributes.items():
        metrics: dict[str, Any] = {}
        units: dict[str, str] = {}
        for m, (_word, better) in GROUP_METRICS.items():
            per_value: dict[str, Any] = {}
            for v in values:
                mat = np.full((n, len(reps)), np.nan)
                has_den = False
                for s in range(n):
                    for j, r in enumerate(reps):
                        g = ((by.get((s, r)) or {}).get(attr) or {}).get(v)
                        if not isinstance(g, dict) or m not in g:
                            continue
                        num = _f(g[m])
                        den = _f(g.get(DENOMINATOR))
                        if DENOMINATOR in g:
                            has_den = True
                            mat[s, j] = 1000.0 * num / den if den > 0 else math.nan
                        else:
                            mat[s, j] = num * per_year
                if not np.isfinite(mat).any():
                    continue
                units[m] = "per 1,000 MH calls of the group" if has_den else "a year"
                opts = {}
                for s, name in enumerate(names):
                    mean, lo, hi = t_interval(mat[s])
                    cell: dict[str, Any] = {"rate": _n(mean), "low": _n(lo), "high": _n(hi)}
                    if s:
                        d, dlo, dhi = paired_interval(mat[0], mat[s])
                        clear = math.isfinite(dlo) and math.isfinite(dhi) and (dlo > 0 or dhi < 0)
                        verdict = ("better" if (d < 0) == (better == "lower") else "worse") if clear else "unclear"
                        cell.update({"diff": _n(d), "diff_low": _n(dlo), "diff_high": _n(dhi), "clear": clear,
                                     "verdict": verdict})  # fmt: skip
                    opts[name] = cell
                per_value[v] = opts
            if per_value:
                metrics[m] = per_value
        if metrics:
            out[attr] = {"groups": values, "metrics": metrics, "unit": units}
    return out or None


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    text = f"{abs(x):,.1f}" if abs(x) < 100 else f"{abs(x):,.0f}"
    return (("+" if x > 0 else "−" if x < 0 else "") if signed else ("−" if x < 0 else "")) + text


def disparities_html(data: dict[str, Any], names: Sequence[str], esc: Any) -> str:
    parts = []
    for attr, d in data.items():
        head = ("<tr><th class=l>outcome</th><th class=l>group</th>"
                + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>")  # fmt: skip
        body = []
        for m, per_value in d["metrics"].items():
            for i, (v, opts) in enumerate(per_value.items()):
                word = (f"{esc(GROUP_METRICS[m][0])}<br><span class=ci>{esc(d['unit'][m])}, "
                        f"{GROUP_METRICS[m][1]} is better</span>") if i == 0 else ""  # fmt: skip
                cells = []
                for k, name in enumerate(names):
                    c = opts[name]
                    ci = (f"<br><span class=ci>{_fmt(c['low'])} to {_fmt(c['high'])}</span>"
                          if c["low"] is not None else "")  # fmt: skip
                    if k == 0:
                        cells.append(f"<td class=num>{_fmt(c['rate'])}{ci}</td>")
                        continue
                    change = (f"<br>change {_fmt(c['diff'], True)}<br><span class=ci>{_fmt(c['diff_low'], True)} "
                              f"to {_fmt(c['diff_high'], True)}</span>" if c.get("diff") is not None else "")  # fmt: skip
                    cls = {"better": "better", "worse": "worse"}.get(c.get("verdict", ""), "unclear")
                    cells.append(f"<td class='num {cls}'>{_fmt(c['rate'])}{ci}{change}</td>")
                first = " class=first" if i == 0 else ""
                body.append(f"<tr{first}><td class=l>{word}</td><td class=l>{esc(v)}</td>{''.join(cells)}</tr>")
        parts.append(f"<h3>By {esc(attr.replace('_', ' '))}</h3><div class=scroll><table class=disparities>{head}"
                     f"{''.join(body)}</table></div>")  # fmt: skip
    return ("".join(parts) + "<p class=legend>Each group's rate (per 1,000 of the group's MH calls, or a year when "
            "the runs count no MH calls per group) with its 95% interval over replications; for every other option "
            "the change against the first option in the same group with its paired 95% interval (green better, "
            "red worse, grey unclear). A gap between groups that an input of the scenario sets (e.g. how often "
            "dispatch recognises a crisis in one group) is that input, not a finding.</p>")  # fmt: skip
