"""The report's design and robustness sections, read from the output folders of ``crisis-sim design`` and
``crisis-sim robustness`` (``crisis-sim report ... --design DIR --robustness DIR``; docs/report.md).

:func:`load_design` / :func:`load_robustness` read and check a folder (``pareto.json`` and ``trials.csv``;
``robustness.json`` and ``robustness.csv``) and return the numbers the report shows (they go into ``report.json``
as ``design`` and ``robustness``); a folder that is missing or was not written by the command raises
:class:`ExplorationError` with one line. :func:`design_html` / :func:`robustness_html` write the sections in plain
words: the designs on the best trade-off line and the cheapest one meeting every goal (with its confirmation
intervals), and for each option the stressor ranges it breaks in (PRIM boxes), how often it fails outside them,
its failure share and regret. Nothing here runs a simulation: the numbers are those the commands computed.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from crisis_sim.report.figures import data_uri
from crisis_sim.report.narrative import METRIC_WORDS, metric_label

Escape = Callable[[Any], str]

_WORDS = {  # the design search's derived metrics (analysis/design_inputs.py), beside the run summary's
    "annual_cost": ("annual cost", "$"),
    "lever_cost": ("cost of the levers not in the schema", "$"),
}
_OPS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_GOAL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*(\S+)\s*$")


MIN_OUTSIDE = 5  # combinations outside the breaking ranges needed before saying what an option tolerates


class ExplorationError(Exception):
    """A --design or --robustness folder that cannot be read; one user-facing line."""


# --- what the report reads of the folders (pydantic: anything else is ignored) --------------------------------------
class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Objective(_Loose):
    metric: str
    direction: str


class _Interval(_Loose):
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    diff: float | None = None
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None


class _Confirmed(_Loose):
    metrics: dict[str, _Interval]
    constraints: dict[str, bool] = {}
    feasible: bool | None = None


class _Design(_Loose):
    trial: int
    levers: dict[str, float]
    objectives: dict[str, float | None]
    metrics: dict[str, float | None] = {}
    feasible: bool
    confirmation: _Confirmed | None = None


class _Confirmation(_Loose):
    replications: int
    designs: dict[str, _Confirmed] = {}


class _DesignDoc(_Loose):
    scenario: str
    objectives: list[_Objective]
    constraints: list[str] = []
    cheapest_by: str | None = None
    replications: int
    trials: int
    feasible_trials: int
    days: int | None = None
    pareto: list[_Design]
    best_feasible: _Design | None = None
    closest: list[_Design] = []
    confirmation: _Confirmation | None = None


class _Uncertainty(_Loose):
    name: str
    low: float
    high: float
    source: str | None = None


class _Box(_Loose):
    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float | None = None


class _Policy(_Loose):
    experiments: int
    failure_share: float
    satisficing: float
    boxes: list[_Box]
    regret: float | None = None
    regret_p90: float | None = None
    regret_metric: str


class _RobustnessDoc(_Loose):
    policies: dict[str, _Policy]
    uncertainties: list[_Uncertainty]
    goals: list[str]
    regret_metric: str
    experiments: int
    replications: int
    days: int | None = None


def _read_json(folder: str | Path, name: str, option: str, command: str) -> dict[str, Any]:
    where = Path(folder)
    expected = f"{option} {folder}: expected a folder written by crisis-sim {command} (with {name})"
    if not where.is_dir():
        raise ExplorationError(f"{expected}, found {'a file' if where.exists() else 'no such folder'}")
    path = where / name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExplorationError(f"{expected}, found no {name} in it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExplorationError(f"{expected}, found an unreadable {name} ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise ExplorationError(f"{expected}, found a {name} that is not a JSON object")
    return doc


def _validated(model: type[BaseModel], doc: dict[str, Any], option: str, folder: str | Path, name: str,
               command: str) -> Any:  # fmt: skip
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ExplorationError(f"{option} {folder}: {name}: {key}: expected what crisis-sim {command} writes "
                               f"({err['msg'].lower()})") from None  # fmt: skip


def _read_csv(path: Path, option: str, folder: str | Path, columns: Sequence[str]) -> pd.DataFrame | None:
    """A table beside the JSON (optional: None when absent); one line when present but unreadable."""
    if not path.exists():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ExplorationError(f"{option} {folder}: {path.name}: expected a CSV table, found an unreadable file "
                               f"({type(exc).__name__})") from None  # fmt: skip
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ExplorationError(f"{option} {folder}: {path.name}: expected a column {missing[0]!r}, found "
                               f"{', '.join(map(str, table.columns[:8]))}")  # fmt: skip
    return table


def load_design(folder: str | Path, option: str = "--design") -> dict[str, Any]:
    """The numbers of a design study folder for the report: the objectives and goals, every design of the Pareto
    front, the cheapest feasible design (with its confirmation) or the closest ones, and (from ``trials.csv``)
    every trial's objective values for the figure."""
    raw = _read_json(folder, "pareto.json", option, "design")
    doc = _validated(_DesignDoc, raw, option, folder, "pareto.json", "design")
    objectives = [o.metric for o in doc.objectives]
    trials = _read_csv(Path(folder) / "trials.csv", option, folder, ["trial", "feasible"])
    points = []
    if trials is not None and all(m in trials.columns for m in objectives[:2]):
        for row in trials.itertuples(index=False):
            d = row._asdict()
            points.append({"trial": int(d["trial"]), "feasible": str(d["feasible"]).lower() == "true",
                           **{m: _num(d[m]) for m in objectives[:2]}})  # fmt: skip
    dumped = doc.model_dump()
    return {
        "folder": str(folder),
        "scenario": doc.scenario,
        "objectives": dumped["objectives"],
        "goals": list(doc.constraints),
        "cheapest_by": doc.cheapest_by or (objectives[0] if objectives else None),
        "trials": doc.trials,
        "feasible_trials": doc.feasible_trials,
        "replications": doc.replications,
        "days": doc.days,
        "pareto": dumped["pareto"],
        "best_feasible": dumped["best_feasible"],
        "closest": dumped["closest"],
        "confirmation_replications": doc.confirmation.replications if doc.confirmation else None,
        "confirmation": {k: v for k, v in (dumped["confirmation"] or {}).get("designs", {}).items()},
        "trial_points": points,
    }


def load_robustness(folder: str | Path, option: str = "--robustness") -> dict[str, Any]:
    """The numbers of a robustness study folder for the report: per option its failure share, regret and PRIM
    boxes, and (from ``robustness.csv``) how often it fails outside its boxes and the points for the figure."""
    raw = _read_json(folder, "robustness.json", option, "robustness")
    doc = _validated(_RobustnessDoc, raw, option, folder, "robustness.json", "robustness")
    names = [u.name for u in doc.uncertainties]
    for policy, info in doc.policies.items():
        for k, box in enumerate(info.boxes):
            unknown = [n for n in box.limits if n not in names]
            if unknown:
                raise ExplorationError(f"{option} {folder}: robustness.json: policies.{policy}.boxes.{k}.limits: "
                                       f"expected a declared uncertainty, found {unknown[0]!r}")  # fmt: skip
    table = _read_csv(Path(folder) / "robustness.csv", option, folder, ["policy", "failed", *names])
    dumped = doc.model_dump()
    policies: dict[str, Any] = {}
    for policy, info in dumped["policies"].items():
        entry = {**info, "boxes": [{**b, "limits": {n: list(v) for n, v in b["limits"].items()}}
                                   for b in info["boxes"]]}  # fmt: skip
        if table is not None:
            rows = table[table["policy"].astype(str) == policy]
            failed = rows["failed"].astype(str).str.lower().isin(["true", "1", "1.0"])
            inside = pd.Series(False, index=rows.index)
            for box in info["boxes"]:
                mask = pd.Series(True, index=rows.index)
                for n, (lo, hi) in box["limits"].items():
                    mask &= (rows[n] >= lo) & (rows[n] <= hi)
                inside |= mask
            out = ~inside
            entry["outside_boxes"] = {"experiments": int(out.sum()),
                                      "failure_share": float(failed[out].mean()) if out.any() else None}  # fmt: skip
            entry["sampled"] = {n: [float(rows[n].min()), float(rows[n].max())] for n in names if len(rows)}
        policies[policy] = entry
    return {
        "folder": str(folder),
        "goals": list(doc.goals),
        "regret_metric": doc.regret_metric,
        "experiments": doc.experiments,
        "replications": doc.replications,
        "days": doc.days,
        "uncertainties": dumped["uncertainties"],
        "policies": policies,
        "points": None if table is None else _points(table, names),
    }


def _points(table: pd.DataFrame, names: Sequence[str]) -> list[dict[str, Any]]:
    failed = table["failed"].astype(str).str.lower().isin(["true", "1", "1.0"])
    return [{"policy": str(p), "failed": bool(f), **{n: _num(v) for n, v in zip(names, vals, strict=True)}}
            for p, f, *vals in zip(table["policy"], failed, *(table[n] for n in names), strict=True)]  # fmt: skip


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --- plain words -----------------------------------------------------------------------------------------------------
def _label(metric: str) -> str:
    return _WORDS[metric][0] if metric in _WORDS else metric_label(metric)


def _unit(metric: str) -> str:
    return (_WORDS.get(metric) or METRIC_WORDS.get(metric) or ("", ""))[1]


def words(name: str) -> str:
    """A lever or stressor name as words: ``mobile_teams`` → ``mobile teams``."""
    return name.replace("_", " ").strip()


def value(metric: str, x: Any) -> str:
    """A metric's value with its unit: shares as percentages, dollars with $, minutes with min."""
    v = _num(x)
    if v is None:
        return "n/a"
    unit = _unit(metric)
    if unit == "share":
        return f"{v:.0%}" if abs(v) >= 0.01 or v == 0 else f"{v:.1%}"
    if unit == "$":
        return f"${v / 1e6:,.2f}M" if abs(v) >= 1e6 else f"${v:,.0f}"
    if unit in ("min", "h"):
        return f"{v:.1f} {unit}"
    return _plain(v)


def _plain(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e6:
        return f"{int(v):,}"
    a = abs(v)
    return f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 10 else f"{v:.3g}"


def goal_words(text: str) -> str:
    """``specialized_coverage >= 0.8`` → ``coverage of eligible MH calls at least 80%``."""
    m = _GOAL.match(text)
    if not m:
        return text
    metric, op, bound = m.groups()
    return f"{_label(metric)} {_OPS[op]} {value(metric, bound)}"


def _levers_text(levers: Mapping[str, Any]) -> str:
    return ", ".join(f"{words(k)} {_plain(float(v))}" for k, v in levers.items())


def _ci(metric: str, lo: Any, hi: Any) -> str:
    return f" [{value(metric, lo)} to {value(metric, hi)}]" if _num(lo) is not None and _num(hi) is not None else ""


def _signed(metric: str, x: Any) -> str:
    v = _num(x)
    if v is None:
        return "n/a"
    return ("+" if v > 0 else "−" if v < 0 else "±") + value(metric, abs(v))


# --- design ----------------------------------------------------------------------------------------------------------
def design_html(data: Mapping[str, Any], e: Escape) -> str:
    """The design section: what was searched, the best trade-off line (Pareto front) as a table and a figure, and
    the cheapest design meeting every goal with its confirmation intervals (or the closest designs)."""
    objectives = [o["metric"] for o in data["objectives"]]
    goals = [goal_words(g) for g in data["goals"]]
    front = data["pareto"]
    parts = ["<h2 id=design>How much of each program: the designs searched</h2>"]
    cheap_by = data.get("cheapest_by") or (objectives[0] if objectives else "")
    costs = [d["objectives"].get(cheap_by) for d in front if _num(d["objectives"].get(cheap_by)) is not None]
    cost_range = (f"; their {_label(cheap_by)} runs from {value(cheap_by, min(costs))} to "
                  f"{value(cheap_by, max(costs))}" if costs else "")  # fmt: skip
    aims = ", ".join(f"{'lowest' if o['direction'] == 'minimize' else 'highest'} {_label(o['metric'])}"
                     for o in data["objectives"])  # fmt: skip
    parts.append(
        f"<p>A search (NSGA-II) tried {data['trials']:,} program designs of <b>{e(Path(data['scenario']).stem)}</b>, "
        f"each simulated {data['replications']} time(s) over the same crises, aiming at the {e(aims)}"
        + (f", with the goals {e('; '.join(goals))}" if goals else "")
        + f". {data['feasible_trials']:,} of them met every goal. <b>{len(front)} design(s)</b> are on the best "
        f"trade-off line: none of them can be improved on one aim without losing on another{e(cost_range)}.</p>"
    )  # fmt: skip
    best = data.get("best_feasible")
    if best:
        parts.append(_best_html(data, best, goals, e))
    elif data["goals"]:
        near = data.get("closest") or []
        parts.append(
            "<div class=warn><p><b>No design met every goal</b> "
            f"({e('; '.join(goals))}) in {data['trials']:,} trials. The closest:</p><ul>"
            + "".join(f"<li>design {d['trial']}: {e(_levers_text(d['levers']))}: "
                      + e(", ".join(f"{_label(m)} {value(m, d['metrics'].get(m, d['objectives'].get(m)))}"
                                    for m in _goal_metrics(data["goals"])))
                      + _confirmed_text(data, d, e) + "</li>" for d in near)
            + "</ul><p>Widen a lever's range, relax a goal, or run more trials.</p></div>"
        )  # fmt: skip
    lever_names = list(dict.fromkeys(k for d in front for k in d["levers"]))
    head = ("<tr><th>design</th>" + "".join(f"<th>{e(words(n))}</th>" for n in lever_names)
            + "".join(f"<th>{e(_label(m))}</th>" for m in objectives) + "<th>meets every goal</th></tr>")  # fmt: skip
    body = []
    for d in sorted(front, key=lambda d: (_num(d["objectives"].get(cheap_by)) is None,
                                          _num(d["objectives"].get(cheap_by)) or 0.0)):  # fmt: skip
        mark = " class=better" if best and d["trial"] == best["trial"] else ""
        body.append(f"<tr><td{mark}>{d['trial']}</td>"
                    + "".join(f"<td class=num>{e(_plain(float(d['levers'][n])) if n in d['levers'] else '')}</td>"
                              for n in lever_names)
                    + "".join(f"<td class=num>{e(value(m, d['objectives'].get(m)))}</td>" for m in objectives)
                    + f"<td>{'yes' if d['feasible'] else 'no'}</td></tr>")  # fmt: skip
    parts.append("<details open><summary>The designs on the best trade-off line</summary><p class=legend>One row "
                 "per design (mean over its replications); the cheapest design meeting every goal is highlighted. "
                 f"Study folder: <i>{e(data['folder'])}</i>.</p>"
                 f"<div class=scroll><table>{head}{''.join(body)}</table></div>")  # fmt: skip
    if len(objectives) >= 2:
        parts.append(f'<img alt="designs searched: {e(_label(objectives[1]))} against {e(_label(objectives[0]))}" '
                     f'src="{data_uri(design_figure(data))}">')  # fmt: skip
    parts.append("</details>")
    return "\n".join(parts)


def _goal_metrics(goals: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(m.group(1) for g in goals if (m := _GOAL.match(g))))


def _confirmed_text(data: Mapping[str, Any], d: Mapping[str, Any], e: Escape) -> str:
    conf = (data.get("confirmation") or {}).get(f"trial-{d['trial']}")
    if not conf:
        return ""
    ok = conf.get("feasible")
    return e(f" (re-run {data['confirmation_replications']} times: "
             f"{'meets' if ok else 'misses'} {'every goal' if ok else 'a goal'})")  # fmt: skip


def _best_html(data: Mapping[str, Any], best: Mapping[str, Any], goals: Sequence[str], e: Escape) -> str:
    cheap_by = data.get("cheapest_by") or ""
    text = (f"<div class=box><p><b>Cheapest design meeting every goal</b> (by {e(_label(cheap_by))}): design "
            f"{best['trial']}: <b>{e(_levers_text(best['levers']))}</b>.</p>")  # fmt: skip
    conf = best.get("confirmation") or (data.get("confirmation") or {}).get(f"trial-{best['trial']}")
    if not conf:
        return text + ("<p>In the search: " + e(", ".join(f"{_label(m)} {value(m, v)}"
                       for m, v in best["objectives"].items())) + ". It was not re-run to confirm it.</p></div>")  # fmt: skip
    n = data.get("confirmation_replications")
    rows = []
    for m, v in conf["metrics"].items():
        rows.append(f"<tr><td class=l>{e(_label(m))}</td><td class=num>{e(value(m, v.get('mean')))}"
                    f"<span class=ci>{e(_ci(m, v.get('ci_low'), v.get('ci_high')))}</span></td>"
                    f"<td class=num>{e(_signed(m, v.get('diff')))}"
                    f"<span class=ci>{e(_ci(m, v.get('diff_ci_low'), v.get('diff_ci_high')))}</span></td></tr>")  # fmt: skip
    held = conf.get("constraints") or {}
    verdict = ("On the re-run's means it " + ("meets every goal" if all(held.values()) else "misses: "
               + "; ".join(goal_words(g) for g, ok in held.items() if not ok)) + ".") if held else ""  # fmt: skip
    text += (f"<p>Re-run {n} times beside the scenario as it stands (without this design's levers), over the "
             f"same crises: mean [95% interval], and the change against the scenario as it stands [paired 95% "
             f"interval]. {e(verdict)}</p>"
             "<table><tr><th class=l>outcome</th><th>this design</th><th>change against the scenario as it stands</th></tr>"
             + "".join(rows) + "</table></div>")  # fmt: skip
    return text


def design_figure(data: Mapping[str, Any]) -> bytes:
    """The first two aims of every trial (grey: misses a goal; dark: meets them) and the best trade-off line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = (o["metric"] for o in data["objectives"][:2])
    pts = data.get("trial_points") or []
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for feasible, marker, color, label in ((False, "x", "0.65", "misses a goal"), (True, "o", "0.35",
                                                                                   "meets every goal")):  # fmt: skip
        sel = [p for p in pts if p["feasible"] == feasible and p.get(a) is not None and p.get(b) is not None]
        if sel:
            ax.scatter([p[a] for p in sel], [p[b] for p in sel], marker=marker, color=color, s=18,
                       label=f"a design tried, {label}")  # fmt: skip
    front = sorted((d for d in data["pareto"] if _num(d["objectives"].get(a)) is not None
                    and _num(d["objectives"].get(b)) is not None), key=lambda d: d["objectives"][a])  # fmt: skip
    ax.plot([d["objectives"][a] for d in front], [d["objectives"][b] for d in front], "o-", color="C3", ms=6,
            label="best trade-off line")  # fmt: skip
    best = data.get("best_feasible")
    if best and _num(best["objectives"].get(a)) is not None and _num(best["objectives"].get(b)) is not None:
        ax.plot([best["objectives"][a]], [best["objectives"][b]], "*", ms=16, color="C2",
                label="cheapest meeting every goal")  # fmt: skip
    ax.set_xlabel(_axis(a))
    ax.set_ylabel(_axis(b))
    ax.legend(fontsize=8)
    ax.set_title(f"Designs searched: {_label(b)} against {_label(a)}")
    if _unit(a) == "$":
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"${v / 1e6:.1f}M"))
    return _png(fig)


def _axis(metric: str) -> str:
    unit = _unit(metric)
    suffix = {"share": " (share)", "$": " ($ a year)" if metric == "annual_cost" else " ($)",
              "min": " (minutes)", "h": " (hours)"}.get(unit, "")  # fmt: skip
    return _label(metric) + suffix


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


# --- robustness ------------------------------------------------------------------------------------------------------
def box_words(box: Mapping[str, Any], sampled: Mapping[str, Sequence[float]]) -> str:
    """A PRIM box in words: ``patrol vacancy above 0.052 and mh trend below 0.1``; a side is left out when the box
    reaches the edge of what was sampled."""
    parts = []
    for name, (lo, hi) in box["limits"].items():
        s_lo, s_hi = sampled.get(name, (None, None))
        open_lo = s_lo is not None and lo <= s_lo
        open_hi = s_hi is not None and hi >= s_hi
        if open_lo and not open_hi:
            parts.append(f"{words(name)} at most {_plain(hi)}")
        elif open_hi and not open_lo:
            parts.append(f"{words(name)} at least {_plain(lo)}")
        else:
            parts.append(f"{words(name)} between {_plain(lo)} and {_plain(hi)}")
    return " and ".join(parts) or "anywhere"


def robustness_html(data: Mapping[str, Any], e: Escape) -> str:
    """The robustness section: for each option its failure share, the stressor ranges it breaks in (PRIM boxes
    with coverage and density in words), how often it fails outside them (what it tolerates), and its regret."""
    goals = [goal_words(g) for g in data["goals"]]
    ranges = "; ".join(f"{words(u['name'])} {_plain(u['low'])} to {_plain(u['high'])}" for u in data["uncertainties"])
    regret_m = data["regret_metric"]
    parts = [
        "<h2 id=robustness>Where each option breaks: staffing shortages, demand and other stressors</h2>",
        f"<p>Each option was simulated under {data['experiments']:,} combinations of stressors drawn over these "
        f"ranges (Latin hypercube): {e(ranges)}; {data['replications']} replication(s) each"
        + (f", {data['days']} days" if data.get("days") else "")
        + f". An option <b>fails</b> a combination when its mean misses a goal ({e('; '.join(goals))}). The "
        "ranges where failures concentrate were found with PRIM: <i>holds</i> is the share of the option's "
        "failures that fall in the range (coverage), <i>fail inside</i> the share of the combinations in the "
        f"range that fail (density). <i>Regret</i> is how far the option falls behind the best option of the same "
        f"combination on {e(_label(regret_m))} (worst case, and 90th percentile over the combinations).</p>",
    ]  # fmt: skip
    head = ("<tr><th class=l>option</th><th>fails a goal in</th><th class=l>breaks mostly when</th>"
            "<th>holds</th><th>fail inside</th><th>fails outside that range</th>"
            f"<th>regret on {e(_label(regret_m))}: worst</th><th>90th pct</th></tr>")  # fmt: skip
    body, sentences = [], []
    for name, info in data["policies"].items():
        share = info["failure_share"]
        sampled = info.get("sampled") or {u["name"]: [u["low"], u["high"]] for u in data["uncertainties"]}
        outside = info.get("outside_boxes") or {}
        out_share = outside.get("failure_share")
        regret = (e(value(regret_m, info.get("regret"))), e(value(regret_m, info.get("regret_p90"))))
        if not info["boxes"]:
            what = "never fails in these ranges" if share == 0 else (
                "fails everywhere in these ranges" if share == 1 else "no range singled out")
            body.append(f"<tr><td class=l>{e(name)}</td><td class=num>{share:.0%}</td><td class=l>{e(what)}</td>"
                        f"<td></td><td></td><td></td><td class=num>{regret[0]}</td><td class=num>{regret[1]}</td></tr>")  # fmt: skip
            sentences.append(f"{name} {what} (fails a goal in {share:.0%} of the combinations).")
            continue
        n_out = outside.get("experiments") or 0
        for k, box in enumerate(info["boxes"]):
            first = k == 0
            body.append(
                f"<tr{' class=first' if first and body else ''}><td class=l>{e(name) if first else ''}</td>"
                f"<td class=num>{f'{share:.0%}' if first else ''}</td><td class=l>{e(box_words(box, sampled))}</td>"
                f"<td class=num>{box['coverage']:.0%}</td><td class=num>{box['density']:.0%}</td>"
                f"<td class=num>{'' if not first or out_share is None else f'{out_share:.0%} (of {n_out})'}</td>"
                f"<td class=num>{regret[0] if first else ''}</td><td class=num>{regret[1] if first else ''}</td></tr>"
            )  # fmt: skip
        box = info["boxes"][0]
        text = (f"{name} fails a goal in {share:.0%} of the combinations, mostly when {box_words(box, sampled)}: "
                f"{box['density']:.0%} of the combinations in that range fail, and they hold {box['coverage']:.0%} "
                "of its failures.")  # fmt: skip
        where = "those ranges" if len(info["boxes"]) > 1 else "that range"
        if out_share is not None and n_out >= MIN_OUTSIDE:
            text += (f" Outside {where} it fails in {out_share:.0%} of {n_out} combinations: "
                     + ("it tolerates the stressors there." if out_share <= 0.1 else
                        "it does not reliably tolerate them there either." if out_share >= 0.5 else
                        "it mostly, not always, tolerates them there."))  # fmt: skip
        elif out_share is not None:
            text += (f" Only {n_out} combination{'' if n_out == 1 else 's'} fell outside {where}: too few to say "
                     "what it tolerates.")  # fmt: skip
        sentences.append(text)
    parts.append("<ul class=summary>" + "".join(f"<li>{e(s)}</li>" for s in sentences) + "</ul>")
    parts.append("<details open><summary>Failure share, breaking ranges and regret per option</summary>"
                 f"<p class=legend>Study folder: <i>{e(data['folder'])}</i>.</p><div class=scroll><table>"
                 f"{head}{''.join(body)}</table></div>")  # fmt: skip
    if data.get("points"):
        parts.append(f'<img alt="stressor combinations each option fails, with its breaking range" '
                     f'src="{data_uri(robustness_figure(data))}">')  # fmt: skip
    parts.append("</details>")
    return "\n".join(parts)


def robustness_figure(data: Mapping[str, Any]) -> bytes:
    """One panel per option: the combinations on the two stressors its first breaking range restricts (else the
    first two stressors), failures as red crosses, the range as a rectangle."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [u["name"] for u in data["uncertainties"]]
    policies = list(data["policies"])
    cols = min(3, len(policies))
    rows_n = math.ceil(len(policies) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.8 * rows_n), squeeze=False)
    points = data["points"]
    for ax, policy in zip(axes.flat, policies, strict=False):
        info = data["policies"][policy]
        restricted = list(info["boxes"][0]["limits"]) if info["boxes"] else []
        dims = (restricted + [n for n in names if n not in restricted])[:2]
        pts = [p for p in points if p["policy"] == policy]
        if len(dims) < 2:
            dims = [dims[0], None] if dims else [None, None]
        if dims[0] is None:
            ax.set_axis_off()
            continue
        for failed, marker, color, label in ((False, "o", "C2", "meets the goals"), (True, "x", "C3", "fails a goal")):
            sel = [p for p in pts if p["failed"] == failed]
            ys = [p[dims[1]] if dims[1] else 0.0 for p in sel]
            ax.scatter([p[dims[0]] for p in sel], ys, marker=marker, color=color, s=16, label=label)
        if info["boxes"]:
            lims = info["boxes"][0]["limits"]
            x0, x1 = lims.get(dims[0], info.get("sampled", {}).get(dims[0], [None, None]))
            if dims[1]:
                y0, y1 = lims.get(dims[1], info.get("sampled", {}).get(dims[1], [None, None]))
            else:
                y0, y1 = -0.5, 0.5
            if None not in (x0, x1, y0, y1):
                ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="C3", lw=1.5))
        ax.set_xlabel(words(dims[0]))
        ax.set_ylabel(words(dims[1]) if dims[1] else "")
        ax.set_title(f"{policy}: fails in {info['failure_share']:.0%}", fontsize=10)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(policies):]:
        ax.set_axis_off()
    return _png(fig)
