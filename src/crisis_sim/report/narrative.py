"""Plain sentences for people who do not read TOML: what a scenario is, what changed, what the difference was.

Every sentence is generated from the validated scenario or from the comparison result, so it cannot drift from
what was simulated.
"""

from __future__ import annotations

import math
from typing import Any

from crisis_sim.experiments.compare import fmt_number
from crisis_sim.programs import PROGRAMS, program_class


def program_names() -> dict[str, str]:
    """Plain names of the registered programs, by key (each program class carries its ``label``)."""
    return {cls.key: cls.label for cls in PROGRAMS}


PROGRAM_NAMES = program_names()  # the shipped programs (program_names() also sees ones registered later)

METRIC_WORDS = {
    "calls": ("calls", "calls"),
    "mh_calls": ("mental-health calls", "calls"),
    "mh_identified": ("MH calls identified as such", "calls"),
    "arrests": ("arrests", ""),
    "arrest_rate": ("arrest rate on MH calls", "share"),
    "use_of_force": ("use-of-force incidents", ""),
    "force_rate": ("use-of-force rate", "share"),
    "injuries": ("injuries", ""),
    "ed_transports": ("ED transports", ""),
    "involuntary_holds": ("involuntary holds", ""),
    "resolved_on_scene": ("calls resolved on scene", ""),
    "referrals": ("referrals", ""),
    "connected_to_services": ("people connected to services", ""),
    "repeat_callers_90d": ("repeat callers within 90 days", ""),
    "median_response_min": ("median response time", "min"),
    "p90_response_min": ("90th-percentile response time", "min"),
    "officer_hours_mh": ("officer hours on MH calls", "h"),
    "ed_wait_hours": ("ED waiting hours", "h"),
    "cost_total": ("total cost", "$"),
    "specialized_coverage": ("coverage of eligible MH calls", "share"),
    "outreach_visits": ("outreach visits", ""),
    "outreach_referrals": ("outreach referrals", ""),
    "repeat_calls": ("repeat calls", ""),
    "open_calls": ("calls still unserved at the horizon", ""),
}


def metric_label(metric: str) -> str:
    return METRIC_WORDS.get(metric, (metric.replace("_", " "), ""))[0]


def _count(n: float, word: str) -> str:
    return f"{n:,.0f} {word}"


def describe_event(event: Any, month_days: int = 30) -> str:
    """One sentence for a timeline event (a pydantic event model or a plain dict)."""
    e = event.model_dump() if hasattr(event, "model_dump") else dict(event)
    day = float(e.get("day", 0))
    when = f"on day {day:g} (month {day / month_days:g} of the run)"
    t = e.get("type", "")
    where = f" in {e['district']}" if e.get("district") else ""
    if t == "cut_post":
        what = f"the {e.get('role')} post of {e.get('program')}{where} is cut"
    elif t == "champion_departs":
        what = f"the {e.get('role')} champion{where} leaves"
        if e.get("replacement_after_days") is not None:
            what += f" (a successor arrives {e['replacement_after_days']:g} days later)"
    elif t == "champion":
        what = f"a {e.get('role')} champion{where} takes up the post"
    elif t == "vacancy":
        what = f"{e.get('share', 0):.0%} of {e.get('role')} posts{where} stand vacant"
    elif t == "absence":
        what = f"{e.get('role')} staff{where} are absent {e.get('share', 0):.0%} of days"
    elif t == "turnover":
        what = f"{e.get('role')} staff{where} turn over at {e.get('annual_rate', 0):.0%} a year"
    elif t == "lose_patrol":
        what = f"{e.get('count')} patrol post(s){where} are lost"
        if e.get("duration_days") is not None:
            what += f" for {e['duration_days']:g} days"
    elif t == "cit_training":
        what = f"CIT training offers {e.get('seats_per_quarter')} seats a quarter"
    elif t == "funding_ends":
        what = f"the {e.get('funder')} paying {e.get('share', 0):.0%} of {e.get('program')} ends"
    elif t == "end_program":
        what = f"{e.get('program')} ends"
    elif t == "scale_program":
        what = f"{e.get('program')} is cut by {e.get('cut_share', 0):.0%}"
    elif t == "demand_surge":
        what = f"demand surges{where}"
    elif t == "demand_trend":
        what = f"demand starts to trend{where}"
    elif t == "ed_boarding":
        what = "the emergency department starts boarding patients"
    elif t == "consent_change":
        what = "consent to outreach changes"
    elif t == "launch_program":
        places = f" in {', '.join(e['districts'])}" if e.get("districts") else ""
        what = f"{e.get('program')} launches{places}"
        if e.get("ramp_months") and e.get("ramp_start_share", 1) < 1 and e.get("program") == "outreach":
            what += (
                f" (officers make {e['ramp_start_share']:.0%} of the referrals their awareness would give at first, "
                f"all of them after {e['ramp_months']:g} months)"
            )
        elif e.get("ramp_months") and e.get("ramp_start_share", 1) < 1:
            what += (
                f" (dispatch sends it {e['ramp_start_share']:.0%} of eligible calls at first, all of them after "
                f"{e['ramp_months']:g} months)"
            )
    elif t == "expand_program":
        what = f"{e.get('program')} expands to {', '.join(e.get('districts') or ())}"
    elif t == "restore_post":
        of = f" of {e['program']}" if e.get("program") else ""
        what = f"the cut {e.get('role')} post(s){of}{where} are restored"
    elif t == "add_post":
        n = e.get("count", 1)
        if e.get("role", "patrol") == "patrol":
            what = f"{n} patrol unit(s) are added{where} on the {e.get('shift')} shift"
        else:
            post = {"mobile_crisis": "team(s)", "co_response": "unit(s)", "triage": "clinician seat(s)"}
            what = f"{n} {post.get(e.get('program'), 'post(s)')} of {e.get('program')} are added"
    else:
        what = t.replace("_", " ") or "an event"
    label = f" — {e['label']}" if e.get("label") else ""
    return f"{when[0].upper()}{when[1:]}, {what}{label}."


def describe_scenario(scenario: Any, with_description: bool = True) -> list[str]:
    """Sentences describing a scenario: size, districts, patrol, programs with key settings, timeline.

    ``with_description=False`` leaves out the file's own description (a variant with overrides is no longer what
    its file describes)."""
    sim, city = scenario.simulation, scenario.city
    out = []
    if scenario.description and with_description:
        out.append(scenario.description.rstrip(".") + ".")
    years = sim.horizon_days / 365
    out.append(
        f"A city of {_count(city.population, 'residents')} in {len(city.districts)} district(s), simulated for "
        f"{sim.horizon_days:,} days (about {years:.1f} years; the first {sim.warmup_days} days are warm-up and "
        f"not counted)."
    )
    shifts = [s.name for s in scenario.police.shifts]
    parts = []
    for d in city.districts:
        units = ", ".join(f"{d.patrol_units.get(s, 0)} {s}" for s in shifts)
        parts.append(f"{d.name} ({d.population_share:.0%} of residents; patrol units per shift: {units})")
    out.append("Districts: " + "; ".join(parts) + ".")
    out.append(
        f"{scenario.demand.mh_share:.0%} of calls involve a mental-health crisis; dispatchers identify "
        f"{scenario.dispatch.mh_identification:.0%} of them as such."
    )
    on = []
    for key, name in program_names().items():
        cfg = getattr(scenario.programs, key, None)
        if cfg is None or not getattr(cfg, "enabled", True):
            continue
        settings = []
        for field, fmt in program_class(key).settings.items():
            value = getattr(cfg, field, None)
            if value is not None:
                try:
                    settings.append(fmt.format(value))
                except (TypeError, ValueError):
                    settings.append(f"{field} {value}")
        on.append(name + (f" ({', '.join(settings)})" if settings else ""))
    out.append("Programs on: " + "; ".join(on) + "." if on else "No specialised program: police as usual.")
    events = list(getattr(scenario, "timeline", []) or [])
    if events:
        out.append(f"Timeline ({len(events)} event(s)):")
        out.extend(describe_event(e, sim.month_days) for e in events)
    return out


def _is_finite(*xs: float) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def difference_sentences(
    result: dict[str, Any], metrics: list[str] | None = None, per_month_days: float | None = None
) -> list[str]:
    """One sentence per alternative scenario: its paired differences against the first scenario.

    ``per_month_days``: if given, counts are also expressed per month of that many days (the monthly rate a
    coordinator thinks in). Differences whose 95% interval includes 0 are said to be "no clear difference".
    """
    labels = result["scenarios"]
    metrics = metrics or list(result["metrics"])
    base = labels[0]
    out = []
    for label in labels[1:]:
        clear, unclear = [], []
        for m in metrics:
            v = result["metrics"].get(m, {}).get(label)
            if not v or not _is_finite(v["diff"]):
                continue
            unit = METRIC_WORDS.get(m, ("", ""))[1]
            d, lo, hi = v["diff"], v["diff_ci_low"], v["diff_ci_high"]
            scale = 1.0
            suffix = ""
            if per_month_days and unit in ("", "calls"):
                scale = 30.0 / per_month_days
                suffix = " a month"
            if unit == "share":
                txt = f"{_signed(d * 100)} points of {metric_label(m)}"
                ci = f"{_signed(lo * 100)} to {_signed(hi * 100)}" if _is_finite(lo, hi) else ""
            elif unit == "$":
                txt = f"{'+' if d >= 0 else '−'}${abs(d):,.0f} {metric_label(m)}"
                ci = f"${lo:,.0f} to ${hi:,.0f}" if _is_finite(lo, hi) else ""
            else:
                u = f" {unit}" if unit not in ("", "calls") else ""
                txt = f"{_signed(d * scale)}{u} {metric_label(m)}{suffix}"
                ci = f"{_signed(lo * scale)} to {_signed(hi * scale)}" if _is_finite(lo, hi) else ""
            if v.get("significant"):
                clear.append(f"{txt} (95% CI {ci})")
            elif d != 0:
                unclear.append(metric_label(m))
        sentence = f"{label} against {base}: "
        sentence += "; ".join(clear) if clear else "no difference whose 95% interval excludes zero"
        if unclear:
            sentence += f". No clear difference in {', '.join(unclear[:6])}{' …' if len(unclear) > 6 else ''}"
        out.append(sentence + ".")
    return out


def _signed(x: float) -> str:
    s = fmt_number(abs(x))
    return ("+" if x >= 0 else "−") + s
