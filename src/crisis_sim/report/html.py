"""The report as one self-contained HTML file: CSS inline, figures as ``data:`` PNG URIs, no external links.

:func:`build_report` turns an experiment (spec, runs, series, comparison) into HTML; :func:`write_report` writes it
atomically (a temporary file in the target folder, then a rename), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import crisis_sim.report.checks as checks
import crisis_sim.report.coverage as coverage
import crisis_sim.report.decision as decision
import crisis_sim.report.disparities as disparities
import crisis_sim.report.figures as figures
import crisis_sim.report.goals as goals_mod
from crisis_sim.experiments.compare import compare_runs, fmt_number, with_extra_metrics
from crisis_sim.provenance import describe as describe_version
from crisis_sim.provenance import provenance
from crisis_sim.report.narrative import describe_scenario, difference_sentences, metric_label
from crisis_sim.scenario.references import KEY, cited_keys, load_references
from crisis_sim.serialize import jsonable

OUTCOME_METRICS = (
    "mh_calls", "arrests", "arrest_rate", "use_of_force", "injuries", "ed_transports", "involuntary_holds",
    "resolved_on_scene", "referrals", "connected_to_services", "repeat_callers_90d", "median_response_min",
    "p90_response_min", "officer_hours_mh", "ed_wait_hours",
)  # fmt: skip
COST_METRICS = ("cost_total", "cost_police", "cost_ed", "cost_inpatient", "cost_jail", "cost_programs")
COVERAGE_METRICS = ("calls", "mh_calls", "mh_identified", "specialized_served", "specialized_coverage",
                    "phone_resolved", "open_calls")  # fmt: skip
SUMMARY_METRICS = ("arrests", "use_of_force", "ed_transports", "involuntary_holds", "connected_to_services",
                   "repeat_callers_90d", "median_response_min", "cost_total", "open_calls")  # fmt: skip

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1380px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.25em .5em;
text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.first td{border-top:2px solid #999}.sig{font-weight:bold}.muted{color:#666;font-size:.9em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}ul.summary li{margin:.3em 0}details{margin:.8em 0}
.box{background:#f7f9fc;border-left:4px solid #47a;padding:.6em 1em;margin:1em 0}
.scroll{overflow-x:auto;max-width:100%}td.num{text-align:right;white-space:nowrap}.ci{color:#555;font-size:.85em}
td.better{background:#e3f4e6}td.worse{background:#fbe4e2}td.unclear{color:#555}span.better{color:#1c6b2e;
font-weight:bold}span.worse{color:#a11;font-weight:bold}.legend{color:#444;font-size:.88em;max-width:60em}
.warn{background:#fff6e0;border-left:4px solid #d9a400;padding:.3em 1em;margin:1em 0}
table.decision th{vertical-align:bottom}summary{cursor:pointer;font-weight:600;margin:.4em 0}
table.decision{font-size:.8em}table.decision td,table.decision th{padding:.2em .35em}
table.decision td:nth-child(2){position:sticky;left:0;background:#fff;z-index:1}
.phone{display:none}
td.nw{white-space:nowrap}code{word-break:break-all}
@media (max-width:700px){.phone{display:block;color:#444;font-size:.85em}body{margin:.5em auto;padding:0 .4em}table{font-size:.78em}h1{font-size:1.3em}}
"""

_ITALIC, _I = re.compile(r"[*]([^*]+)[*]"), r"<i>\1</i>"  # *Journal* in docs/references.md


def _e(x: Any) -> str:
    return html.escape(str(x))


def _ci(lo: float, hi: float) -> str:
    if not (
        isinstance(lo, float | int)
        and isinstance(hi, float | int)
        and math.isfinite(lo)
        and math.isfinite(hi)
    ):
        return ""
    return f"[{fmt_number(lo)}, {fmt_number(hi)}]"


def comparison_table(result: dict[str, Any], metrics: Sequence[str]) -> str:
    """Mean [95% CI] per scenario and the paired difference against the first scenario [95% CI]."""
    labels = result["scenarios"]
    head = (
        "<tr><th class=l>outcome</th><th class=l>scenario</th><th>mean</th><th>95% CI</th>"
        f"<th>difference vs {_e(labels[0])}</th><th>95% CI (paired)</th></tr>"
    )
    body = []
    for m in metrics:
        per = result["metrics"].get(m)
        if per is None:
            continue
        for i, label in enumerate(labels):
            v = per[label]
            cls = ' class="first"' if i == 0 else ""
            name = f"{_e(metric_label(m))}<br><span class=muted>{_e(m)}</span>" if i == 0 else ""
            if i == 0:
                diff = diff_ci = ""
            else:
                sig = " class=sig" if v["significant"] else ""  # bold: interval excludes 0
                diff = f"<span{sig}>{fmt_number(v['diff'])}</span>"
                diff_ci = _ci(v["diff_ci_low"], v["diff_ci_high"]) + (" *" if v["significant"] else "")
            body.append(f"<tr{cls}><td class=l>{name}</td><td class=l>{_e(label)}</td>"
                        f"<td>{fmt_number(v['mean'])}</td><td>{_ci(v['ci_low'], v['ci_high'])}</td>"
                        f"<td>{diff}</td><td>{diff_ci}</td></tr>")  # fmt: skip
    return f"<div class=scroll><table>{head}{''.join(body)}</table></div>"


def _value_at(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if isinstance(obj, list):
            return None
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump()
    return obj


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def assumptions_table(scenarios: Sequence[Any], labels: Sequence[str]) -> str:
    """Every parameter with a recorded source: default, unit, source, plausible range, and the value each
    scenario used when it differs from the default (bold)."""
    from crisis_sim.scenario.docs import rows

    refs = load_references()
    head = ("<tr><th class=l>parameter</th><th class=l>default</th><th class=l>unit</th><th class=l>source</th>"
            "<th class=l>range</th>" + "".join(f"<th class=l>{_e(lab)}</th>" for lab in labels) + "</tr>")  # fmt: skip
    body, cited = [], []
    for path, default, unit, source, rng in rows():
        cited += [k for k in cited_keys(source) if k in refs and k not in cited]
        cells = []
        for sc in scenarios:
            value = _value_at(sc, path)
            text = "" if value is None else _short(value)
            cells.append(f"<b>{_e(text)}</b>" if text and text != default else _e(text))
        body.append(f"<tr><td class=l>{_e(path)}</td><td class=l>{_e(default)}</td><td class=l>{_e(unit)}</td>"
                    f"<td class=l>{_linked(source, refs)}</td><td class=l>{_e(rng)}</td>"
                    + "".join(f"<td class=l>{c}</td>" for c in cells) + "</tr>")  # fmt: skip
    return f"<div class=scroll><table>{head}{''.join(body)}</table></div>" + references_section(cited, refs)


def _linked(source: str, refs: dict[str, str]) -> str:
    """A source with each known ``[key]`` linked to its entry in the report's reference list."""
    out, pos = [], 0
    for m in KEY.finditer(source):
        key = m.group(1)
        out.append(_e(source[pos : m.start()]))
        out.append(f'<a href="#ref-{key}">[{_e(key)}]</a>' if key in refs else _e(m.group(0)))
        pos = m.end()
    return "".join(out) + _e(source[pos:])


def references_section(keys: Sequence[str], refs: dict[str, str]) -> str:
    """The cited entries of docs/references.md with their full citation, each anchored at ``#ref-<key>``."""
    if not keys:
        return ""
    items = "".join(f'<li id="ref-{k}"><b>[{_e(k)}]</b> {_ITALIC.sub(_I, _e(refs[k]))}</li>' for k in keys)
    return f'<h3 id="references">References</h3><ul class=refs>{items}</ul>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="{figures.data_uri(png)}">'


def report_data(spec: Any, runs: pd.DataFrame, series: pd.DataFrame, psa: Any = None,
                goals: Any = None, weights: Any = None, weights_source: str = "", goals_psa: Any = None,
                targets: Any = None, rank_by: str = "count", discount: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """The numbers of the report as plain data (written beside the HTML as ``report.json``): the decision table
    (:func:`crisis_sim.report.decision.decision_data`), every outcome's mean and paired difference, provenance.
    ``goals`` (from a goals file) are added to the ``[[goals]]`` of the options' scenario files; ``goals_psa``:
    (runs, series, draws) of the PSA renumbered by :func:`crisis_sim.report.goals.psa_as_replications`;
    ``targets``: a calibration targets file for the calibration-target warning (default: the repository's)."""
    names = decision.option_names(spec)
    wanted = list(dict.fromkeys([*OUTCOME_METRICS, *COST_METRICS, *COVERAGE_METRICS]))
    runs_x, _unknown = with_extra_metrics(runs, wanted)
    present = [m for m in wanted if m in runs_x.columns]
    data = decision.decision_data(spec, runs, series, psa, weights=weights, weights_source=weights_source,
                                  rank_by=rank_by, discount=discount)  # fmt: skip
    data["outcomes"] = compare_runs(runs_x, names, present)
    all_goals = goals_mod.merge_goals(goals_mod.goals_of_scenarios(spec), goals or [])
    if all_goals:
        sim = spec.scenarios[0].scenario.simulation
        warm_month = int(sim.warmup_days // sim.month_days) + 1
        data["goals"] = goals_mod.evaluate(all_goals, runs, series, names, warm_month)
        if goals_psa is not None:
            p_runs, p_series, draws = goals_psa
            goals_mod.attach_psa(data["goals"], goals_mod.evaluate(all_goals, p_runs, p_series, names, warm_month),
                                 draws)  # fmt: skip
    check = checks.calibration_check(runs, bool(decision.programs_on(spec.scenarios[0].scenario)), names[0],
                                     targets)  # fmt: skip
    data["calibration_check"] = check
    data["warnings"] = [*data["warnings"], *check["warnings"]]
    per_year = 365.0 / data["counted_days"]
    groups = disparities.disparities_data(runs, names, per_year)
    if groups:
        data["disparities"] = groups
    data["provenance"] = provenance()
    data["root_seed"] = spec.root_seed
    data["days"] = spec.days
    return jsonable(data)


def build_report(
    spec: Any,
    runs: pd.DataFrame,
    series: pd.DataFrame,
    command: str = "",
    elapsed_s: float | None = None,
    psa: Any = None,
    goals: Any = None,
    psa_detail: Any = None,
    **options: Any,
) -> str:
    """The whole report as one HTML string (no external resources); ``options`` as
    :func:`build_report_with_data`."""
    return build_report_with_data(spec, runs, series, command, elapsed_s, psa, goals, psa_detail, **options)[0]


def build_report_with_data(
    spec: Any,
    runs: pd.DataFrame,
    series: pd.DataFrame,
    command: str = "",
    elapsed_s: float | None = None,
    psa: Any = None,
    goals: Any = None,
    psa_detail: Any = None,
    weights: Any = None,
    weights_source: str = "",
    goals_psa: Any = None,
    coverage_curve: Any = None,
    targets: Any = None,
    rank_by: str = "count",
    exploration: Any = None,
    discount: float = 0.0,
) -> tuple[str, dict[str, Any]]:
    """The report as one HTML string and the data it shows (for ``report.json``). ``goals``: a list of
    :class:`crisis_sim.report.goals.Goal` (a :class:`~crisis_sim.report.goals.GoalError` names a bad one).
    ``psa_detail``: the whole PSA (:func:`crisis_sim.analysis.psa.psa_document`); adds the acceptability
    curves and the value-of-information ranking after the decision table, and ``data["psa_detail"]``.
    ``weights``/``weights_source``: ranking weights (:func:`crisis_sim.report.decision.parse_weights`) and where
    they were set; ``rank_by``: "count" or "size" (:func:`crisis_sim.report.decision.rank_options`);
    ``goals_psa``, ``targets``: see :func:`report_data`; ``coverage_curve``: the data of
    :func:`crisis_sim.report.curve.curve_data` (shown under staffing and sizing).
    ``exploration``: ``{"design": ..., "robustness": ...}`` read by :mod:`crisis_sim.report.exploration` from the
    folders of ``crisis-sim design`` / ``robustness``; adds their sections after the goals, and the same keys to
    the data. ``discount``: yearly rate for the costs and outcomes of the cost per outcome averted."""
    data = report_data(spec, runs, series, psa, goals, weights=weights, weights_source=weights_source,
                       goals_psa=goals_psa, targets=targets, rank_by=rank_by, discount=discount)  # fmt: skip
    if coverage_curve:
        data["coverage_curve"] = jsonable(coverage_curve)
    if psa_detail:
        data["psa_detail"] = jsonable(psa_detail)
    names = data["options"]
    scenarios = [e.scenario for e in spec.scenarios]
    result = data["outcomes"]
    present = list(result["metrics"])
    counted_days = data["counted_days"]
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>Crisis response options: {_e(', '.join(names))}</title><style>{CSS}</style></head><body>",
        f"<h1>Which crisis response to fund? {len(names)} option(s) compared</h1>",
        f"<p class=muted>Generated {now} by crisis_sim. {len(names)} option(s) × {spec.replications} "
        f"paired replication(s), root seed {spec.root_seed}; {counted_days:,} counted days"
        + (f" (horizon shortened to {spec.days} days)" if spec.days else "")
        + (f"; {elapsed_s:.0f} s of computing" if elapsed_s is not None else "")
        + ". Figures per year unless marked.</p>",
    ]
    # The decision first
    parts.append("<h2 id=decision>Decision table</h2>")
    parts.append(decision.decision_html(data, _e))
    if psa_detail:
        parts.append(uncertainty_html(psa_detail, names))
    if data.get("goals"):
        parts.append("<h2 id=goals>Goals</h2>")
        parts.append(goals_mod.goals_html(data["goals"], names, _e))
    if exploration:
        parts.append(exploration_html(exploration, data))
    parts.append("<h2 id=staffing>Staffing and sizing</h2>")
    parts.append(decision.staffing_html(data, _e))
    parts.append(coverage.coverage_by_hour_html(data, _e))
    if data.get("coverage_curve"):
        from crisis_sim.report.curve import curve_html

        parts.append(curve_html(data["coverage_curve"], _e))
    if data.get("disparities"):
        parts.append("<h2 id=disparities>Disparities by group</h2>")
        parts.append(disparities.disparities_html(data["disparities"], names, _e))
    warm_month = int(scenarios[0].simulation.warmup_days // scenarios[0].simulation.month_days) + 1
    diff_vars = [v for v in figures.DIFFERENCE_SERIES if v in set(series["variable"])] if len(series) else []
    if len(names) > 1 and diff_vars:
        parts.append(f"<h2 id=monthly>Month by month: change against {_e(names[0])}</h2><p class=legend>Each "
                     "panel is one option: its monthly count minus the first option's, replication by replication "
                     "(mean line; shaded: 95% interval of run-to-run noise). Below zero means fewer a month. "
                     f"Warm-up months are left out (the chart starts at month {warm_month}).</p>")  # fmt: skip
        parts.append(_img(figures.difference_figure(series, names, diff_vars, first_month=warm_month),
                          "monthly differences against the first option, one panel per option"))  # fmt: skip
    if command:
        parts.append(f"<p class=muted>Command: <code>{_e(command)}</code></p>")
    parts.append("<h2 id=details>Details</h2>")
    # Summary
    parts.append("<details><summary>In short: the differences in sentences</summary>")
    if len(names) > 1:
        sentences = difference_sentences(result, [m for m in SUMMARY_METRICS if m in present])
        parts.append("<ul class=summary>" + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
    else:
        parts.append("<p>One option: no comparison; the tables give its outcomes with 95% intervals.</p>")
    parts.append("</details>")
    # Scenarios in words
    parts.append("<details><summary>The scenarios in words</summary>")
    for name, entry in zip(names, spec.scenarios, strict=True):
        sentences = describe_scenario(entry.scenario, with_description=not entry.overrides)
        src = f" <span class=muted>(file {_e(entry.file)}"
        src += (", with " + ", ".join(f"{_e(k)} = {_e(v)}" for k, v in entry.overrides.items())
                if entry.overrides else "")  # fmt: skip
        src += ")</span>"
        parts.append(f"<h3>{_e(name)}{src}</h3>")
        parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
    parts.append("</details>")
    intro = (
        "<p class=muted>Replication <i>k</i> of every option sees the same crises (common random numbers), "
        "so the <b>paired</b> differences compare the same people and the same calls answered differently. An "
        "interval that excludes zero is marked * and in bold: the difference is larger than the run-to-run "
        f"noise. Counts are totals over the counted period of {counted_days:,} days (warm-up excluded).</p>"
    )
    # Outcomes
    parts.append("<details><summary>Key outcomes over the whole period, with 95% intervals</summary>" + intro)
    parts.append(comparison_table(result, [m for m in OUTCOME_METRICS if m in present]))
    if len(names) > 1:
        key = [m for m in ("arrests", "use_of_force", "ed_transports", "involuntary_holds", "connected_to_services",
                           "median_response_min") if m in present]  # fmt: skip
        parts.append(_img(figures.outcomes_figure(result, key), "paired differences with 95% intervals"))
    parts.append("</details>")
    # Costs
    parts.append("<details><summary>Costs by payer</summary><p>Dollars over the counted period: police time, "
                 "emergency department, inpatient days after holds, jail days after arrests, and the programs' own "
                 "costs (staff, beds).</p>")  # fmt: skip
    parts.append(comparison_table(result, [m for m in COST_METRICS if m in present]) + "</details>")
    # Series
    parts.append("<details><summary>Month by month: levels</summary><p>Mean over replications per month with "
                 "its 95% band (t-interval of the mean). Dotted lines mark timeline events of the scenarios.</p>")
    variables = figures.available_series(series)
    if variables:
        events = []
        for sc in scenarios:
            for ev in getattr(sc, "timeline", []) or []:
                month = ev.day / sc.simulation.month_days
                events.append((month, ev.label or ev.type))
        events = list(dict.fromkeys(events))[:8]
        parts.append(_img(figures.series_figure(series, names, variables, events=events), "monthly series"))
    else:
        parts.append("<p>No monthly series were recorded.</p>")
    parts.append("</details>")
    # Coverage
    parts.append(
        "<details><summary>Coverage and unserved calls</summary><p>MH calls answered by a specialised "
        "responder (mobile crisis, co-response, CIT officer, triage), their share of eligible MH calls, and "
        "calls still waiting or unserved when the simulation stopped.</p>"
    )
    parts.append(comparison_table(result, [m for m in COVERAGE_METRICS if m in present]) + "</details>")
    if data["calibration_check"]["checked"]:
        parts.append("<details><summary>The first option against published figures (calibration targets)"
                     "</summary><p class=legend>Each target of the calibration targets file that describes the "
                     "first option, measured on its runs as the calibration does; 'outside' means the 95% interval "
                     "of the simulated figure does not meet the published range (a warning above).</p>")  # fmt: skip
        parts.append(checks.checked_rows_html(data["calibration_check"], _e) + "</details>")
    # Assumptions
    parts.append(
        "<details><summary>Assumptions and their sources</summary><p>Every parameter with a recorded source "
        "(from the scenario schema; <code>docs/parameters.md</code>). A value in bold differs from the default. "
        "Parameters of the programs are documented in <code>docs/programs/</code>.</p>"
    )
    parts.append(assumptions_table(scenarios, names))
    parts.append("</details>")
    parts.append("<p class=muted>crisis_sim is a simulation: its figures are as good as the assumptions above. "
                 "Use differences between options, not absolute levels, for decisions.</p>")  # fmt: skip
    parts.append(f"<p class=muted id=provenance>{_e(describe_version())}</p></body></html>")
    return "\n".join(parts), data


def exploration_html(exploration: dict[str, Any], data: dict[str, Any]) -> str:
    """The design and robustness sections (report/exploration.py); their numbers go into ``data``."""
    import crisis_sim.report.exploration as ex

    parts = []
    for key, section in (("design", ex.design_html), ("robustness", ex.robustness_html)):
        if exploration.get(key):
            data[key] = jsonable(exploration[key])
            parts.append(section(exploration[key], _e))
    return "\n".join(parts)


_CEAC_TITLES = {
    "arrests": "per arrest averted", "ed_transports": "per ED transport averted",
    "involuntary_holds": "per involuntary hold averted", "use_of_force": "per use-of-force incident averted",
    "connected_to_services": "per extra person connected to services",
}  # fmt: skip


def uncertainty_html(detail: dict[str, Any], names: Sequence[str], top: int = 10) -> str:
    """The PSA's acceptability curves (``detail["ceac"]``) and the EVPPI ranking for arrests
    (``detail["evppi"]["arrests"]``), in plain words, folded under two headings."""
    parts = []
    ceac = {o: rows for o, rows in (detail.get("ceac") or {}).items() if rows}
    if ceac:
        parts.append(
            "<h2 id=value-for-money>Is it worth the money? Chance each option is the best buy</h2>"
            "<details open><summary>Cost-effectiveness acceptability curves</summary><p class=legend>For each "
            "amount a city would be willing to pay to avert one outcome (x), the share of the "
            f"{int(detail.get('draws') or 0)} draws of what we don't know in which each option gives the most "
            "value for money (net benefit: that amount times the outcomes averted, minus the extra cost, against "
            f"{_e(names[0])}). Where a curve is near 1 the choice is settled at that price; curves near each "
            "other mean the evidence cannot yet tell the options apart. Costs and outcomes "
            f"{_e((detail.get('discount') or {}).get('text') or 'not discounted')}.</p>"
        )  # fmt: skip
        parts.append(_img(figures.ceac_figure(ceac, _CEAC_TITLES), "cost-effectiveness acceptability curves"))
        parts.append("</details>")
    rows = (detail.get("evppi") or {}).get("arrests") or []
    if rows:
        evpi = (detail.get("evpi") or {}).get("arrests")
        evpi_text = f"{evpi:.3g}" if isinstance(evpi, int | float) else "–"
        body = "".join(f"<tr><td>{i}</td><td>{_e(r['parameter'])}</td><td class=num>{float(r['value']):.3g}</td></tr>"
                       for i, r in enumerate(rows[:top], start=1))  # fmt: skip
        parts.append(
            "<h2 id=evidence-gaps>Which evidence gap matters most for this choice</h2>"
            "<details open><summary>Value of information for arrests (EVPPI)</summary><p class=legend>How many "
            "arrests over the simulated period a better choice would avoid, on average, if this one input were "
            "known exactly before choosing (expected value of partial perfect information, regression "
            f"estimate). Knowing every input would be worth {evpi_text} (EVPI). A study that narrows the top "
            "inputs is the most useful for this choice; a value near 0 means that input does not change which "
            "option is best.</p>"
            + (("<p><b>Here every value is 0: the same option had the fewest arrests in every draw, so no input, "
                "as uncertain as the evidence says, changes the choice on arrests.</b></p>" if not evpi else
                "<p><b>Here every value is 0: no single input alone changes the choice on arrests (by this "
                "estimate); only several together do.</b></p>")
               if all(float(r["value"]) == 0 for r in rows) else "")
            + f"<table><tr><th>rank</th><th>input</th><th>EVPPI (arrests)</th></tr>{body}</table>"
        )  # fmt: skip
        parts.append(_img(figures.evppi_figure(rows, top), "value of information per input, for arrests"))
        parts.append("</details>")
    return "\n".join(parts)


def write_report(path: str | Path, text: str) -> Path:
    """Write atomically: a temporary file next to the target, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
