"""The decision table of the planner's report: one row per option, everything a funding decision needs first.

:func:`decision_data` turns an experiment (spec, runs, series) into plain JSON-able data (the numbers the first
screen shows, also written to ``report.json``); :func:`decision_html` renders it. Intervals are the paired
common-random-numbers intervals of :func:`crisis_sim.experiments.compare.compare_runs`: they measure
**run-to-run noise** of the simulation (how many replications were run), not what we don't know about the
inputs. When a probabilistic sensitivity analysis is passed (``psa``: ``{option label or name: {"metrics": {metric:
{"low", "high"}}, "prob_best": p}}``, differences over the counted period as the runs give them, scaled here like
the rest; ``prob_best``: the chance of the fewest arrests) its intervals and that probability are shown beside them
(``crisis-sim report --psa N``).

Staff are full-time equivalents (FTE) of 2,080 paid hours a year (40 h x 52 weeks; assumption), from each
program's configured hours: what a budget line pays, not what the simulation used (that is utilisation).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crisis_sim.analysis.uncertainty import DiscountError, discount_text, discounted_run_totals
from crisis_sim.experiments.compare import compare_runs, fmt_number, paired_interval, with_extra_metrics
from crisis_sim.programs import PROGRAMS

FTE_HOURS_PER_YEAR = 2080.0  # 40 h a week x 52 weeks (assumption)
# Key outcomes of the decision table and which direction is better for a planner.
DECISION_METRICS: dict[str, tuple[str, str, str]] = {
    # metric: (plain name, unit shown, better when)
    "arrests": ("arrests", "per year", "lower"),
    "use_of_force": ("use-of-force incidents", "per year", "lower"),
    "ed_transports": ("ED transports", "per year", "lower"),
    "involuntary_holds": ("involuntary holds", "per year", "lower"),
    "connected_to_services": ("people connected to services", "per year", "higher"),
    "repeat_callers_90d": ("repeat callers within 90 days", "people", "lower"),
    "median_response_min": ("median response time", "min", "lower"),
}
ANNUALISED = {"arrests", "use_of_force", "ed_transports", "involuntary_holds", "connected_to_services"}
# Cost per outcome averted (or per person connected): the outcome's denominator.
AVERTED = {"arrests": "arrest", "ed_transports": "ED transport", "involuntary_holds": "hold",
           "connected_to_services": "person connected"}  # fmt: skip
PER_WORDS = {"arrests": "arrest", "ed_transports": "ED transp.", "involuntary_holds": "hold",
             "connected_to_services": "connected"}  # fmt: skip
UNSERVED_WORDS = {"busy": "all teams busy", "off_hours": "outside the team's hours",
                  "out_of_area": "outside the team's districts", "misidentified": "not recognised as MH by dispatch",
                  "dispatcher_bias": "dispatcher sent police", "other": "other"}  # fmt: skip


# --- ranking weights -------------------------------------------------------------------------------------------
class WeightError(ValueError):
    """Bad ranking weights: one user-facing line."""


def parse_weights(value: str | Mapping[str, Any], where: str = "--weights") -> dict[str, float]:
    """``"arrests=3,median_response_min=1"`` or a ``[weights]`` table → {metric: weight}; every name must be a key
    outcome of the decision table and every weight a number from 0 to 100 (0 leaves the outcome out of the
    ranking). Outcomes not named keep weight 1."""
    if isinstance(value, str):
        pairs: list[tuple[str, Any]] = []
        for part in [p.strip() for p in value.split(",") if p.strip()]:
            name, eq, num = part.partition("=")
            if not eq:
                raise WeightError(f"{where}: expected METRIC=WEIGHT, found {part!r}")
            try:
                pairs.append((name.strip(), float(num)))
            except ValueError:
                raise WeightError(f"{where}: {name.strip()}: expected a number, found {num.strip()!r}") from None
        if not pairs:
            raise WeightError(f"{where}: expected METRIC=WEIGHT,..., found nothing")
    else:
        pairs = list(value.items())
    out: dict[str, float] = {}
    for name, w in pairs:
        if name not in DECISION_METRICS:
            raise WeightError(f"{where}: {name}: unknown outcome (expected one of {', '.join(DECISION_METRICS)})")
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or not 0 <= w <= 100:
            raise WeightError(f"{where}: {name}: expected a weight from 0 to 100, found {w!r}")
        out[name] = float(w)
    return out


RANK_BY = ("count", "size")


def weights_statement(weights: Mapping[str, float] | None, source: str = "", rank_by: str = "count") -> str:
    """The ranking rule in plain words, naming every weight."""
    if rank_by == "size":
        text = ("by size: each clearly changed key outcome adds its change in percent of the first option's level "
                "(better adds, worse subtracts), times its weight; unclear changes count 0")
    elif not weights or all(w == 1.0 for w in weights.values()):
        return ("each key outcome counts the same (weight 1, the default): the number of key outcomes clearly "
                "better minus the number clearly worse")
    else:
        text = ("each clearly better outcome adds its weight, each clearly worse one subtracts it (the size of a "
                "change does not count, only whether its interval excludes 0)")
    if weights and any(w != 1.0 for w in weights.values()):
        named = ", ".join(f"{DECISION_METRICS[m][0]} × {w:g}" for m, w in weights.items() if w != 1.0)
        rest = [DECISION_METRICS[m][0] for m in DECISION_METRICS if m not in weights or weights[m] == 1.0]
        text = f"weighted: {named}" + (f"; {', '.join(rest)} × 1" if rest else "") + " — " + text
    else:
        text += "; every outcome weighs 1"
    return text + (f"; set by the planner in {source}" if source else "")


# --- option names --------------------------------------------------------------------------------------------
def _program_short() -> dict[str, str]:
    short = {"cit": "CIT training", "co_response": "co-response", "mobile_crisis": "mobile crisis team",
             "outreach": "outreach", "stabilization": "stabilisation centre", "triage": "911/988 triage"}  # fmt: skip
    return {cls.key: short.get(cls.key, cls.label) for cls in PROGRAMS}


def programs_on(scenario: Any) -> list[str]:
    keys = []
    for cls in PROGRAMS:
        cfg = getattr(scenario.programs, cls.key, None)
        if cfg is not None and getattr(cfg, "enabled", True):
            keys.append(cls.key)
    return keys


def option_names(spec: Any) -> list[str]:
    """Plain names: the programs an option runs ("Police as usual", "CIT training", "mobile crisis team +
    stabilisation centre"), capitalised; the scenario's name is added where two options would read the same."""
    short = _program_short()
    names = []
    for entry in spec.scenarios:
        on = [short[k] for k in programs_on(entry.scenario)]
        if not on:
            name = "Police as usual"
        elif len(on) > 3:
            name = f"all {len(on)} programs"
        else:
            name = " + ".join(on)
        names.append(name[0].upper() + name[1:])
    counts = {n: names.count(n) for n in names}
    out = []
    for name, entry in zip(names, spec.scenarios, strict=True):
        if counts[name] > 1:
            name += f" ({entry.label.replace('_', ' ')})"
        out.append(name)
    seen: dict[str, int] = {}
    final = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        final.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return final


def option_note(entry: Any) -> str:
    """One line under the table: the file's description (when not changed by overrides) or what was changed;
    with the programs listed when the option runs more than three."""
    desc = entry.scenario.description or ""
    on = programs_on(entry.scenario)
    if len(on) > 3:
        short = _program_short()
        desc = f"{desc.rstrip('.')}. Programs: {', '.join(short[k] for k in on)}.".lstrip(". ")
    if entry.overrides:
        short = _program_short()
        added = [short.get(p.split(".")[1], p) for p in entry.overrides if p.startswith("programs.")
                 and p.count(".") == 1]  # fmt: skip
        other = [p for p in entry.overrides if not (p.startswith("programs.") and p.count(".") == 1)]
        text = "City of " + (entry.scenario.name or "the scenario").replace("_", " ")
        if added:
            text += " with " + " and ".join(added) + " at its default settings"
        if other:
            text += f" ({len(other)} other setting(s) changed; see the details)"
        return text + "."
    return desc


# --- patrol vacancies ------------------------------------------------------------------------------------------
def patrol_vacancy(scenario: Any, base: Any) -> str | None:
    """Why this option has fewer patrol officers on duty than budgeted, in words (None when it has not): a
    timeline vacancy, turnover, absence or cut of patrol posts, or fewer patrol units per shift than the first
    option in a district of the same name."""
    reasons = []
    for ev in getattr(scenario, "timeline", None) or []:
        if getattr(ev, "role", None) != "patrol":
            continue
        if ev.type == "vacancy" and getattr(ev, "share", 0) > 0:
            reasons.append(f"{ev.share:.0%} of patrol posts vacant from day {ev.day:g}")
        elif ev.type in ("turnover", "cut_post"):
            reasons.append(f"patrol {ev.type.replace('_', ' ')} from day {ev.day:g}")
        elif ev.type == "absence" and getattr(ev, "share", 0) > 0:
            reasons.append(f"patrol absence {ev.share:.0%} from day {ev.day:g}")
    if base is not None and scenario is not base:
        own = {d.name: sum(d.patrol_units.values()) for d in scenario.city.districts}
        ref = {d.name: sum(d.patrol_units.values()) for d in base.city.districts}
        fewer = [n for n in own if n in ref and own[n] < ref[n]]
        if fewer:
            reasons.append("fewer patrol units than the first option in " + ", ".join(fewer))
    return "; ".join(dict.fromkeys(reasons)) or None


VACANCY = "vacancy, not a saving"


# --- staffing --------------------------------------------------------------------------------------------------
def _daily_hours(start_hour: float, end_hour: float) -> float:
    span = (end_hour - start_hour) % 24
    return 24.0 if span == 0 else span


def staffing(scenario: Any) -> dict[str, Any]:
    """FTE by role from each enabled program's configuration, and the hours of day each program is staffed
    (24 booleans; None when a program works by appointment or has no hours)."""
    fte: dict[str, float] = {}
    hours: dict[str, list[bool] | None] = {}
    notes: list[str] = []
    p = scenario.programs

    def add(role: str, value: float) -> None:
        fte[role] = fte.get(role, 0.0) + value

    def mask(windows: Sequence[tuple[float, float]]) -> list[bool]:
        out = [False] * 24
        for start, length in windows:
            for k in range(int(math.ceil(length))):
                out[int(start + k) % 24] = True
        return out

    for key in programs_on(scenario):
        cfg = getattr(p, key)
        if key == "mobile_crisis":
            daily = _daily_hours(cfg.start_hour, cfg.end_hour)
            per_role = cfg.teams * daily * 365 / FTE_HOURS_PER_YEAR
            add(cfg.clinician_role.replace("_", " "), per_role)
            add(cfg.partner_role.replace("emt", "EMT"), per_role)
            hours[key] = mask([(cfg.start_hour, daily)])
        elif key == "co_response":
            h = sum(s.hours * s.units for s in cfg.shifts) * 365 / FTE_HOURS_PER_YEAR
            add(cfg.clinician_role.replace("_", " "), h)
            if cfg.mode == "ride_along":
                add("dedicated officer", h)
            hours[key] = mask([(s.start_hour, s.hours) for s in cfg.shifts])
        elif key == "triage":
            add("triage clinician", sum(s.hours * s.clinicians for s in cfg.shifts) * 365 / FTE_HOURS_PER_YEAR)
            hours[key] = mask([(s.start_hour, s.hours) for s in cfg.shifts])
        elif key == "outreach":
            add("nurse", cfg.nurse_fte)
            if cfg.psychiatrist_hours_per_week > 0:
                add("psychiatrist", cfg.psychiatrist_hours_per_week / 40)
            names = [d.name for d in scenario.city.districts]
            n_crpo = len([d for d in names if cfg.districts is None or d in cfg.districts])
            add("community-relations officer", n_crpo * cfg.crpo_hours_per_week / 40)
            hours[key] = None
        elif key == "stabilization":
            notes.append(f"+ {cfg.beds} stabilisation beds")
            hours[key] = [True] * 24
        elif key == "cit":
            notes.append(f"{cfg.trained_share:.0%} of officers CIT-trained")
            hours[key] = None
    return {"fte": {k: round(v, 2) for k, v in fte.items()}, "fte_total": round(sum(fte.values()), 2),
            "hours": hours, "notes": notes}  # fmt: skip


# --- numbers ---------------------------------------------------------------------------------------------------
def _f(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _extras(runs: pd.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(t) if isinstance(t, str) else {} for t in runs.get("extra", [])]


def _mean_dict(dicts: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    out = {}
    for k in keys:
        vals = [_f(d.get(k)) for d in dicts]
        vals = [v for v in vals if v is not None]
        if vals:
            out[k] = float(np.mean(vals))
    return out


def _matrix(runs: pd.DataFrame, metric: str, n: int) -> np.ndarray:
    reps = int(runs["replication"].max()) + 1 if len(runs) else 0
    out = np.full((n, reps), np.nan)
    out[runs["scenario_index"].to_numpy(int), runs["replication"].to_numpy(int)] = runs[metric].to_numpy(float)
    return out


def decision_data(spec: Any, runs: pd.DataFrame, series: pd.DataFrame | None = None,
                  psa: Mapping[str, Any] | None = None, weights: Mapping[str, float] | None = None,
                  weights_source: str = "", rank_by: str = "count", discount: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """Everything the first screen and the staffing section show, as plain data (see the module docstring).
    ``weights``: ranking weights per key outcome (:func:`parse_weights`; default 1 each); ``rank_by``: "count"
    (clear changes counted) or "size" (clear changes in percent of the first option's level).
    ``discount`` (a yearly rate) discounts the costs and outcomes of the cost per outcome averted (from the stored
    monthly series; the first counted year is not discounted); levels and changes per year stay undiscounted."""
    if rank_by not in RANK_BY:
        raise WeightError(f"rank_by: expected one of {', '.join(RANK_BY)}, found {rank_by!r}")
    labels = spec.labels
    names = option_names(spec)
    scenarios = [e.scenario for e in spec.scenarios]
    sim = scenarios[0].simulation
    counted_days = max(1, sim.horizon_days - sim.warmup_days)
    per_year = 365.0 / counted_days
    wanted = [*DECISION_METRICS, "cost_total", "specialized_coverage", "eligible_mh_calls", "mh_calls"]
    runs, _ = with_extra_metrics(runs, wanted)
    present = [m for m in wanted if m in runs.columns]
    result = compare_runs(runs, labels, present)
    n = len(labels)
    cost = _matrix(runs, "cost_total", n) * per_year if "cost_total" in runs else np.full((n, 1), np.nan)
    rows: list[dict[str, Any]] = []
    extras_by = {s: _extras(runs[runs["scenario_index"] == s]) for s in range(n)}
    disc = _discounted(runs, series, scenarios, discount, n) if discount > 0 else None
    for s, (label, name, entry) in enumerate(zip(labels, names, spec.scenarios, strict=True)):
        row: dict[str, Any] = {"option": name, "label": label, "note": option_note(entry)}
        mc, lo, hi = _t(cost[s])
        row["annual_cost"] = {"mean": mc, "low": lo, "high": hi}
        dc, dlo, dhi = (0.0, 0.0, 0.0) if s == 0 else paired_interval(cost[0], cost[s])
        row["annual_cost_diff"] = {"diff": _f(dc), "low": _f(dlo), "high": _f(dhi)}
        st = staffing(entry.scenario)
        row["fte"], row["fte_total"], row["staff_notes"] = st["fte"], st["fte_total"], st["notes"]
        row["hours"] = st["hours"]
        metrics: dict[str, Any] = {}
        for m in DECISION_METRICS:
            if m not in result["metrics"]:
                continue
            v = result["metrics"][m][label]
            scale = per_year if m in ANNUALISED else 1.0
            d = {"mean": _f(v["mean"] * scale if v["mean"] is not None else None),
                 "diff": _f(v["diff"] * scale), "low": _f(v["diff_ci_low"] * scale),
                 "high": _f(v["diff_ci_high"] * scale), "n": v["n"]}  # fmt: skip
            d["clear"] = bool(s > 0 and d["low"] is not None and d["high"] is not None
                              and (d["low"] > 0 or d["high"] < 0))  # fmt: skip
            better = DECISION_METRICS[m][2]
            d["verdict"] = ("better" if (d["diff"] < 0) == (better == "lower") else "worse") if d["clear"] else "unclear"
            if psa and (label in psa or name in psa):
                p = psa[label if label in psa else name].get("metrics", {}).get(m)
                if p and p.get("low") is not None and p.get("high") is not None:
                    d["psa_low"], d["psa_high"] = _f(p["low"] * scale), _f(p["high"] * scale)
            metrics[m] = d
        row["metrics"] = metrics
        if psa and (label in psa or name in psa):
            row["prob_best"] = _f(psa[label if label in psa else name].get("prob_best"))
        vacancy = patrol_vacancy(entry.scenario, scenarios[0]) if s else None
        row["patrol_vacancy"] = vacancy
        dc_ = row["annual_cost_diff"]["diff"]
        row["cost_note"] = VACANCY if vacancy and dc_ is not None and dc_ < 0 else None
        row["cost_per_averted"] = _cost_per(row, s, disc)
        ext = extras_by[s]
        cov = _mean_dict([{"c": e.get("specialized_coverage"), "n": e.get("eligible_mh_calls")} for e in ext])
        row["coverage"] = cov.get("c") if entry.scenario and programs_on(entry.scenario) else None
        row["eligible_calls_per_year"] = cov["n"] * per_year if "n" in cov else None
        row["unserved_by_reason_per_year"] = {
            k: v * per_year for k, v in _mean_dict([e.get("unserved_eligible_by_reason") or {} for e in ext]).items()
        }
        row["utilisation"] = _mean_dict([e.get("program_staff_utilisation") or {} for e in ext])
        hourly = _mean_dict([dict(enumerate(e.get("mh_hourly_share") or [])) for e in ext])
        row["mh_hourly_share"] = [hourly.get(k, 0.0) for k in range(24)] if hourly else None
        row["mh_calls_in_hours"] = {
            k: float(sum(h for h, on in zip(row["mh_hourly_share"], mask, strict=True) if on))
            for k, mask in st["hours"].items() if mask is not None and row["mh_hourly_share"]
        }
        row["coverage_by_hour"] = _coverage_by_hour(ext, st["hours"], per_year)
        rows.append(row)
    full_weights = {m: float((weights or {}).get(m, 1.0)) for m in DECISION_METRICS}
    rank_options(rows, full_weights, rank_by)
    return {
        "options": names,
        "labels": list(labels),
        "replications": spec.replications,
        "counted_days": counted_days,
        "interval": "paired 95% interval over replications with common random numbers: run-to-run noise only",
        "psa": bool(psa),
        "discount": {"rate": discount, "text": discount_text(discount),
                     "applies_to": "extra cost per outcome averted (costs and outcomes)"},
        "decision": rows,
        "ranking_weights": full_weights,
        "ranking_by": rank_by,
        "ranking_rule": weights_statement(weights, weights_source, rank_by),
        "warnings": warnings(rows, series, labels, names, spec.replications, scenarios),
    }


def _coverage_by_hour(ext: Sequence[Mapping[str, Any]], hours: Mapping[str, list[bool] | None],
                      per_year: float) -> dict[str, Any] | None:  # fmt: skip
    """Eligible MH calls a year by hour of day received, those each program served, the share served, and each
    program's staffed hours (from the runs' ``eligible_by_hour`` / ``served_by_hour``, ledger-based)."""
    elig = _mean_dict([dict(enumerate(e.get("eligible_by_hour") or [])) for e in ext])
    if not elig or not sum(elig.values()):
        return None
    eligible = [elig.get(h, 0.0) * per_year for h in range(24)]
    keys = sorted({k for e in ext for k in (e.get("served_by_hour") or {})})
    served = {}
    for k in keys:
        d = _mean_dict([dict(enumerate((e.get("served_by_hour") or {}).get(k) or [0] * 24)) for e in ext])
        served[k] = [d.get(h, 0.0) * per_year for h in range(24)]
    total = [sum(v[h] for v in served.values()) for h in range(24)]
    share = [total[h] / eligible[h] if eligible[h] > 0 else None for h in range(24)]
    staffed = {k: m for k, m in hours.items() if m is not None and not all(m)}
    outside = {}
    for k, m in staffed.items():
        out_el = sum(e for e, on in zip(eligible, m, strict=True) if not on)
        outside[k] = out_el / sum(eligible) if sum(eligible) else None
    return {"eligible_per_year": eligible, "served_per_year": served, "share_served": share,
            "hours": {k: m for k, m in hours.items() if m is not None}, "eligible_outside_hours": outside}  # fmt: skip


def _t(x: np.ndarray) -> tuple[float | None, float | None, float | None]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None, None, None
    m = float(x.mean())
    if x.size < 2:
        return m, None, None
    half = float(stats.t.ppf(0.975, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return m, m - half, m + half


def _discounted(runs: pd.DataFrame, series: pd.DataFrame | None, scenarios: list[Any], rate: float, n: int
                ) -> dict[str, np.ndarray]:  # fmt: skip
    """Options × replications: the discounted total of ``cost_total`` and of each averted outcome."""
    if series is None or series.empty:
        raise DiscountError("discounting needs the stored monthly series")
    warm = {i: float(sc.simulation.warmup_days) if sc is not None else 0.0 for i, sc in enumerate(scenarios)}
    totals = discounted_run_totals(series, rate, warm, ["cost_total", *AVERTED])
    return {col: _matrix(totals, col, n) for col in ["cost_total", *AVERTED]}


def _cost_per(row: dict[str, Any], s: int, disc: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Extra annual cost per outcome averted (per person connected): only when the outcome's interval excludes 0
    in the better direction; otherwise a plain reason. With ``disc`` (discounted totals per option and
    replication) the ratio is of the discounted totals' mean paired differences."""
    out: dict[str, Any] = {}
    if s == 0:
        return out
    dcost = row["annual_cost_diff"]["diff"]
    if disc is not None:
        dcost = float(np.nanmean(disc["cost_total"][s] - disc["cost_total"][0]))
    for m, word in AVERTED.items():
        v = row["metrics"].get(m)
        if v is None:
            continue
        if not v["clear"]:
            out[m] = {"value": None, "text": "no clear change"}
        elif v["verdict"] == "worse":
            out[m] = {"value": None, "text": "more, not fewer" if m != "connected_to_services" else "fewer connected"}
        else:
            gain = abs(v["diff"]) if disc is None else abs(float(np.nanmean(disc[m][s] - disc[m][0])))
            value = dcost / gain if dcost is not None and gain > 0 else None
            if value is not None and value <= 0 and row.get("cost_note") == VACANCY:
                out[m] = {"value": None, "text": f"lower cost from vacant patrol posts: {VACANCY}"}
            elif value is not None and value <= 0:
                out[m] = {"value": value, "text": f"saves money and averts {word}s"
                          if m != "connected_to_services" else "saves money and connects more people"}  # fmt: skip
            else:
                out[m] = {"value": value, "text": f"${value:,.0f} per {word}" if value is not None else "n/a"}
    return out


def rank_options(rows: list[dict[str, Any]], weights: Mapping[str, float] | None = None,
                 rank_by: str = "count") -> None:  # fmt: skip
    """Plain ranking against the first option; ties go to the cheaper option. ``rank_by="count"``: the weights of
    the key outcomes clearly better minus those clearly worse (each weight 1 unless ``weights`` says otherwise).
    ``rank_by="size"``: each clear change in percent of the first option's level, times its weight (better
    adds, worse subtracts). Each row gets ``rank``, ``score`` and ``reason``."""
    w = {m: float((weights or {}).get(m, 1.0)) for m in DECISION_METRICS}
    base = rows[0]["metrics"] if rows else {}

    def size(m: str, v: Mapping[str, Any]) -> float | None:
        """|change| in percent of the first option's level (None when that level is 0 or unknown)."""
        level = (base.get(m) or {}).get("mean")
        if v.get("diff") is None or not level:
            return None
        return abs(100.0 * v["diff"] / level)

    scored = []
    for s, row in enumerate(rows):
        better = [m for m, v in row["metrics"].items() if v["verdict"] == "better"]
        worse = [m for m, v in row["metrics"].items() if v["verdict"] == "worse"]
        if rank_by == "size":
            pct = {m: size(m, row["metrics"][m]) for m in better + worse}
            row["change_pct"] = pct
            score = sum(w[m] * (pct[m] if pct[m] is not None else 0.0) for m in better) - sum(
                w[m] * (pct[m] if pct[m] is not None else 0.0) for m in worse)  # fmt: skip
        else:
            score = sum(w[m] for m in better) - sum(w[m] for m in worse)
        row["score"] = score
        cost = row["annual_cost"]["mean"] or 0.0
        if row.get("cost_note") == VACANCY:  # an unfilled post is no saving: tie-break at the first option's cost
            cost = max(cost, rows[0]["annual_cost"]["mean"] or 0.0)
        scored.append((-round(score, 9), cost, s, better, worse))
    weighted = any(v != 1.0 for v in w.values())

    def words(ms: list[str], row: Mapping[str, Any]) -> str:
        out = []
        for m in ms:
            text = DECISION_METRICS[m][0]
            pct = (row.get("change_pct") or {}).get(m)
            if rank_by == "size":
                text += f" {pct:.0f}%" if pct is not None else " (no level to compare)"
            out.append(text + (f" (weight {w[m]:g})" if weighted else ""))
        return ", ".join(out)

    for rank, (_score, _cost, s, better, worse) in enumerate(sorted(scored), start=1):
        row = rows[s]
        row["rank"] = rank
        if s == 0:
            row["reason"] = "the reference every other option is compared with"
            continue
        parts = []
        if better:
            parts.append("clearly better on " + words(better, row))
        if worse:
            parts.append("clearly worse on " + words(worse, row))
        if not parts:
            parts.append("no clear change in any key outcome")
        if weighted or rank_by == "size":
            parts.append(f"score {row['score']:+.3g}")
        d = row["annual_cost_diff"]["diff"]
        if d is not None and row.get("cost_note") == VACANCY:
            parts.append(f"costs ${-d:,.0f} a year less only because patrol posts stand vacant ({VACANCY})")
        elif d is not None:
            parts.append(f"costs ${d:,.0f} a year more" if d >= 0 else f"saves ${-d:,.0f} a year")
        row["reason"] = "; ".join(parts)


# --- warnings --------------------------------------------------------------------------------------------------
def growth(series: pd.DataFrame, variable: str, scenario_index: int, last: int = 6) -> dict[str, float] | None:
    """Linear trend of a month-end gauge over the last ``last`` full months (mean over replications):
    slope per month with its 95% interval, and the last value."""
    if series is None or series.empty:
        return None
    df = series[(series["variable"] == variable) & (series["scenario_index"] == scenario_index)]
    if df.empty:
        return None
    by = df.groupby("month")["value"].mean().sort_index()
    ends = df.groupby("month")["day_end"].max().sort_index()
    spans = ends.diff().fillna(ends.iloc[0])
    if len(spans) > 1 and spans.iloc[-1] < spans.iloc[:-1].median():  # a short last month
        by = by.iloc[:-1]
    by = by.tail(last)
    if len(by) < 3 or not np.isfinite(by.to_numpy(float)).all():
        return None
    fit = stats.linregress(by.index.to_numpy(float), by.to_numpy(float))
    half = float(stats.t.ppf(0.975, len(by) - 2)) * float(fit.stderr)
    return {"slope": float(fit.slope), "low": float(fit.slope - half), "high": float(fit.slope + half),
            "last": float(by.iloc[-1]), "months": int(len(by))}  # fmt: skip


QUEUES = {"waitlist_length": "the community-services waitlist", "outreach_waitlist": "the outreach waitlist"}


def warnings(rows: list[dict[str, Any]], series: pd.DataFrame | None, labels: Sequence[str], names: Sequence[str],
             replications: int, scenarios: Sequence[Any]) -> list[dict[str, str]]:  # fmt: skip
    out: list[dict[str, str]] = []
    for s, name in enumerate(names):
        for var, words in QUEUES.items():
            g = growth(series, var, s) if series is not None else None
            if g and g["low"] > 0 and g["slope"] * g["months"] > 0.1 * max(g["last"], 1.0):
                out.append({"option": name, "kind": "growing queue",
                            "text": f"{name}: {words} keeps growing, by {g['slope']:,.1f} people a month over the "
                                    f"last {g['months']} months (95% interval {g['low']:,.1f} to {g['high']:,.1f}) "
                                    f"and stands at {g['last']:,.0f}; capacity is short of demand, so the figures "
                                    "depend on the horizon."})  # fmt: skip
    for row in rows[1:]:
        ms = [v for v in row["metrics"].values() if v.get("low") is not None]
        if ms and not any(v["clear"] for v in ms):
            out.append({"option": row["option"], "kind": "too few replications",
                        "text": f"{row['option']}: no key outcome differs clearly from {names[0]} with "
                                f"{replications} replication(s); run more (--replications) before deciding, "
                                "or treat the options as equivalent."})  # fmt: skip
        elif replications < 2:
            out.append({"option": row["option"], "kind": "too few replications",
                        "text": "One replication: no interval can be computed; run at least 5."})
    return out


# --- HTML ------------------------------------------------------------------------------------------------------
def _money(x: float | None) -> str:
    """$3.31M, $54.5k, $950 (compact, for the table; report.json has the exact figures)."""
    if x is None:
        return "n/a"
    sign, a = ("−" if x < 0 else ""), abs(x)
    if a >= 1e6:
        return f"{sign}${a / 1e6:.2f}M" if a < 1e7 else f"{sign}${a / 1e6:.1f}M"
    if a >= 1e4:
        return f"{sign}${a / 1e3:.3g}k"
    return f"{sign}${a:,.0f}"


def _signed(x: float | None, unit: str = "") -> str:
    if x is None:
        return "n/a"
    return ("+" if x > 0 else "−" if x < 0 else "") + fmt_number(abs(x)) + unit


def _cell_metric(v: dict[str, Any], m: str, first: bool) -> str:
    unit = " min" if m == "median_response_min" else ""
    if first:
        return f"<td class=num>{fmt_number(v['mean']) if v['mean'] is not None else 'n/a'}{unit}</td>"
    cls = {"better": "better", "worse": "worse"}.get(v["verdict"], "unclear")
    ci = (f"<br><span class=ci>{_signed(v['low'])} to {_signed(v['high'])}</span>"
          if v["low"] is not None else "")  # fmt: skip
    psa = (f"<br><span class=ci>PSA {_signed(v['psa_low'])} to {_signed(v['psa_high'])}</span>"
           if v.get("psa_low") is not None else "")  # fmt: skip
    return f"<td class='num {cls}'>{_signed(v['diff'], unit)}{ci}{psa}</td>"


def _per_text(v: dict[str, Any]) -> str:
    """Compact cell text: $83.3k, "saves", or a dash for no clear change (explained in the legend)."""
    if v["value"] is not None and v["value"] > 0:
        return f"<b>{_money(v['value'])}</b>"
    if v["value"] is not None:
        return "<span class=better>saves money</span>"
    if v["text"].endswith(VACANCY):
        return f"<span class=ci>{VACANCY}</span>"
    return "<span class=ci>" + ("worse" if v["text"] in ("more, not fewer", "fewer connected") else "–") + "</span>"


def decision_html(data: dict[str, Any], esc: Any) -> str:
    """The first screen: the decision table, the ranking, the warnings. ``esc`` escapes text for HTML."""
    rows = data["decision"]
    base = rows[0]["option"]
    metrics = [m for m in DECISION_METRICS if m in rows[0]["metrics"]]
    head = ["<th class=l>rank</th><th class=l>option</th><th>annual cost<br><span class=ci>and change vs first</span>"
            "</th><th class=l>staff (FTE)</th>"]  # fmt: skip
    for m in metrics:
        word, unit, better = DECISION_METRICS[m]
        head.append(f"<th>{esc(word)}<br><span class=ci>{esc(unit)}, {better} is better</span></th>")
    head.append("<th class=l>extra cost per outcome averted</th><th>coverage of eligible calls</th>")
    if data.get("psa"):
        head.append("<th>chance of fewest arrests<br><span class=ci>over what we don't know</span></th>")
    body = []
    for i, row in enumerate(rows):
        fte = (f"<b>{row['fte_total']:g} FTE</b><br><span class=ci>" + "; ".join(
            f"{v:g} {esc(r)}" for r, v in row["fte"].items()) + "</span>") if row["fte"] else "none added"
        if row["staff_notes"]:
            fte += "".join(f"<br><span class=ci>{esc(n)}</span>" for n in row["staff_notes"])
        c = row["annual_cost"]
        cost = _money(c["mean"])
        if i:
            d = row["annual_cost_diff"]
            cost += (f"<br>{'+' if (d['diff'] or 0) >= 0 else '−'}{_money(abs(d['diff'] or 0))}<br><span class=ci>"
                     + (f"{_money(d['low'])} to {_money(d['high'])}" if d["low"] is not None else "")
                     + "</span>")  # fmt: skip
            if row.get("cost_note"):
                cost += f"<br><span class='ci vacancy' title='{esc(row.get('patrol_vacancy') or '')}'>" \
                        f"{esc(row['cost_note'])}</span>"
        cells = [f"<td class=l>{row['rank']}</td>",
                 f"<td class=l><b>{esc(row['option'])}</b></td>",
                 f"<td class=num>{cost}</td><td class=l>{fte}</td>"]  # fmt: skip
        cells += [_cell_metric(row["metrics"][m], m, i == 0) for m in metrics]
        if i == 0:
            per = "—"
        else:
            per = "<br>".join(f"{esc(PER_WORDS[m])} {_per_text(v)}" for m, v in row["cost_per_averted"].items())
        cells.append(f"<td class='l nw'>{per}</td>")
        cov = row["coverage"]
        cells.append(f"<td class=num>{'—' if cov is None else f'{cov:.0%}'}</td>")
        if data.get("psa"):
            pb = row.get("prob_best")
            cells.append(f"<td class=num>{'n/a' if pb is None else f'{pb:.0%}'}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = ("<p class=phone>Swipe the table sideways for every outcome; the option names stay in view.</p>"
             f"<div class=scroll><table class=decision><tr>{''.join(head)}</tr>{''.join(body)}</table></div>")
    table += "<ul class=legend>" + "".join(
        f"<li><b>{esc(r['option'])}</b>: {esc(r['note'])}</li>" for r in rows if r["note"]) + "</ul>"  # fmt: skip
    rank = "<ol class=rank>" + "".join(
        f"<li><b>{esc(r['option'])}</b>: {esc(r['reason'])}.</li>" for r in sorted(rows, key=lambda r: r["rank"])
    ) + "</ol>"
    legend = (
        f"<p class=legend>First row: each outcome's level per year (response time: minutes). Other rows: the "
        f"change against <b>{esc(base)}</b>, with its 95% interval over {data['replications']} paired "
        "replications beneath — <b>run-to-run noise of the simulation only</b>, not uncertainty about the inputs"
        + (" (the PSA line gives that: the interval over draws of the uncertain inputs from the evidence file "
           "and over replications, i.e. what we don't know)" if data.get("psa") else " (add a probabilistic sensitivity analysis for "
           "that)") + ". Colour: <span class=better>green = better</span> (fewer arrests, force, transports, holds,"
        " repeat callers; shorter response; more people connected), <span class=worse>red = worse</span>, grey ="
        " no clear change (the interval includes 0). Cost per outcome averted is the extra annual cost divided "
        "by the outcomes averted a year (per person connected: per extra person connected), shown only when the "
        "outcome changed clearly (– = no clear change; worse = the option makes it worse); its costs and "
        f"outcomes are {esc(data.get('discount', {}).get('text', 'not discounted'))} (the first counted year is "
        "not discounted). Coverage: share of the "
        "MH calls some program's rules admit that a specialised responder answered. Staff: full-time "
        "equivalents of 2,080 paid hours a year from each program's configured hours.</p>"
    )  # fmt: skip
    rule = data.get("ranking_rule") or weights_statement(None)
    ranking = (f"<h3>Ranking</h3><p class=legend id=ranking-rule>Rule: against {esc(base)}, {esc(rule)}; ties go "
               "to the cheaper option. Set weights with <code>--weights arrests=3,median_response_min=1</code> or "
               "a <code>[weights]</code> table in the goals file; count the size of changes with "
               "<code>--rank-by size</code>.</p>" + rank)  # fmt: skip
    vac = [r for r in rows if r.get("patrol_vacancy")]
    if vac:
        legend += ("<p class=legend>" + " ".join(
            f"<b>{esc(r['option'])}</b> has patrol posts unfilled ({esc(r['patrol_vacancy'])})"
            + (f": its lower cost is marked <i>{VACANCY}</i> — the posts stay budgeted, and the model counts "
               "officer time on calls, so an empty post shows up as less police time, not as money the city "
               "saves." if r.get("cost_note") else ".") for r in vac) + "</p>")  # fmt: skip
    warn = ""
    if data["warnings"]:
        warn = "<div class=warn><h3>Warnings</h3><ul>" + "".join(
            f"<li>{esc(w['text'])}</li>" for w in data["warnings"]) + "</ul></div>"  # fmt: skip
    return table + legend + warn + ranking


def staffing_html(data: dict[str, Any], esc: Any) -> str:
    """Utilisation, unserved eligible calls by reason, and MH calls arriving within each program's hours."""
    short = _program_short()
    out = ["<div class=scroll><table><tr><th class=l>option</th><th class=l>staff busy (utilisation)</th>"
           "<th>eligible MH calls a year</th><th class=l>eligible but not served, a year, by reason</th>"
           "<th class=l>MH calls arriving in the team's hours</th></tr>"]  # fmt: skip
    for row in data["decision"]:
        util = "<br>".join(f"{esc(short.get(k, k))}: {v:.0%}" for k, v in row["utilisation"].items()) or "—"
        el = row["eligible_calls_per_year"]
        reasons = sorted(((v, k) for k, v in row["unserved_by_reason_per_year"].items() if v > 0), reverse=True)
        un = "<br>".join(f"{esc(UNSERVED_WORDS.get(k, k))}: {v:,.0f}" for v, k in reasons) or "—"
        hrs = "<br>".join(f"{esc(short.get(k, k))}: {v:.0%}" for k, v in row["mh_calls_in_hours"].items()) or "—"
        out.append(f"<tr><td class=l>{esc(row['option'])}</td><td class=l>{util}</td>"
                   f"<td class=num>{'—' if not el else f'{el:,.0f}'}</td><td class=l>{un}</td>"
                   f"<td class=l>{hrs}</td></tr>")  # fmt: skip
    out.append("</table></div>")
    out.append("<p class=legend>Utilisation: share of staffed time spent on calls (low utilisation with many "
               "calls unserved 'outside the team's hours' means the hours, not the team count, limit coverage). "
               "Eligible: MH calls some program's rules admit. The last column is the share of all MH calls "
               "that arrive while each program is staffed.</p>")  # fmt: skip
    return "".join(out)

