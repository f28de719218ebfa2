"""What the dashboard does, without HTTP: list base scenarios, turn a request (plain JSON from the page) into a
validated scenario pair, run jobs in the background with the experiment engine, summarise the result.

A request::

    {"base": "small_district.toml", "replications": 2, "days": 120, "seed": 0,
     "programs": {"mobile_crisis": true, "outreach": false},          # on/off (absent: as in the base)
     "staffing": {"city.districts.0.patrol_units.day": 4, "programs.mobile_crisis.teams": 2},
     "events": [{"kind": "cut_nurse", "month": 36}, {"kind": "lose_patrol", "month": 6, "percent": 20},
                {"kind": "champion_retires", "month": 18, "district": "station_b"},
                {"kind": "grant_ends", "month": 12, "program": "mobile_crisis", "percent": 40}]}

The baseline is the base scenario as shipped (with ``days``); the alternative applies programs, staffing and
events. Both run with the same replications (common random numbers), so the differences are paired.
"""

from __future__ import annotations

import itertools
import math
import re
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crisis_sim.experiments.compare import compare_runs, paired_interval, with_extra_metrics
from crisis_sim.experiments.spec import ExperimentSpec, ScenarioEntry, apply_days
from crisis_sim.report.narrative import PROGRAM_NAMES, describe_event, describe_scenario, metric_label
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides
from crisis_sim.scenario.loader import builtin_dir

REPO_SCENARIOS = builtin_dir()  # the scenarios shipped in the package (also when installed from a wheel)
STAFFING_FIELDS = {  # program -> (field, words, integer?, lowest, highest)
    "mobile_crisis": ("teams", "mobile crisis teams", True, 1, 100),
    "outreach": ("nurse_fte", "outreach nurse FTE", False, 0.1, 5),
    "stabilization": ("beds", "stabilisation beds", True, 1, 1000),
    "cit": ("trained_share", "share of patrol officers CIT-trained (0-1)", False, 0, 1),
}
EVENT_KINDS = {  # kind -> plain words (the page's "add a change" list)
    "cut_nurse": "the outreach nurse post is cut",
    "champion_retires": "a champion (community-relations officer) retires",
    "lose_patrol": "patrol posts stand vacant",
    "grant_ends": "a grant paying part of a program ends",
    "consent_change": "outreach consent changes (the signed form)",
    "demand_surge": "mental-health calls surge",
    "turnover": "staff leave and are replaced (turnover)",
    "ed_boarding": "ED psychiatric assessments take longer (boarding)",
    "launch_program": "a program starts later (launch)",
    "expand_program": "a launched program reaches another district",
    "lose_patrol_units": "a number of patrol units is lost (by district and shift)",
    "add_patrol_units": "patrol units are added (in a district and shift)",
    "absence": "staff are absent more often (sickness, leave)",
    "cit_training": "CIT courses train more officers each quarter",
    "scale_program": "a program's budget is cut (fewer hours, teams or beds)",
    "end_program": "a program ends",
    "champion_strength": "a champion's drive changes",
    "demand_trend": "mental-health calls rise or fall every year (a trend)",
}
# Who a staffing change (absence, turnover) may concern: clinician roles by plain words (scenario.timeline.base)
ROLE_WORDS = {"nurse": "nurses", "psychiatrist": "psychiatrists", "social_worker": "social workers",
              "peer": "peer workers", "emt": "EMTs"}  # fmt: skip
# What a program's budget cut shrinks (programs/*.py scale_capacity)
SCALE_WORDS = {"outreach": "every outreach worker's weekly hours", "mobile_crisis": "the number of teams on duty",
               "stabilization": "the number of beds", "cit": "the officers kept certified (refresher budget)",
               "co_response": "the number of co-response units", "triage": "the clinician seats in dispatch"}  # fmt: skip
# A program's monthly series of the people it serves (most are "<key>_calls")
PROGRAM_SERIES = {"stabilization": "stabilization_admissions", "triage": "triage_identified_added"}
LAUNCHABLE_PROGRAMS = ("co_response", "mobile_crisis", "triage")  # offered of scenario.timeline.launch.LAUNCHABLE
# Short names in sentences that repeat a program (the long registry labels are for the program list)
SHORT_NAMES = {"mobile_crisis": "the mobile crisis team", "co_response": "co-response", "triage": "911/988 triage",
               "cit": "CIT", "outreach": "outreach", "stabilization": "the stabilisation centre"}  # fmt: skip
# What each change acts on: the outcomes its answer charts, in this order (docs/dashboard.md, "What is charted").
# Monthly series are charted month by month after the warm-up; whole-run metrics as baseline against change.
OUTREACH_OUTCOMES = ("outreach_referrals", "outreach_consents", "outreach_visits", "connected_to_services",
                     "repeat_calls")  # fmt: skip
EVENT_OUTCOMES = {
    "cut_nurse": OUTREACH_OUTCOMES,
    "champion_retires": OUTREACH_OUTCOMES,
    "lose_patrol": ("median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                    "p90_response_other_min", "patrol_on_duty", "open_calls"),
    "lose_patrol_units": ("median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                          "p90_response_other_min", "staff_in_post_patrol", "open_calls"),
    "add_patrol_units": ("median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                         "p90_response_other_min", "staff_in_post_patrol", "open_calls"),
    "absence": ("staff_in_post_patrol", "median_response_mh_min", "p90_response_mh_min",
                "median_response_other_min"),
    "cit_training": ("cit_calls", "arrests", "use_of_force", "referrals", "resolved_on_scene"),
    "scale_program": ("{program}_calls", "specialized_coverage", "arrests", "ed_transports"),
    "end_program": ("{program}_calls", "specialized_coverage", "arrests", "ed_transports"),
    "champion_strength": ("outreach_referrals", "officer_awareness", "outreach_consents", "outreach_visits",
                          "connected_to_services"),
    "demand_trend": ("mh_calls", "median_response_mh_min", "p90_response_mh_min", "specialized_coverage",
                     "arrests", "ed_transports"),
    "grant_ends": ("{program}_calls", "specialized_coverage"),
    "consent_change": ("outreach_consents", "outreach_referrals", "outreach_visits", "connected_to_services"),
    "demand_surge": ("mh_calls", "median_response_mh_min", "p90_response_mh_min", "specialized_coverage",
                     "arrests", "ed_transports"),
    "turnover": ("patrol_on_duty", "median_response_mh_min", "p90_response_mh_min", "officer_awareness",
                 "referrals"),
    "ed_boarding": ("ed_wait_hours", "officer_hours_mh", "median_response_mh_min", "median_response_other_min"),
    "launch_program": ("{program}_calls", "specialized_coverage", "arrests", "ed_transports"),
    "expand_program": ("{program}_calls", "specialized_coverage", "arrests", "ed_transports"),
}
# A base scenario's own events by the change of the page they correspond to (for what to chart when the baseline
# runs without them: "without_builtin").
BUILTIN_KINDS = {"cut_post": "cut_nurse", "champion_departs": "champion_retires", "vacancy": "lose_patrol",
                 "lose_patrol": "lose_patrol", "funding_ends": "grant_ends", "consent_change": "consent_change",
                 "demand_surge": "demand_surge", "turnover": "turnover", "ed_boarding": "ed_boarding",
                 "launch_program": "launch_program", "expand_program": "expand_program",
                 "absence": "absence", "cit_training": "cit_training", "scale_program": "scale_program",
                 "end_program": "end_program", "champion": "champion_strength",
                 "demand_trend": "demand_trend", "add_post": "add_patrol_units"}  # fmt: skip
DEFAULT_OUTCOMES = ("arrests", "use_of_force", "ed_transports", "resolved_on_scene", "connected_to_services",
                    "repeat_calls")  # fmt: skip
WHOLE_RUN = ("median_response_min", "p90_response_min", "open_calls", "specialized_coverage", "ed_wait_hours",
             "officer_hours_mh")  # fmt: skip
# metric -> (plain name, unit, which direction is better: "lower", "higher" or "" for neither)
OUTCOME_WORDS = {
    "outreach_referrals": ("outreach referrals", "per month", "higher"),
    "outreach_consents": ("people consenting to outreach", "per month", "higher"),
    "outreach_visits": ("outreach home visits", "per month", "higher"),
    "connected_to_services": ("people connected to services", "per month", "higher"),
    "repeat_calls": ("repeat mental-health calls (within 90 days)", "per month", "lower"),
    "median_response_min": ("median response time", "min", "lower"),
    "p90_response_min": ("90th-percentile response time", "min", "lower"),
    "patrol_on_duty": ("patrol units on duty (at month end)", "units", "higher"),
    "open_calls": ("calls still unserved at the end of the run", "calls", "lower"),
    "specialized_coverage": ("eligible mental-health calls served by a specialised responder", "%", "higher"),
    "arrests": ("arrests", "per month", "lower"),
    "use_of_force": ("use-of-force incidents", "per month", "lower"),
    "ed_transports": ("ED transports", "per month", "lower"),
    "resolved_on_scene": ("calls resolved on scene", "per month", "higher"),
    "mh_calls": ("mental-health calls", "per month", ""),
    "involuntary_holds": ("involuntary holds", "per month", "lower"),
    "repeat_callers_90d": ("repeat callers within 90 days", "people", "lower"),
    "cost_total": ("total cost", "$", "lower"),
    "median_response_mh_min": ("median response time, mental-health calls", "min", "lower"),
    "p90_response_mh_min": ("90th-percentile response time, mental-health calls", "min", "lower"),
    "median_response_other_min": ("median response time, other police calls", "min", "lower"),
    "p90_response_other_min": ("90th-percentile response time, other police calls", "min", "lower"),
    "officer_awareness": ("officers who know the referral path (month end)", "share", "higher"),
    "referrals": ("referrals to services", "per month", "higher"),
    "ed_wait_hours": ("hours a person waits in the ED for assessment (mean)", "h", "lower"),
    "waitlist_length": ("people waiting for services (month end)", "people", "lower"),
    "officer_hours_mh": ("officer hours on mental-health calls (whole run)", "h", "lower"),
    "stabilization_admissions": ("people admitted to the stabilisation centre", "per month", "higher"),
    "triage_identified_added": ("mental-health calls found by the dispatch clinicians", "per month", "higher"),
    "staff_in_post_patrol": ("patrol posts filled, not away (month end)", "posts", "higher"),
    "staff_in_post_crpo": ("community-relations officers in post (month end)", "people", "higher"),
}
TABLE_METRICS = ("mh_calls", "arrests", "use_of_force", "ed_transports", "involuntary_holds", "resolved_on_scene",
                 "connected_to_services", "repeat_callers_90d", "median_response_min", "cost_total",
                 "open_calls", "p90_response_min", "specialized_coverage")  # fmt: skip
REQUEST_FIELDS = ("base", "replications", "days", "years", "seed", "programs", "staffing", "events",
                  "without_builtin", "goals", "psa_draws")  # fmt: skip
EVENT_FIELDS = ("kind", "month", "percent", "district", "program", "duration_months", "successor_months",
                "successor_strength", "restore_months", "consent_percent", "consent_delay_days", "hiring_months",
                "ramp_months", "ramp_start_percent", "count", "shift", "staff", "role", "strength_percent",
                "seats", "other_calls")  # fmt: skip
# Bounds of what a request can set (docs/dashboard.md, "Bounds"): generous for a real city, small enough that
# one request cannot take the computer's memory or days of CPU.
MAX_REPLICATIONS = 50
MAX_DAYS = 3650  # ten years
MAX_YEARS = 10
MAX_RUN_DAYS = 20 * 3650  # replications × days (per scenario of the pair)
MAX_SEED = 2**31 - 1
MAX_PATROL_UNITS = 200  # per district and shift
MAX_EVENTS = 20
MAX_MONTH = 1200
MAX_ACTIVE_JOBS = 2  # queued or running at once
MIN_PSA_DRAWS, MAX_PSA_DRAWS = 8, 32  # "include what we don't know": draws of the evidence (analysis/psa.py)
MAX_PSA_RUN_DAYS = 4 * MAX_RUN_DAYS  # draws × replications × days (per scenario of the pair)
MAX_GOALS = 5
# Outcomes a coordinator may set a goal on: metric -> how the goal is stated (docs/dashboard.md, "Goals").
# "change": a change in % against the baseline's running total by a month; "level": at least / at most a level.
GOAL_METRICS = {
    "arrests": "change", "ed_transports": "change", "use_of_force": "change", "involuntary_holds": "change",
    "connected_to_services": "change", "repeat_calls": "change", "outreach_referrals": "change",
    "outreach_consents": "change", "specialized_coverage": "level", "median_response_mh_min": "level",
    "p90_response_mh_min": "level", "waitlist_length": "level",
}  # fmt: skip
GOAL_FIELDS = ("metric", "change_percent", "at_least", "at_most", "by_month")
KEEP_FINISHED_JOBS = 20  # finished jobs kept for GET /api/jobs/<id>; older ones are forgotten


class RequestError(ValueError):
    """A bad request: the message is shown to the user (HTTP 400)."""


class TooManyJobs(Exception):
    """Already MAX_ACTIVE_JOBS jobs queued or running (HTTP 429)."""


def _shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message, cut to ``limit`` characters (a request can hold megabytes)."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts
        return "a number too long to show"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bound(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def check_number(value: Any, words: str, lo: float, hi: float, integer: bool = True) -> Any:
    """``value`` as an int (``integer``) or float within ``lo``..``hi``; RequestError naming ``words``
    otherwise. Booleans, strings, NaN and infinities are not numbers."""
    kind = "a whole number" if integer else "a number"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RequestError(f"{words}: {kind} from {_bound(lo)} to {_bound(hi)}; the field is blank (a blank is "
                           "not 0: type the number)")  # fmt: skip
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value) and (not integer or value.is_integer())
    if not ok or not lo <= value <= hi:
        raise RequestError(f"{words}: {kind} from {_bound(lo)} to {_bound(hi)}, found {_shown(value)}")
    return int(value) if integer else float(value)


def scenario_info(path: Path) -> dict[str, Any]:
    sc = load_scenario(path)
    shifts = [s.name for s in sc.police.shifts]
    programs = {}
    for key in PROGRAM_NAMES:
        cfg = getattr(sc.programs, key, None)
        on = cfg is not None and getattr(cfg, "enabled", True)
        staff = None
        if key in STAFFING_FIELDS:
            fname, words, integer, lo, hi = STAFFING_FIELDS[key]
            value = getattr(cfg, fname, None) if cfg is not None else None
            if value is None:
                from crisis_sim.scenario.programs_schema import ProgramsConfig

                ann = ProgramsConfig.model_fields[key].annotation
                model = next(a for a in getattr(ann, "__args__", (ann,)) if a is not type(None))
                value = model.model_fields[fname].default
            staff = {"path": f"programs.{key}.{fname}", "label": words, "value": value, "integer": integer,
                     "min": lo, "max": hi}  # fmt: skip
        programs[key] = {"name": PROGRAM_NAMES[key], "on": bool(on), "staffing": staff}
    return {
        "file": path.name,
        "name": sc.name,
        "description": plain_sentence(sc.description),
        "horizon_days": sc.simulation.horizon_days,
        "month_days": sc.simulation.month_days,
        "shifts": shifts,
        "districts": [
            {"name": d.name, "patrol_units": {s: d.patrol_units.get(s, 0) for s in shifts}}
            for d in sc.city.districts
        ],  # fmt: skip
        "programs": programs,
        "timeline": [plain_sentence(describe_event(e, sc.simulation.month_days)) for e in sc.timeline],
        "population": sc.city.population,
        "max_patrol_units": MAX_PATROL_UNITS,
        "warmup_months": math.ceil(sc.simulation.warmup_days / sc.simulation.month_days),
        "max_years": MAX_YEARS,
        "events": {kind: {"words": words, "not_applicable": not_applicable(kind, sc)}
                   for kind, words in EVENT_KINDS.items()},  # fmt: skip
        "launchable": {k: {"name": PROGRAM_NAMES[k], "districts": program_districts(sc, k), "on": program_on(sc, k),
                           "ramp": k == "mobile_crisis"} for k in launchable(sc)},  # fmt: skip
        "launched": {k: {"name": PROGRAM_NAMES[k], "districts": program_districts(sc, k)} for k in launched(sc)},
        "own_events": [plain_sentence(describe_event(e, sc.simulation.month_days)) for e in sc.timeline
                       if e.type != "note"],  # fmt: skip
        "own_event_months": [e.day / sc.simulation.month_days for e in sc.timeline if e.type != "note"],
        "goal_metrics": [{"metric": m, "label": outcome_words(m)[0], "unit": outcome_words(m)[1], "kind": kind,
                          "better": outcome_words(m)[2]} for m, kind in GOAL_METRICS.items()
                         if not m.startswith("outreach_") or program_on(sc, "outreach")],  # fmt: skip
        "psa": {"min": MIN_PSA_DRAWS, "max": MAX_PSA_DRAWS},
        "staff_groups": [{"id": k, "words": v[2]} for k, v in staff_groups(sc).items()],
        "champions": [{"role": k, "words": v} for k, v in champion_roles(sc).items()],
        "champion_now": champion_now(sc),
    }


def _number(req: dict[str, Any], key: str, default: Any, lo: float, hi: float, integer: bool = True,
            words: str | None = None) -> Any:  # fmt: skip
    value = req.get(key)
    if value is None:
        return default
    return check_number(value, words or key, lo, hi, integer)


def _only(obj: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise RequestError(f"{where}: unknown field {_shown(unknown[0])} (expected {', '.join(allowed)})")


def program_on(scenario: Any, key: str) -> bool:
    cfg = getattr(scenario.programs, key, None)
    return cfg is not None and bool(getattr(cfg, "enabled", True))


def not_applicable(kind: str, base: Any) -> str | None:
    """Why ``kind`` does not apply to ``base`` (one plain sentence), or None when it applies."""
    outreach = PROGRAM_NAMES.get("outreach", "outreach")
    if kind == "cut_nurse" and any(e.type == "cut_post" and e.role == "nurse" for e in base.timeline):
        return (f"{EVENT_KINDS[kind]}: already part of this scenario; to see what the cut does, compare against "
                "this scenario without its own events (section 1)")  # fmt: skip
    if kind in ("cut_nurse", "champion_retires") and not program_on(base, "outreach"):
        return f"{EVENT_KINDS[kind]}: needs {outreach}, which this scenario does not run"
    if kind == "grant_ends" and not any(program_on(base, k) for k in PROGRAM_NAMES):
        return f"{EVENT_KINDS[kind]}: this scenario runs no program a grant could pay for"
    if kind == "consent_change" and not program_on(base, "outreach"):
        return f"{EVENT_KINDS[kind]}: needs {outreach}, which this scenario does not run"
    if kind == "champion_strength" and not program_on(base, "outreach"):
        return f"{EVENT_KINDS[kind]}: needs {outreach}, which this scenario does not run"
    if kind == "cit_training" and not program_on(base, "cit"):
        return (f"{EVENT_KINDS[kind]}: needs {PROGRAM_NAMES.get('cit', 'CIT')}, which this scenario does not run "
                "(dispatch prefers trained officers only where the CIT program runs)")  # fmt: skip
    if kind in ("scale_program", "end_program") and not any(program_on(base, k) for k in PROGRAM_NAMES):
        return f"{EVENT_KINDS[kind]}: this scenario runs no program"
    if kind == "launch_program" and not launchable(base):
        return f"{EVENT_KINDS[kind]}: every program that can start late already has a launch in this scenario"
    if kind == "expand_program" and not launchable(base) and not launched(base):
        return f"{EVENT_KINDS[kind]}: no program of this scenario can launch, so none can reach more districts"
    return None


def launched(base: Any) -> list[str]:
    """Programs the base scenario itself launches late (its launch_program events)."""
    return [e.program for e in base.timeline if e.type == "launch_program"]


def launchable(base: Any) -> list[str]:
    """Programs a launch can start late (scenario.timeline.launch.LAUNCHABLE) that the base does not launch."""
    return [k for k in LAUNCHABLE_PROGRAMS if k in PROGRAM_NAMES and k not in launched(base)]


def program_districts(base: Any, key: str) -> list[str]:
    """Districts a program may work in: its section's ``districts`` when it has them, else the whole city."""
    covered = getattr(getattr(base.programs, key, None), "districts", None)
    return list(covered) if covered else [d.name for d in base.city.districts]


def staff_id(role: str, program: str | None) -> str:
    """The page's id of a group of staff: ``patrol``, ``crpo`` or ``<program>:<clinician role>``."""
    return role if role in ("patrol", "crpo") or not program else f"{program}:{role}"


def staff_groups(base: Any) -> dict[str, tuple[str, str | None, str]]:
    """Staff a change (absence, turnover) may concern in ``base``: id -> (role, program, plain words). Patrol
    always; community-relations officers when outreach runs (they are its champions); each running program's
    clinician roles where its section names them (``roles()``)."""
    from crisis_sim.scenario.timeline.base import program_roles

    out: dict[str, tuple[str, str | None, str]] = {"patrol": ("patrol", None, "patrol officers")}
    if program_on(base, "outreach"):
        out["crpo"] = ("crpo", None, "community-relations officers (outreach's champions)")
    for key in PROGRAM_NAMES:
        if not program_on(base, key):
            continue
        for role in sorted(program_roles(base, key) or ()):
            if role in ROLE_WORDS:
                name = SHORT_NAMES.get(key, PROGRAM_NAMES[key]).removeprefix("the ")
                out[f"{key}:{role}"] = (role, key, f"{name} {ROLE_WORDS[role]}")
    return out


def champion_roles(base: Any) -> dict[str, str]:
    """Champions whose drive a change may set (scenario.timeline.champion): role -> plain words. The community-
    relations officer's and the outreach nurse's drive scale the station visits' gain (programs/outreach.py); the
    psychiatrist's drive is read by nothing, so it is not offered."""
    if not program_on(base, "outreach"):
        return {}
    return {"crpo": "the community-relations officer of a district", "nurse": "the outreach nurse"}


def champion_now(base: Any) -> dict[str, float]:
    """The champions' drive in ``base`` (outreach), in %: the CRPOs' from the scenario, the nurse's 100%."""
    cfg = getattr(base.programs, "outreach", None)
    if not program_on(base, "outreach"):
        return {}
    return {"crpo": 100 * float(cfg.crpo_champion_strength), "nurse": 100.0}

def _optional(ev: dict[str, Any], key: str) -> Any:
    value = ev.get(key)
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _district(ev: dict[str, Any], where: str, names: list[str], everywhere: bool) -> str | None:
    district = _optional(ev, "district")
    if district in (None, "all") and everywhere:
        return None
    if not isinstance(district, str) or district not in names:
        choices = ("all or one of " if everywhere else "one of ") + ", ".join(names)
        raise RequestError(f"{where}, district: {choices}, found {_shown(district)}")
    return district


def _program_event(kind: str, ev: dict[str, Any], where: str, month: int, day: int, base: Any,
                   launches: dict[str, int]) -> list[dict[str, Any]]:  # fmt: skip
    """launch_program / expand_program: the program by its plain name; districts it may work in."""
    allowed = launchable(base) if kind == "launch_program" else [*launched(base), *launches]
    names = [PROGRAM_NAMES[k] for k in allowed]
    program = _optional(ev, "program")
    if program is None and allowed:
        program = allowed[0]
    if not isinstance(program, str) or program not in allowed:
        if kind == "expand_program" and not allowed:
            raise RequestError(f"{where}: first add '{EVENT_KINDS['launch_program']}' (only a launched program can "
                               "reach more districts)")  # fmt: skip
        raise RequestError(f"{where}, program: one of {'; '.join(names)}, found {_shown(program)}")
    name = SHORT_NAMES.get(program, PROGRAM_NAMES[program])
    districts = program_districts(base, program)
    if kind == "expand_program":
        start = launches.get(program)
        if start is not None and month < start:
            raise RequestError(f"{where}, month: on or after the launch of {name} (month {start}), found {month}")
        district = _district(ev, where, districts, everywhere=False)
        return [{"type": "expand_program", "day": day, "program": program, "districts": [district],
                 "label": f"{name} starts working in {district} in month {month}"}]  # fmt: skip
    district = _district(ev, where, districts, everywhere=True)
    out: dict[str, Any] = {"type": "launch_program", "day": day, "program": program}
    text = f"{name} starts in month {month} " + (f"in {district} only" if district else "in every district it covers")
    if district:
        out["districts"] = [district]
    ramp = _optional(ev, "ramp_months")
    if ramp is not None:
        ramp = check_number(ramp, f"{where}, months until dispatch sends every eligible call", 0, 12)
        if ramp and program != "mobile_crisis":
            raise RequestError(f"{where}, months until dispatch sends every eligible call: only "
                               f"{SHORT_NAMES['mobile_crisis']} has a ramp-up; leave it blank for {name}")  # fmt: skip
    if ramp:
        first = check_number(ev.get("ramp_start_percent", 50), f"{where}, share of eligible calls sent in the first "
                             "days (%)", 20, 100, integer=False)  # fmt: skip
        out.update(ramp_months=float(ramp), ramp_start_share=first / 100)
        text += f"; dispatch sends it {first:g}% of eligible calls at first, all after {ramp} months"
    launches[program] = month
    return [{**out, "label": text}]


def _month(ev: dict[str, Any], key: str, words: str, lo: int, hi: int) -> int:
    return check_number(ev.get(key), words, lo, hi, integer=True)


def _for_months(ev: dict[str, Any], where: str) -> int | None:
    """The optional "for how many months" of a change (blank: for good)."""
    if _optional(ev, "duration_months") is None:
        return None
    return _month(ev, "duration_months", f"{where}, for how many months", 1, MAX_MONTH)


def _staff(ev: dict[str, Any], where: str, base: Any) -> tuple[str, str | None, str]:
    groups = staff_groups(base)
    who = _optional(ev, "staff")
    who = "patrol" if who is None else who
    if not isinstance(who, str) or who not in groups:
        raise RequestError(f"{where}, who: one of {'; '.join(g[2] for g in groups.values())}, found {_shown(who)}")
    return groups[who]


def _other_calls(ev: dict[str, Any], where: str, district: str | None) -> bool:
    """A surge's or trend's "other police calls too" (``non_mh``): city-wide only."""
    other = ev.get("other_calls", False)
    if not isinstance(other, bool):
        raise RequestError(f"{where}, other police calls too: true or false, found {_shown(other)}")
    if other and district:
        raise RequestError(f"{where}: other police calls change city-wide only; choose every district or untick "
                           "'other police calls too'")  # fmt: skip
    return other


def _running_program(ev: dict[str, Any], where: str, base: Any) -> str:
    on = [k for k in PROGRAM_NAMES if program_on(base, k)]
    program = _optional(ev, "program")
    program = on[0] if program is None and on else program
    if not isinstance(program, str) or program not in on:
        raise RequestError(f"{where}, program: one of the programs this scenario runs "
                           f"({'; '.join(PROGRAM_NAMES[k] for k in on)}), found {_shown(program)}")  # fmt: skip
    return program


def _new_event(kind: str, ev: dict[str, Any], where: str, month: int, day: int, base: Any,
               month_days: int) -> list[dict[str, Any]]:  # fmt: skip
    """The changes added for issue 14 item 2 (docs/dashboard.md, "Every timeline event"): their schema events,
    each with a plain label."""
    names = [d.name for d in base.city.districts]
    if kind == "lose_patrol_units":
        district = _district(ev, where, names, everywhere=True)
        shifts = [sh.name for sh in base.police.shifts]
        shift = _optional(ev, "shift")
        shift = None if shift == "all" else shift
        if shift is not None and (not isinstance(shift, str) or shift not in shifts):
            raise RequestError(f"{where}, shift: every shift or one of {', '.join(shifts)}, found {_shown(shift)}")
        units = sum(d.patrol_units.get(sh, 0) for d in base.city.districts if district in (None, d.name)
                    for sh in shifts if shift in (None, sh))  # fmt: skip
        place = (f"{'the ' + shift + ' shift' if shift else 'every shift'} in "
                 f"{district if district else 'every district'}")  # fmt: skip
        if units < 1:
            raise RequestError(f"{where}: {place} has no patrol unit to lose")
        count = check_number(ev.get("count", 1), f"{where}, how many units ({place} has {units})", 1, units)
        out: dict[str, Any] = {"type": "lose_patrol", "day": day, "count": count}
        out.update({k: v for k, v in (("district", district), ("shift", shift)) if v is not None})
        text = (f"{count} patrol unit{'s' if count > 1 else ''} of {place} {'are' if count > 1 else 'is'} lost in "
                f"month {month}")  # fmt: skip
        duration = _for_months(ev, where)
        if duration is not None:
            out["duration_days"] = float(duration * month_days)
            text += f" for {duration} months"
        else:
            text += ", for good"
        return [{**out, "label": text}]
    if kind == "add_patrol_units":
        district = _district(ev, where, names, everywhere=False)
        shifts = [sh.name for sh in base.police.shifts]
        shift = _optional(ev, "shift")
        if not isinstance(shift, str) or shift not in shifts:
            raise RequestError(f"{where}, shift: one of {', '.join(shifts)}, found {_shown(shift)}")
        count = check_number(ev.get("count", 1), f"{where}, how many units", 1, 100)
        text = (f"{count} new patrol unit{'s' if count > 1 else ''} on the {shift} shift in {district} from month "
                f"{month} (newly hired officers, not CIT-trained; their salaries are not in the costs, which count "
                f"officer time on calls)")  # fmt: skip
        return [{"type": "add_post", "day": day, "role": "patrol", "district": district, "shift": shift,
                 "count": count, "label": text}]  # fmt: skip
    if kind == "absence":
        role, program, words = _staff(ev, where, base)
        pct = check_number(ev.get("percent", 10), f"{where}, share of days each person is away (%)", 1, 50,
                           integer=False)  # fmt: skip
        district = _district(ev, where, names, everywhere=True) if role in ("patrol", "crpo") else None
        place = f" in {district}" if district else ""
        scope = {k: v for k, v in (("role", role), ("program", program), ("district", district)) if v is not None}
        text = f"from month {month}, {words}{place} are away (sick, on leave) {pct:g}% of their days"
        events = [{"type": "absence", "day": day, **scope, "share": pct / 100}]
        duration = _for_months(ev, where)
        if duration is not None:
            events.append({"type": "absence", "day": (month + duration) * month_days, **scope, "share": 0.0})
            text += f" for {duration} months"
        else:
            text += ", for good"
        return [{**e, "label": text if i == 0 else f"{words}{place} back to usual attendance"}
                for i, e in enumerate(events)]  # fmt: skip
    if kind == "cit_training":
        seats = check_number(ev.get("seats", 10), f"{where}, officers trained each quarter", 1, MAX_PATROL_UNITS)
        district = _district(ev, where, names, everywhere=True)
        out = {"type": "cit_training", "day": day, "seats_per_quarter": seats}
        if district:
            out["district"] = district
        return [{**out, "label": f"from month {month}, a CIT course each quarter trains up to {seats} officers "
                                 f"not yet trained{' in ' + district if district else ''}"}]  # fmt: skip
    if kind == "scale_program":
        program = _running_program(ev, where, base)
        pct = check_number(ev.get("percent", 25), f"{where}, cut (%)", 1, 99, integer=False)
        what = SCALE_WORDS.get(program, "its capacity")
        return [{"type": "scale_program", "day": day, "program": program, "cut_share": pct / 100,
                 "label": f"the budget of {SHORT_NAMES.get(program, PROGRAM_NAMES[program])} is cut by {pct:g}% in "
                          f"month {month} ({what} shrinks by that share)"}]  # fmt: skip
    if kind == "end_program":
        program = _running_program(ev, where, base)
        return [{"type": "end_program", "day": day, "program": program,
                 "label": f"{SHORT_NAMES.get(program, PROGRAM_NAMES[program])} ends in month {month} (it takes no "
                          "new cases)"}]  # fmt: skip
    if kind == "champion_strength":
        roles = champion_roles(base)
        role = _optional(ev, "role")
        role = "crpo" if role is None else role
        if not isinstance(role, str) or role not in roles:
            raise RequestError(f"{where}, who: one of {'; '.join(roles.values())}, found {_shown(role)}")
        pct = check_number(ev.get("strength_percent"), f"{where}, drive (% of the strongest champion)", 0, 100,
                           integer=False)  # fmt: skip
        out = {"type": "champion", "day": day, "role": role, "strength": pct / 100}
        who = f"the outreach {role}"
        if role == "crpo":
            district = _district(ev, where, names, everywhere=False)
            out["district"] = district
            who = f"the community-relations officer in {district}"
        return [{**out, "label": f"from month {month}, {who} champions outreach at {pct:g}% of the strongest "
                                 "champion's drive"}]  # fmt: skip
    # demand_trend
    pct = check_number(ev.get("percent", 5), f"{where}, change each year (%)", -50, 100, integer=False)
    if pct == 0:
        raise RequestError(f"{where}, change each year (%): not 0 (e.g. 5 for 5% more calls a year, -5 for fewer)")
    district = _district(ev, where, names, everywhere=True)
    other = _other_calls(ev, where, district)
    out = {"type": "demand_trend", "day": day, "annual_change": pct / 100, "non_mh": other}
    if district:
        out["district"] = district
    text = (f"from month {month}, mental-health calls {'rise' if pct > 0 else 'fall'} by {abs(pct):g}% a year "
            f"{'in ' + district if district else 'in every district'}")  # fmt: skip
    return [{**out, "label": text + ("; other police calls too" if other else "")}]


def _event(ev: Any, index: int, month_days: int, base: Any, months: int,
           launches: dict[str, int] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Timeline events (schema dicts, each with a plain ``label``) for one change of the request; ``launches``
    collects the request's launches (program -> month) for the expansions that follow them."""
    launches = {} if launches is None else launches
    where = f"change {index + 1}"
    if not isinstance(ev, dict):
        raise RequestError(f"{where}: expected an object like {{\"kind\": \"cut_nurse\", \"month\": 12}}, "
                           f"found {_shown(ev)}")  # fmt: skip
    _only(ev, EVENT_FIELDS, where)
    kind = ev.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise RequestError(f"{where}, kind: expected one of {', '.join(EVENT_KINDS)}, found {_shown(kind)}")
    why = not_applicable(kind, base)
    if why:
        raise RequestError(why)
    where = f"{EVENT_KINDS[kind]}"
    month = _month(ev, "month", f"{where}, month", 1, max(1, months - 1))
    day = month * month_days
    if kind == "cut_nurse":
        cut = {"type": "cut_post", "day": day, "role": "nurse", "program": "outreach"}
        after = ev.get("restore_months")
        if after is None or after == "":
            return [{**cut, "label": f"the outreach nurse post is cut in month {month}, for good"}]
        after = _month(ev, "restore_months", f"{where}, restored after (months)", 1, max(1, months - 1 - month))
        return [{**cut, "label": f"the outreach nurse post is cut in month {month} and restored {after} months later"},
                {"type": "restore_post", "day": (month + after) * month_days, "role": "nurse", "program": "outreach",
                 "label": f"the outreach nurse post is restored in month {month + after}"}]  # fmt: skip
    if kind == "champion_retires":
        names = [d.name for d in base.city.districts]
        district = ev.get("district")
        if district is None:
            district = names[-1]
        if not isinstance(district, str) or district not in names:
            raise RequestError(f"{where}, district: one of {', '.join(names)}, found {_shown(district)}")
        out = {"type": "champion_departs", "day": day, "role": "crpo", "district": district}
        text = f"the champion (community-relations officer) in {district} retires in month {month}"
        after = ev.get("successor_months")
        if after is not None and after != "":
            after = _month(ev, "successor_months", f"{where}, successor after (months)", 1, MAX_MONTH)
            strength = ev.get("successor_strength", 50)
            strength = check_number(strength, f"{where}, successor's drive as a share of the leaver's (%)", 0, 100,
                                    integer=False)  # fmt: skip
            out.update(replacement_after_days=after * month_days, replacement_strength=strength / 100)
            text += f"; a successor ({strength:g}% of the leaver's drive) arrives {after} months later"
        else:
            text += "; no successor"
        return [{**out, "label": text}]
    if kind == "lose_patrol":
        pct = check_number(ev.get("percent", 20), f"{where}, share of posts (%)", 1, 100, integer=False)
        names = [d.name for d in base.city.districts]
        district = ev.get("district")
        if district in (None, "", "all"):
            district = None
        elif not isinstance(district, str) or district not in names:
            raise RequestError(f"{where}, district: all or one of {', '.join(names)}, found {_shown(district)}")
        place = f"in {district}" if district else "in every district"
        text = f"{pct:g}% of patrol posts {place} stand vacant from month {month}"
        events = [{"type": "vacancy", "day": day, "role": "patrol", "share": pct / 100, "district": district}]
        duration = ev.get("duration_months")
        if duration is not None and duration != "":
            duration = _month(ev, "duration_months", f"{where}, for how many months", 1, MAX_MONTH)
            events.append({"type": "vacancy", "day": (month + duration) * month_days, "role": "patrol",
                           "share": 0.0, "district": district})  # fmt: skip
            text += f" for {duration} months"
        else:
            text += ", for good"
        events = [{k: v for k, v in e.items() if v is not None} for e in events]
        return [{**e, "label": text if i == 0 else f"posts {place} filled again"} for i, e in enumerate(events)]
    if kind == "consent_change":
        pct = _optional(ev, "consent_percent")
        delay = _optional(ev, "consent_delay_days")
        if pct is None and delay is None:
            raise RequestError(f"{where}: give the new share who consent (%) or the days the signed form takes, "
                               "or both (both fields are blank)")  # fmt: skip
        out: dict[str, Any] = {"type": "consent_change", "day": day, "program": "outreach"}
        parts = []
        if pct is not None:
            pct = check_number(pct, f"{where}, people who consent at average trust (%)", 1, 99, integer=False)
            out["consent_at_mean_trust"] = pct / 100
            parts.append(f"{pct:g}% of people asked consent (at average trust)")
        if delay is not None:
            delay = check_number(delay, f"{where}, days until the signed form comes back", 0, 365)
            out["consent_delay_days"] = float(delay)
            parts.append(f"the signed form takes {delay} days")
        return [{**out, "label": f"from month {month}, " + " and ".join(parts)}]
    if kind == "demand_surge":
        pct = check_number(ev.get("percent", 20), f"{where}, more calls (%)", 1, 100, integer=False)
        names = [d.name for d in base.city.districts]
        district = _district(ev, where, names, everywhere=True)
        other = _other_calls(ev, where, district)
        place = f"in {district}" if district else "in every district"
        text = f"mental-health calls rise by {pct:g}% {place} from month {month}"
        text += " (other police calls too)" if other else ""
        events = [{"type": "demand_surge", "day": day, "factor": 1 + pct / 100, "district": district,
                   "non_mh": other}]  # fmt: skip
        duration = _optional(ev, "duration_months")
        if duration is not None:
            duration = _month(ev, "duration_months", f"{where}, for how many months", 1, MAX_MONTH)
            events.append({"type": "demand_surge", "day": (month + duration) * month_days, "factor": 1.0,
                           "district": district, "non_mh": other})  # fmt: skip
            text += f" for {duration} months"
        else:
            text += ", for good"
        events = [{k: v for k, v in e.items() if v is not None} for e in events]
        return [{**e, "label": text if i == 0 else f"mental-health calls {place} back to usual"}
                for i, e in enumerate(events)]  # fmt: skip
    if kind == "turnover":
        role, program, words = _staff(ev, where, base)
        people = "officers" if role == "patrol" else words
        pct = check_number(ev.get("percent", 15), f"{where}, {people} leaving each year (%)", 1, 100, integer=False)
        names = [d.name for d in base.city.districts]
        district = _district(ev, where, names, everywhere=True) if role in ("patrol", "crpo") else None
        out = {"type": "turnover", "day": day, "role": role, "annual_rate": pct / 100}
        if program:
            out["program"] = program
        text = f"from month {month}, {pct:g}% of {words} {'in ' + district if district else ''} leave each year"
        trained = role == "patrol"  # police academy for a new officer; others start at once (training_days = 0)
        if not trained:
            out["training_days"] = 0.0
        hiring = _optional(ev, "hiring_months")
        if hiring is not None:
            hiring = check_number(hiring, f"{where}, months to hire a replacement", 0, 24)
            out["hiring_lag_days"] = float(hiring * month_days)
            text += f"; a replacement is hired after {hiring} months" + (", then trained" if trained else "")
        else:
            text += ("; a replacement is hired after about 4.5 months" +
                     (", then trained (about 4.7 months)" if trained else ""))  # fmt: skip
        if district:
            out["district"] = district
        return [{**out, "label": " ".join(text.split())}]
    if kind == "ed_boarding":
        pct = check_number(ev.get("percent", 50), f"{where}, how much longer (%)", 10, 200, integer=False)
        return [{"type": "ed_boarding", "day": day, "factor": 1 + pct / 100,
                 "label": f"from month {month}, ED psychiatric assessments take {pct:g}% longer"}]  # fmt: skip
    if kind in ("launch_program", "expand_program"):
        return _program_event(kind, ev, where, month, day, base, launches)
    if kind in ("lose_patrol_units", "add_patrol_units", "absence", "cit_training", "scale_program",
                "end_program", "champion_strength", "demand_trend"):
        return _new_event(kind, ev, where, month, day, base, month_days)
    on = [k for k in PROGRAM_NAMES if program_on(base, k)]
    program = ev.get("program")
    if program is None:
        program = on[0]
    if not isinstance(program, str) or program not in on:
        raise RequestError(f"{where}, program: one of the programs this scenario runs "
                           f"({'; '.join(PROGRAM_NAMES[k] for k in on)}), found {_shown(program)}")  # fmt: skip
    pct = check_number(ev.get("percent", 100), f"{where}, share the grant pays (%)", 1, 100, integer=False)
    return [{"type": "funding_ends", "day": day, "program": program, "funder": "grant", "share": pct / 100,
             "label": f"the grant paying {pct:g}% of {PROGRAM_NAMES[program]} ends in month {month}"}]  # fmt: skip


def staffing_fields(base: Any) -> dict[str, tuple[str, float, float, bool]]:
    """Every staffing path a request may set on ``base``: path -> (words, lowest, highest, integer?)."""
    fields: dict[str, tuple[str, float, float, bool]] = {}
    shifts = [s.name for s in base.police.shifts]
    for i, d in enumerate(base.city.districts):
        for shift in shifts:
            fields[f"city.districts.{i}.patrol_units.{shift}"] = (
                f"{d.name}, {shift} shift patrol units",
                0,
                MAX_PATROL_UNITS,
                True,
            )
    for key, (fname, words, integer, lo, hi) in STAFFING_FIELDS.items():
        fields[f"programs.{key}.{fname}"] = (words, lo, hi, integer)
    return fields


def own_event_words(event: Any, month_days: int) -> str:
    """A base scenario's own event for a headline: its label (or the narrative's sentence) and its month, with an
    open parenthesis the caller closes."""
    text = plain_sentence(event.label) if event.label else plain_sentence(describe_event(event, month_days))
    text = text.rstrip(".")
    return f"{text[0].lower()}{text[1:]} (month {math.floor(event.day / month_days)}"


def goal_words(goal: Any) -> str:
    """A goal in the page's words (report.goals.Goal.describe speaks of "the first option")."""
    label, unit, _ = outcome_words(goal.metric)
    when = f" by month {goal.by_month}" if goal.by_month else " over the run"
    if goal.change is not None:
        pct = abs(goal.change) * 100
        return f"{pct:g}% {'fewer' if goal.change < 0 else 'more'} {label} than the baseline{when}"
    value = goal.at_least if goal.at_least is not None else goal.at_most
    shown = f"{value * 100:g}%" if unit == "%" else f"{value:g} {unit}"
    return f"{label} {'at least' if goal.at_least is not None else 'at most'} {shown}{when}"


def parse_request_goals(raw: Any) -> list[Any]:
    """The request's goals as :class:`crisis_sim.report.goals.Goal` (parsed by report.goals.parse_goals): each
    ``{"metric", "change_percent" | "at_least" | "at_most", "by_month"}``; a coverage level in %."""
    from crisis_sim.report.goals import GoalError, parse_goals

    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        raise RequestError(f"goals: expected a list, found {_shown(raw)}")
    if len(raw) > MAX_GOALS:
        raise RequestError(f"goals: at most {MAX_GOALS}, found {len(raw)}")
    items = []
    for k, g in enumerate(raw):
        where = f"goal {k + 1}"
        if not isinstance(g, dict):
            raise RequestError(f"{where}: expected an object like {{\"metric\": \"arrests\", \"change_percent\": "
                               f"-10, \"by_month\": 12}}, found {_shown(g)}")  # fmt: skip
        _only(g, GOAL_FIELDS, where)
        metric = g.get("metric")
        if not isinstance(metric, str) or metric not in GOAL_METRICS:
            raise RequestError(f"{where}, outcome: one of {', '.join(outcome_words(m)[0] for m in GOAL_METRICS)}, "
                               f"found {_shown(metric)}")  # fmt: skip
        label, unit, better = outcome_words(metric)
        where = f"{where} ({label})"
        given = [x for x in ("change_percent", "at_least", "at_most") if _optional(g, x) is not None]
        if len(given) != 1:
            raise RequestError(f"{where}: give one target (a change in % or a level), found "
                               f"{' and '.join(given) or 'none'}")  # fmt: skip
        item: dict[str, Any] = {"metric": metric}
        if given[0] == "change_percent":
            if GOAL_METRICS[metric] != "change":
                raise RequestError(f"{where}: a goal on this outcome is a level (at least / at most)")
            pct = check_number(g["change_percent"], f"{where}, change against the baseline (%)", -100, 1000,
                               integer=False)  # fmt: skip
            if pct == 0:
                raise RequestError(f"{where}, change against the baseline (%): not 0 (e.g. -10 for 10% fewer)")
            item["change"] = pct / 100
        else:
            if GOAL_METRICS[metric] != "level":
                raise RequestError(f"{where}: a goal on this outcome is a change in % against the baseline")
            hi = 100 if unit == "%" else 100_000
            value = check_number(g[given[0]], f"{where}, {given[0].replace('_', ' ')} ({unit})", 0, hi,
                                 integer=False)  # fmt: skip
            item[given[0]] = value / 100 if unit == "%" else value
        item["by_month"] = check_number(_optional(g, "by_month"), f"{where}, by month", 1, MAX_MONTH)
        items.append(item)
    try:
        return parse_goals({"goals": items}, "goals", stated_in="the dashboard")
    except GoalError as exc:  # report.goals' own checks (e.g. a change below -100%)
        raise RequestError(str(exc)) from None


def build_pair(req: Any, scenarios_dir: Path) -> tuple[ExperimentSpec, dict[str, Any]]:
    """Validate a request and build the two-scenario spec (baseline, with changes).

    Raises
    ------
    RequestError
        One plain sentence naming the first problem: an unknown field, a value of the wrong type or outside its
        bound (``docs/dashboard.md``, "Bounds"), or the scenario schema's own one-line message.
    """
    if not isinstance(req, dict):
        raise RequestError(
            f'expected a JSON object like {{"base": "small_district.toml"}}, found {_shown(req)}'
        )
    _only(req, REQUEST_FIELDS, "request")
    base_file = req.get("base")
    files = {p.name for p in scenarios_dir.glob("*.toml")}
    if not isinstance(base_file, str) or base_file not in files:
        raise RequestError(f"base: expected one of {', '.join(sorted(files))}, found {_shown(base_file)}")
    reps = _number(req, "replications", 2, 1, MAX_REPLICATIONS)
    seed = _number(req, "seed", 0, 0, MAX_SEED)
    days = _number(req, "days", None, 1, MAX_DAYS)
    if req.get("years") is not None:
        if days is not None:
            raise RequestError("give either years or days, not both")
        years = check_number(req["years"], "years to simulate", 0.25, MAX_YEARS, integer=False)
    programs = req.get("programs")
    programs = {} if programs is None else programs
    if not isinstance(programs, dict):
        raise RequestError(f"programs: expected an object of program: true/false, found {_shown(programs)}")
    staffing = req.get("staffing")
    staffing = {} if staffing is None else staffing
    if not isinstance(staffing, dict):
        raise RequestError(f"staffing: expected an object of path: number, found {_shown(staffing)}")
    goals = parse_request_goals(req.get("goals"))
    psa_draws = req.get("psa_draws")
    if psa_draws in (None, 0, False):
        psa_draws = None
    else:
        psa_draws = check_number(psa_draws, "draws of what we don't know", MIN_PSA_DRAWS, MAX_PSA_DRAWS)
    without_builtin = req.get("without_builtin", False)
    if not isinstance(without_builtin, bool):
        raise RequestError(f"without_builtin: expected true or false, found {_shown(without_builtin)}")
    raw_events = req.get("events")
    raw_events = [] if raw_events is None else raw_events
    if not isinstance(raw_events, list):
        raise RequestError(f"events: expected a list, found {_shown(raw_events)}")
    if len(raw_events) > MAX_EVENTS:
        raise RequestError(f"events: at most {MAX_EVENTS}, found {len(raw_events)}")
    events: list[dict[str, Any]] = []
    own: list[dict[str, Any]] = []  # the base's own timeline events, which come first in the run's timeline
    try:
        base = load_scenario(scenarios_dir / base_file)
        month_days = base.simulation.month_days
        own = [{"label": plain_sentence(describe_event(e, month_days))} for e in base.timeline]
        if req.get("years") is not None:
            days = max(1, round(years * 12) * month_days)  # whole months: 12 months of month_days a year
        horizon = days or base.simulation.horizon_days
        months = horizon // month_days
        if reps * horizon > MAX_RUN_DAYS:
            raise RequestError(
                f"replications × days: at most {MAX_RUN_DAYS:,} simulated days per scenario (e.g. 20 replications "
                f"of {MAX_DAYS:,} days), found {reps} × {horizon:,} = {reps * horizon:,}; "
                "use fewer replications or fewer days"
            )
        if psa_draws and psa_draws * reps * horizon > MAX_PSA_RUN_DAYS:
            raise RequestError(
                f"including what we don't know: draws × replications × days at most {MAX_PSA_RUN_DAYS:,} simulated "
                f"days per scenario, found {psa_draws} × {reps} × {horizon:,} = {psa_draws * reps * horizon:,}; "
                "use fewer draws, replications or years"
            )  # fmt: skip
        for g in goals:
            if g.by_month is not None and g.by_month > months:
                raise RequestError(f"goal '{goal_words(g)}': by month {g.by_month} is after the run ends (month "
                                   f"{months}); choose an earlier month or more years")  # fmt: skip
        overrides: dict[str, Any] = {}
        changes = []
        for key, on in programs.items():
            if key not in PROGRAM_NAMES:
                raise RequestError(
                    f"programs: expected one of {', '.join(PROGRAM_NAMES)}, found {_shown(key)}"
                )
            if not isinstance(on, bool):
                raise RequestError(
                    f"programs, {PROGRAM_NAMES[key]}: expected true or false, found {_shown(on)}"
                )
            cfg = getattr(base.programs, key, None)
            was_on = cfg is not None and getattr(cfg, "enabled", True)
            if on == was_on:
                continue
            changes.append(f"{PROGRAM_NAMES[key]} switched {'on' if on else 'off'}")
            if cfg is None:
                overrides[f"programs.{key}"] = {}
            else:
                overrides[f"programs.{key}.enabled"] = on
        allowed = staffing_fields(base)
        checked: dict[str, Any] = {}
        for path, value in staffing.items():
            if path not in allowed:
                raise RequestError(
                    "staffing: expected the patrol units of a district and shift (city.districts.0.patrol_units."
                    f"day) or a program's staffing ({', '.join(p for p in allowed if p.startswith('programs.'))}), "
                    f"found {_shown(path)}"
                )
            words, lo, hi, integer = allowed[path]
            checked[path] = check_number(value, words, lo, hi, integer)
        for path, value in checked.items():
            prog = path.split(".")[1] if path.startswith("programs.") else None
            if prog and f"programs.{prog}" in overrides:  # switched on from nothing: give the section whole
                overrides[f"programs.{prog}"] = {
                    **overrides[f"programs.{prog}"],
                    path.split(".", 2)[2]: value,
                }
            elif prog and not programs.get(prog, getattr(base.programs, prog, None) is not None):
                continue  # staff of a program that is off: ignored
            else:
                overrides[path] = value
        launches: dict[str, int] = {}
        events = [{**e, "_change": i} for i, ev in enumerate(raw_events)
                  for e in _event(ev, i, month_days, base, months, launches)]  # fmt: skip
        for e in events:  # a launch of a program the base does not run switches it on (from the launch)
            key = e["program"] if e["type"] == "launch_program" else None
            if key and not program_on(base, key) and programs.get(key) is not True:
                overrides.update({f"programs.{key}.enabled": True} if getattr(base.programs, key, None) is not None
                                 else {f"programs.{key}": overrides.get(f"programs.{key}", {})})  # fmt: skip
                # no separate "switched on" sentence: the launch's own label says when it starts
        if events:
            overrides["timeline"] = [e.model_dump(mode="python") for e in base.timeline] + [
                {k: v for k, v in e.items() if k != "_change"} for e in events]
        alt = with_overrides(base, overrides, label="your change") if overrides else base
        alt = with_overrides(alt, {"name": "with_changes"}, label="your change")
        late = [e["label"] for e in events if e["day"] >= horizon and e.get("share") != 0.0]
        if late:
            raise RequestError(f"{late[0]}: that is after the run ends (month {months}); choose an earlier month "
                               "or more years")  # fmt: skip
        builtin = [e for e in base.timeline if e.type != "note" and e.day < horizon]
        if without_builtin and not builtin:
            later = [e for e in base.timeline if e.type != "note"]
            if later:
                raise RequestError(
                    "compare against the scenario without its own events: they come after the run ends (month "
                    f"{months}; the first in about month {later[0].day / month_days:.0f}); simulate more years"
                )
            raise RequestError("compare against the scenario without its own events: this scenario has none")
        reference = base
        if without_builtin:
            reference = with_overrides(base, {"timeline": [e.model_dump(mode="python") for e in base.timeline
                                                           if e.type == "note"]}, label="baseline")  # fmt: skip
        base_d = _shorten(reference, days, base_file)
        alt_d = _shorten(alt, days, "your change")
    except ScenarioError as exc:
        raise RequestError("; ".join(plain_error(line, [*own, *events]) for line in exc.lines)) from None
    entries = (
        ScenarioEntry(base.name, base_file, {"timeline": []} if without_builtin else {}, base_d),
        ScenarioEntry("with_changes", base_file, overrides, alt_d),
    )
    spec = ExperimentSpec(entries, reps, seed, days)
    changes += [f"{allowed[path][0]} set to {value:g} (was {_current(base, path):g})"
                for path, value in checked.items() if path in overrides]  # fmt: skip
    meta = {"changes": changes, "events": events, "month_days": month_days, "months": months,
            "warmup_months": math.ceil(base.simulation.warmup_days / month_days),
            "kinds": [ev["kind"] for ev in raw_events],
            "programs": [next((e["program"] for e in events if e["type"] in ("funding_ends", "launch_program",
                                                                              "expand_program", "scale_program",
                                                                              "end_program")
                               and e.get("_change") == i), None) for i in range(len(raw_events))],
            "staff": [next((staff_id(e["role"], e.get("program")) for e in events if e["type"] in ("absence",
                            "turnover") and e.get("_change") == i), None) for i in range(len(raw_events))],
            "builtin": [own_event_words(e, month_days) for e in builtin] if without_builtin else [],
            "builtin_events": [{"day": e.day, "label": e.label} for e in builtin] if without_builtin else [],
            "builtin_kinds": [(BUILTIN_KINDS[e.type], getattr(e, "program", None),
                               staff_id(e.role, e.program) if e.type in ("absence", "turnover") else None)
                              for e in builtin if e.type in BUILTIN_KINDS] if without_builtin else [],
            "event_sentences": [e["label"] for e in events], "goals": goals, "psa": None,
            "base_events": [plain_sentence(describe_event(e, month_days)) for e in builtin]}  # fmt: skip
    for e in events:
        e.pop("_change", None)
    if psa_draws:
        from crisis_sim.analysis.evidence import load_evidence
        from crisis_sim.analysis.psa import build_psa_spec

        try:
            meta["psa"] = build_psa_spec(spec, load_evidence(None), psa_draws)
        except ScenarioError as exc:
            raise RequestError("; ".join(plain_error(line, [*own, *events]) for line in exc.lines)) from None
    return spec, meta


def _current(base: Any, path: str) -> float:
    obj: Any = base
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else (obj.get(part, 0) if isinstance(obj, dict) else
                                                      getattr(obj, part, 0))  # fmt: skip
        if obj is None:
            return 0.0
    return float(obj)


def plain_error(line: str, events: list[dict[str, Any]] | None = None) -> str:
    """The schema's one-line message without internal paths: ``timeline.N`` becomes the words of the run's N-th
    timeline event (``events``: the base's own events, then the changes)."""
    def event_words(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return f"'{events[i]['label']}'" if events and i < len(events) else "a timeline event"

    line = re.sub(r"timeline\.(\d+)(\.[a-z_]+)?", event_words, line)
    return plain_sentence(line)


def _shorten(scenario: Any, days: int | None, label: str) -> Any:
    """--days for the dashboard: the base's own events after the shortened horizon are dropped (never fire)."""
    if days is None:
        return scenario
    kept = [e for e in scenario.timeline if e.day < days]
    if len(kept) != len(scenario.timeline):
        scenario = with_overrides(
            scenario, {"timeline": [e.model_dump(mode="python") for e in kept]}, label=label
        )
    return apply_days(scenario, days, label)


# --- jobs ----------------------------------------------------------------------------------------------------
FINISHED = ("done", "error", "cancelled")


class Cancelled(Exception):
    """Raised in a job's thread when the job was cancelled."""


@dataclass
class JobState:
    id: str
    state: str = "queued"  # queued, running, done, error, cancelled
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pool: Any = field(default=None, repr=False)  # the job's executor while it runs

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total, "error": self.error,
                "elapsed_s": round((self.finished or time.time()) - self.started, 1), "result": self.result}  # fmt: skip

    def finish(self, state: str) -> None:
        """Set the final state (a cancel wins over done/error); call with ``lock`` held."""
        if self.state in FINISHED:
            return
        self.state = "cancelled" if self.cancel_requested.is_set() else state
        self.finished = time.time()

    def stop_pool(self) -> None:
        """Stop the job's worker processes now (queued chunks dropped, running ones terminated); once."""
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.abort()


class DashboardApp:
    """Scenario listing, request validation and background jobs: at most ``MAX_ACTIVE_JOBS`` queued or running,
    one running at a time on its own process pool (``workers`` processes) through the experiment engine."""

    def __init__(
        self,
        scenarios_dir: str | Path | None = None,
        workers: int = 1,
        defaults: dict[str, Any] | None = None,
    ):
        self.scenarios_dir = Path(scenarios_dir) if scenarios_dir else REPO_SCENARIOS
        self.workers = workers
        self.defaults = {"seed": 0, "days": None, **(defaults or {})}
        self.jobs: dict[str, JobState] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def scenarios(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.scenarios_dir.glob("*.toml")):
            try:
                out.append(scenario_info(path))
            except ScenarioError:
                continue
        return out

    def submit(self, req: Any) -> JobState:
        """Validate ``req`` and queue its job.

        Raises
        ------
        RequestError
            The request is invalid (:func:`build_pair`).
        TooManyJobs
            ``MAX_ACTIVE_JOBS`` jobs are already queued or running.
        """
        spec, meta = build_pair(req, self.scenarios_dir)
        with self._lock:
            active = [j for j in self.jobs.values() if j.state not in FINISHED]
            if len(active) >= MAX_ACTIVE_JOBS:
                raise TooManyJobs(
                    f"{len(active)} runs are already queued or running (at most {MAX_ACTIVE_JOBS} at once); "
                    "wait for one to finish or cancel it"
                )
            finished = [j.id for j in self.jobs.values() if j.state in FINISHED]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED_JOBS)]:
                del self.jobs[old]
            run_spec = meta["psa"].spec if meta.get("psa") else spec  # with PSA: the pair at its point values first
            job = JobState(str(next(self._ids)), total=len(run_spec.pairs()))
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, spec, meta, run_spec), daemon=True,
                         name=f"job-{job.id}").start()  # fmt: skip
        return job

    def cancel(self, job_id: str) -> JobState | None:
        """Cancel a queued or running job (its worker processes are stopped before this returns); None for an
        unknown id. A finished job is returned unchanged."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        with job.lock:
            if job.state in FINISHED:
                return job
            job.cancel_requested.set()
        job.stop_pool()
        with job.lock:
            job.finish("cancelled")
        return job

    def _run(self, job: JobState, spec: ExperimentSpec, meta: dict[str, Any],
             run_spec: ExperimentSpec | None = None) -> None:  # fmt: skip
        with self._run_lock:  # one job at a time: its pool already uses every worker
            with job.lock:
                if job.cancel_requested.is_set():
                    return
                job.state = "running"
                job.started = time.time()
            try:
                runs, series = self._execute(job, run_spec or spec)
                result = summarise(spec, runs, series, meta)
                with job.lock:
                    job.result = result if not job.cancel_requested.is_set() else None
                    job.finish("done")
            except Exception as exc:  # shown on the page; the server keeps serving
                with job.lock:
                    if not job.cancel_requested.is_set():
                        job.error = f"{type(exc).__name__}: {exc}"
                        traceback.print_exc()
                    job.finish("error")
            finally:
                job.stop_pool()

    def _execute(self, job: JobState, spec: ExperimentSpec) -> tuple[Any, Any]:
        """Run the pair into a temporary results store through the experiment engine; the job holds the engine's
        executor, so that :meth:`cancel` can stop it at once."""
        from crisis_sim.experiments.runner import run_batch
        from crisis_sim.experiments.store import ResultStore, read_series

        def hold(pool: Any) -> None:
            with job.lock:
                job.pool = pool
            if job.cancel_requested.is_set():
                raise Cancelled

        def chunk_written(_name: str) -> None:
            if job.cancel_requested.is_set():
                raise Cancelled
            job.done = store.count_on_disk()

        root = Path(tempfile.mkdtemp(prefix="crisis-sim-dashboard-"))
        try:
            with ResultStore(root, spec) as store:
                run_batch(store, "processes", self.workers, progress=False, on_chunk=chunk_written, on_pool=hold)
                with job.lock:
                    job.pool = None
                runs = store.read_runs()
            return runs, read_series(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def outcomes_for(kind: str, program: str | None, staff: str | None = None) -> list[str]:
    """The outcomes one change acts on: EVENT_OUTCOMES of its kind, with its program's series for ``{program}``;
    for the staff changes (absence, turnover) of community-relations officers or a program's clinicians, the
    people in post and that program's outcomes instead of patrol's."""
    if kind in ("scale_program", "end_program") and program == "outreach":
        return list(OUTREACH_OUTCOMES)
    if kind in ("absence", "turnover") and staff not in (None, "patrol"):
        key, _, role = staff.rpartition(":")
        if role == "crpo" or key == "outreach":
            return [f"staff_in_post_{role}", *OUTREACH_OUTCOMES]
        return [f"staff_in_post_{role}", *(f"{program_series(key)}", "specialized_coverage")]
    out = []
    for m in EVENT_OUTCOMES[kind]:
        if "{program}" in m:
            if not program:
                continue
            m = program_series(program) if m == "{program}_calls" else m.format(program=program)
        out.append(m)
    return out


def program_series(key: str | None) -> str:
    """The monthly series of the people a program serves (``<key>_calls`` for most)."""
    return PROGRAM_SERIES.get(key or "", f"{key}_calls")


def chosen_outcomes(meta: dict[str, Any]) -> list[str]:
    """The outcomes the request's changes act on (:func:`outcomes_for`), in order, without repeats; the general
    ones (DEFAULT_OUTCOMES) when the request changes only programs or staffing."""
    out: list[str] = []
    kinds = meta.get("kinds", [])
    staff = meta.get("staff") or [None] * len(kinds)
    triples = [*(t if len(t) == 3 else (*t, None) for t in meta.get("builtin_kinds", [])),
               *zip(kinds, meta.get("programs", []), staff, strict=False)]  # fmt: skip
    for kind, program, who in triples:
        for m in outcomes_for(kind, program, who):
            if m not in out:
                out.append(m)
    return out or list(DEFAULT_OUTCOMES)


def outcome_words(metric: str) -> tuple[str, str, str]:
    """(plain name, unit, better direction) of an outcome; a program's ``<key>_calls`` series by its label."""
    if metric in OUTCOME_WORDS:
        return OUTCOME_WORDS[metric]
    if metric.startswith("staff_in_post_") and metric.removeprefix("staff_in_post_") in ROLE_WORDS:
        return (f"{ROLE_WORDS[metric.removeprefix('staff_in_post_')]} in post (month end)", "people", "higher")
    key = metric.removesuffix("_calls")
    if key in PROGRAM_NAMES:
        return (f"calls answered by {SHORT_NAMES.get(key, PROGRAM_NAMES[key])}", "per month", "higher")
    return (metric_label(metric), "", "")


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    d, lo, hi = paired_interval(a, b)
    return float(d), float(lo), float(hi)


def verdict(diff: float, low: float, high: float, better: str) -> str:
    """better / worse when the 95% interval of the difference excludes 0 and the outcome has a better direction;
    "unclear" otherwise (colour on the page; never significance alone)."""
    if not better or not (math.isfinite(low) and math.isfinite(high)) or low <= 0 <= high:
        return "unclear"
    return "better" if (diff < 0) == (better == "lower") else "worse"


def _value_text(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    sign = "−" if x < 0 else ""
    x = abs(x)
    if unit == "$":
        return f"{sign}${x:,.0f}"
    if unit == "%":
        return f"{sign}{x:.1f}%"
    text = f"{x:,.1f}" if x < 100 else f"{x:,.0f}"
    return f"{sign}{text} {unit}".rstrip()


def _chart_png(rows: list[dict[str, Any]], label: str, unit: str, better: str, marks: list[tuple[float, str]]) -> bytes:
    """One panel: baseline (grey, dashed, hatched band) against the change (blue, solid, plain band)."""
    from crisis_sim.report import figures

    plt = figures._pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 2.7))
    months = [r["month"] for r in rows]
    top = max((r[f"{side}_mean"] for r in rows for side in ("baseline", "change")
               if math.isfinite(r[f"{side}_mean"])), default=0.0)  # fmt: skip
    cut = False
    for side, colour, style, hatch, name in (("baseline", "#555555", "--", "////", "baseline"),
                                              ("change", "#1f5fa8", "-", None, "with your change")):  # fmt: skip
        mean = [r[f"{side}_mean"] for r in rows]
        lo = [max(0.0, r[f"{side}_low"]) for r in rows]  # every charted outcome is a count, time or share ≥ 0
        hi = [r[f"{side}_high"] for r in rows]
        cut = cut or (top > 0 and max(hi, default=0.0) > 2 * top)
        ax.plot(months, mean, ls=style, color=colour, lw=1.8, label=name)
        if hatch:
            ax.fill_between(months, lo, hi, facecolor="none", edgecolor="#999999", hatch=hatch, lw=0)
        else:
            ax.fill_between(months, lo, hi, color=colour, alpha=0.18, lw=0)
    for month, _text in marks:
        ax.axvline(month, color="#b36b00", ls=":", lw=1.2)
    ax.set_ylim(bottom=0)
    if cut:  # few replications: a band many times the values would flatten the lines; say where it is cut
        ax.set_ylim(top=2 * top)
        ax.text(0.01, 0.97, "bands cut at the top (few replications)", transform=ax.transAxes, fontsize=7,
                va="top", color="#555555")  # fmt: skip
    direction = {"lower": "lower is better", "higher": "higher is better"}.get(better, "")
    ax.set_title(f"{label} ({unit}){'; ' + direction if direction else ''}", fontsize=9)
    ax.set_xlabel("month of the run (warm-up months left out)", fontsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    return figures.png_bytes(fig)


def _monthly_rows(series: Any, metric: str, first_month: int) -> list[dict[str, Any]]:
    from crisis_sim.experiments.compare import t_interval
    from crisis_sim.report.figures import full_months

    df = full_months(series)
    df = df[(df["variable"] == metric) & (df["month"] > first_month)]
    rows = []
    for month, g in df.groupby("month", sort=True):
        row: dict[str, Any] = {"month": int(month)}
        for s, side in ((0, "baseline"), (1, "change")):
            v = g[g["scenario_index"] == s]["value"].to_numpy(float)
            mean, lo, hi = t_interval(v)
            row[f"{side}_mean"], row[f"{side}_low"], row[f"{side}_high"] = (
                float(mean), float(lo if math.isfinite(lo) else mean), float(hi if math.isfinite(hi) else mean))
        rows.append(row)
    return rows


def plain_sentence(line: str) -> str:
    """A narrative sentence in the page's words: no internal role names, fractional months rounded."""
    line = re.sub(r"month (\d+\.\d+) of the run", lambda m: f"about month {float(m.group(1)):.0f} of the run", line)
    line = re.sub(r"\s*\(\[\w+\]\)", "", line)  # reference keys are for docs/references.md, not for the page
    for key in PROGRAM_NAMES:  # an internal program key in a narrative sentence: plain words
        line = re.sub(rf"\b{key}\b", key.replace("_", " "), line)
    return re.sub(r"\bcrpo\b|\bCRPO\b", "community-relations officer", line)


def scenario_words(scenario: Any, events: list[dict[str, Any]]) -> list[str]:
    """describe_scenario's sentences in the page's words: the request's own changes by their plain labels, no
    internal role names."""
    labels = [e["label"] for e in events]
    out = []
    for line in describe_scenario(scenario):
        mine = next((lab for lab in labels if line.endswith(f"— {lab}.")), None)
        if mine is not None:
            line = f"{mine[0].upper()}{mine[1:]}."
        out.append(plain_sentence(line))
    return out


def _programs_absent_as_zero(series: Any, metrics: list[str]) -> Any:
    """A program's monthly calls (``<key>_calls``) in the runs where the program does not exist (e.g. the baseline
    of a launch that switches it on): 0 every month, so that the two sides chart and compare."""
    import pandas as pd

    keys = [m for m in metrics if m.endswith("_calls") and m.removesuffix("_calls") in PROGRAM_NAMES]
    frames = [series]
    for metric in keys:
        have = series[series["variable"] == metric]
        if have.empty:
            continue
        runs = series[["scenario_index", "replication"]].drop_duplicates()
        present = have[["scenario_index", "replication"]].drop_duplicates()
        missing = runs.merge(present, how="left", indicator=True).query("_merge == 'left_only'")
        if missing.empty:
            continue
        months = series[series["variable"] == "mh_calls"][["scenario_index", "replication", "month", "day_end"]]
        zero = months.merge(missing[["scenario_index", "replication"]], on=["scenario_index", "replication"])
        frames.append(zero.assign(variable=metric, value=0.0))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else series


def summarise(spec: ExperimentSpec, runs: Any, series: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The answer to the request: a headline sentence (with the change in cost), the outcomes the changes act on
    (``charts``, each with its monthly rows after the warm-up or its whole-run values, a verdict and a PNG), the
    whole-run table and a CSV of the charted series."""
    from crisis_sim.report import figures
    from crisis_sim.serialize import jsonable

    labels = spec.labels
    wanted = [*dict.fromkeys([*chosen_outcomes(meta), *TABLE_METRICS])]
    runs, _ = with_extra_metrics(runs, [m for m in wanted if m in TABLE_METRICS or m in WHOLE_RUN])
    series = _programs_absent_as_zero(series, chosen_outcomes(meta))
    all_runs, all_series = runs, series
    if meta.get("psa") is not None:  # the pair at its point values is scenarios 0 and 1 of the PSA experiment
        runs = runs[runs["scenario_index"] < 2]
        series = series[series["scenario_index"] < 2]
    metrics = [m for m in TABLE_METRICS if m in runs.columns]
    result = compare_runs(runs, labels, [m for m in wanted if m in runs.columns])
    events = meta["events"]
    month_days = meta["month_days"]
    warm = int(meta.get("warmup_months", 0))
    dated = [*events, *meta.get("builtin_events", [])]
    start = int(min((e["day"] for e in dated), default=0.0) // month_days)
    first = max(warm, start)  # the window the headline reads: after the warm-up and the first change
    marks = [(e["day"] / month_days, e.get("label", "")) for e in dated]
    charts, csv_rows = [], ["metric,outcome,unit,month,baseline_mean,baseline_low,baseline_high,"
                            "change_mean,change_low,change_high"]  # fmt: skip
    for metric in chosen_outcomes(meta):
        label, unit, better = outcome_words(metric)
        scale = 100.0 if unit == "%" else 1.0
        entry: dict[str, Any] = {"metric": metric, "label": label, "unit": unit, "better": better}
        if metric in WHOLE_RUN or metric not in set(series["variable"]):
            if metric not in result["metrics"]:
                continue
            v0, v1 = result["metrics"][metric][labels[0]], result["metrics"][metric][labels[1]]
            d, lo, hi = (scale * v1[k] for k in ("diff", "diff_ci_low", "diff_ci_high"))
            entry.update(kind="whole run", baseline=scale * v0["mean"], change=scale * v1["mean"], rows=[])
            csv_rows.append(f"{metric},\"{label}\",{unit},whole run,{scale * v0['mean']:.6g},{scale * v0['ci_low']:.6g},"
                            f"{scale * v0['ci_high']:.6g},{scale * v1['mean']:.6g},{scale * v1['ci_low']:.6g},"
                            f"{scale * v1['ci_high']:.6g}")  # fmt: skip
        else:
            rows = _monthly_rows(series, metric, warm)
            df = series[(series["variable"] == metric) & (series["month"] > first)]
            means = df.groupby(["scenario_index", "replication"])["value"].mean().unstack(0)
            if not rows or 0 not in means or 1 not in means:
                continue
            d, lo, hi = _paired(means[0].to_numpy(float), means[1].to_numpy(float))
            entry.update(kind="monthly", baseline=float(np.nanmean(means[0])), change=float(np.nanmean(means[1])),
                         rows=rows, window_from_month=first + 1)  # fmt: skip
            entry["png"] = figures.data_uri(_chart_png(rows, label, unit, better, marks))
            for r in rows:
                csv_rows.append(f"{metric},\"{label}\",{unit},{r['month']},"
                                + ",".join(f"{r[k]:.6g}" for k in ("baseline_mean", "baseline_low", "baseline_high",
                                                                   "change_mean", "change_low", "change_high")))  # fmt: skip
        entry.update(diff=d, low=lo, high=hi, verdict=verdict(d, lo, hi, better))
        charts.append(entry)
    own = [f"{b}; this scenario's own event, the baseline runs without it)" for b in meta.get("builtin", [])]
    what = "; ".join([*own, *[s.rstrip(".") for s in meta["event_sentences"] if not s.startswith(("posts ",
                                                                                                   "mental-health "
                                                                                                   "calls in"))],
                      *meta["changes"]])  # fmt: skip
    nothing = not what
    cost = result["metrics"].get("cost_total", {}).get(labels[1])
    years = meta["months"] / 12
    if cost and math.isfinite(cost["diff"]):
        c = cost["diff"]
        cost_text = (f"costs {_value_text(c, '$')} more" if c > 0 else f"saves {_value_text(-c, '$')}" if c < 0
                     else "costs the same") + f" over the {years:g}-year run"  # fmt: skip
    else:
        cost_text = "cost not computed"
    lead = next((c for c in charts if c["verdict"] != "unclear"), charts[0] if charts else None)
    if nothing:
        what = "nothing changed"
        headline = ("Nothing changed: both sides run the same scenario with the same random numbers, so there is no "
                    "difference to read.")  # fmt: skip
        if meta.get("base_events"):
            headline += (" This scenario's own events (" + "; ".join(b.rstrip(".") for b in meta["base_events"])
                         + ") run on both sides: tick 'compare against this scenario without its own events' to see "
                         "what they do.")  # fmt: skip
    elif lead is None:
        headline = f"{what[0].upper()}{what[1:]}: {cost_text}."
    else:
        unit = lead["unit"]
        verdict_words = {"better": "better", "worse": "worse", "unclear": "no clear change"}[lead["verdict"]]
        effect = (f"{lead['label']} {_value_text(lead['baseline'], unit)} → "
                  f"{_value_text(lead['change'], unit)} ({verdict_words})")  # fmt: skip
        headline = f"If {what}: {effect}; the change {cost_text}."
        if own and what == "; ".join(own):  # only the base's own events: say so plainly
            events_text = "; ".join(b + ")" for b in meta["builtin"])
            headline = (f"What this scenario's own event{'s' if len(own) > 1 else ''} ({events_text}) "
                        f"{'do' if len(own) > 1 else 'does'}, against the same scenario without "
                        f"{'them' if len(own) > 1 else 'it'}: {effect}; {'' if cost_text.startswith('cost not') else 'it '}{cost_text}.")  # fmt: skip
    sentences = []
    for c in charts:
        window = (f"monthly average, months {c.get('window_from_month')} to {meta['months']}"
                  if c["kind"] == "monthly" else "whole run")  # fmt: skip
        unit = "" if c["unit"] == "per month" else c["unit"]
        sentences.append(f"{c['label'][0].upper()}{c['label'][1:]} ({window}): {_value_text(c['baseline'], unit)} "
                         f"→ {_value_text(c['change'], unit)}, difference {_value_text(c['diff'], unit)} "
                         f"(95% interval {_value_text(c['low'], unit)} to {_value_text(c['high'], unit)}): "
                         f"{ {'better': 'better', 'worse': 'worse', 'unclear': 'no clear change'}[c['verdict']] }.")  # fmt: skip
    if spec.replications < 5:
        sentences.append(f"Only {spec.replications} replication(s): intervals are wide; use 10 or more to decide.")
    table = []
    for m in metrics:
        v0, v1 = result["metrics"][m][labels[0]], result["metrics"][m][labels[1]]
        if m == "specialized_coverage" and v0["mean"] == 0 == v1["mean"]:
            continue  # no specialised responder on either side: a coverage of 0% says nothing
        label, unit, better = outcome_words(m)
        unit = "over the run" if unit == "per month" else unit
        scale = 100.0 if unit == "%" else 1.0
        d, lo, hi = scale * v1["diff"], scale * v1["diff_ci_low"], scale * v1["diff_ci_high"]
        table.append({"metric": m, "label": label, "unit": unit, "better": better, "baseline": scale * v0["mean"],
                      "changed": scale * v1["mean"], "diff": d, "diff_ci_low": lo, "diff_ci_high": hi,
                      "verdict": verdict(d, lo, hi, better)})  # fmt: skip
    goals = goal_answers(meta, all_runs, all_series, labels, warm)
    psa = None
    if meta.get("psa") is not None:
        rows, psa_runs = [], all_runs.copy()
        for c in charts:  # a monthly chart: its window's monthly average per run, as the chart's difference reads
            if c["kind"] == "monthly":
                df = all_series[(all_series["variable"] == c["metric"]) & (all_series["month"] > first)]
                means = df.groupby(["scenario_index", "replication"])["value"].mean().rename(f"window:{c['metric']}")
                psa_runs = psa_runs.merge(means.reset_index(), on=["scenario_index", "replication"], how="left")
                rows.append({**c, "metric": f"window:{c['metric']}", "diff_ci_low": c["low"],
                             "diff_ci_high": c["high"], "window": "monthly average"})  # fmt: skip
        charted = {c["metric"] for c in charts}
        rows += sorted(table, key=lambda r: r["metric"] not in charted)
        psa = psa_answers(meta, psa_runs, rows)
    if psa is not None:
        sentences.append(f"Including what we don't know ({psa['draws']} draws of the evidence × "
                         f"{psa['replications']} replications):")  # fmt: skip
        lead_metric = f"window:{lead['metric']}" if lead and lead["kind"] == "monthly" else (lead or {}).get("metric")
        sentences += [m["sentence"] for m in psa["metrics"] if m["metric"] in (lead_metric, "cost_total")]
        sentences.append("The table 'Including what we don't know' below gives every outcome.")
    sentences += [g["sentence"] for g in goals]
    return jsonable({
        "headline": headline,
        "goals": goals,
        "psa": psa,
        "sentences": [f"What changed: {what}.", *sentences],
        "charts": [c["metric"] for c in charts],
        "chart_details": charts,
        "table": table,
        "csv": "\n".join(csv_rows) + "\n",
        "warmup_months": warm,
        "months": meta["months"],
        "scenario": scenario_words(spec.scenarios[1].scenario, events),
        "replications": spec.replications,
    })  # fmt: skip


def goal_answers(meta: dict[str, Any], runs: Any, series: Any, labels: Any, warm: int) -> list[dict[str, Any]]:
    """Per goal: whether, when and with what probability the baseline and the change meet it (report.goals), over
    replications, and over draws × replications when what we don't know is included."""
    from crisis_sim.report.goals import GoalError, evaluate, psa_as_replications

    goals = meta.get("goals") or []
    if not goals:
        return []
    psa = meta.get("psa")
    point_runs = runs[runs["scenario_index"] < 2] if psa is not None else runs
    point_series = series[series["scenario_index"] < 2] if psa is not None else series
    warm_month = warm + 1
    try:
        found = evaluate(goals, point_runs, point_series, list(labels), warm_month)
        over = None
        if psa is not None:
            reps = int(point_runs["replication"].max()) + 1
            pairs = psa_as_replications(psa.index, psa.strategies, reps, runs, series)
            over = evaluate(goals, *pairs, list(labels), warm_month)
    except GoalError as exc:
        return [{"goal": str(exc), "sentence": str(exc)}]
    out = []
    for k, (goal, entry) in enumerate(zip(goals, found, strict=True)):
        words = goal_words(goal)
        sides = {"baseline": entry["options"][labels[0]], "change": entry["options"][labels[1]]}
        if over is not None:
            sides["change_psa"] = over[k]["options"][labels[1]]
            sides["baseline_psa"] = over[k]["options"][labels[0]]
        out.append({"goal": words, "metric": goal.metric, **sides, "sentence": _goal_sentence(words, goal, sides)})
    return out


def _goal_sentence(words: str, goal: Any, sides: dict[str, Any]) -> str:
    def share(v: dict[str, Any]) -> str:
        p = v.get("met_probability")
        if p is None:
            return f"cannot tell ({v.get('basis', 'not recorded')})"
        when = v.get("met_median_month")
        held = f", from about month {when:.0f} (median)" if when else ""
        return f"met in {p:.0%} of runs{held}"

    text = f"Goal: {words}. With your change: {share(sides['change'])}"
    if "change_psa" in sides:
        text += f"; including what we don't know: {share(sides['change_psa'])}"
    if goal.change is None:
        text += f". Baseline: {share(sides['baseline'])}"
    return text + "."


def psa_answers(meta: dict[str, Any], runs: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """"Include what we don't know": per outcome row (``metric``, ``label``, ``unit``, ``better``, ``diff``,
    ``diff_ci_low``, ``diff_ci_high``: the run-to-run answer; ``metric`` a column of ``runs``), the interval of the
    paired difference over draws of the evidence × replications (analysis/psa.py, analysis/uncertainty.py) beside
    the run-to-run one, and the chance that the change makes the outcome better or worse (share of draws)."""
    from crisis_sim.analysis import uncertainty as u
    from crisis_sim.analysis.psa import split_runs

    plan = meta["psa"]
    psa, _ = split_runs(plan, runs)
    strategies = list(plan.strategies)
    rows = [r for r in {r["metric"]: r for r in rows}.values() if r["metric"] in psa.columns]
    summary = u.psa_summary(psa, strategies, [r["metric"] for r in rows]).set_index(["metric", "strategy"])
    out = []
    for r in rows:
        m, label, unit, better = r["metric"], r["label"], r["unit"], r["better"]
        scale = 100.0 if unit == "%" else 1.0
        row = summary.loc[(m, strategies[1])]
        med, lo, hi = (scale * float(row[k]) for k in ("diff_median", "diff_low", "diff_high"))
        entry: dict[str, Any] = {"metric": m, "label": label, "unit": unit, "better": better, "run_diff": r["diff"],
                                 "run_low": r["diff_ci_low"], "run_high": r["diff_ci_high"], "diff_median": med,
                                 "low": lo, "high": hi, "p_better": None, "p_worse": None}  # fmt: skip
        shown = "" if unit in ("over the run", "per month") else unit
        how = f"{unit}, {r['window']}" if r.get("window") else unit
        entry["window"] = r.get("window", "whole run")
        text = (f"{label[0].upper()}{label[1:]} ({how}): difference {_value_text(r['diff'], shown)}; run-to-run "
                f"{_value_text(r['diff_ci_low'], shown)} to {_value_text(r['diff_ci_high'], shown)}; over what we "
                f"don't know {_value_text(lo, shown)} to {_value_text(hi, shown)}")  # fmt: skip
        if better:
            means = u.draw_means(psa, m, strategies)
            diff = (means[strategies[1]] - means[strategies[0]]).to_numpy(float)
            diff = diff[np.isfinite(diff)]
            if diff.size:
                gain = -diff if better == "lower" else diff
                entry["p_better"] = float((gain > 0).mean())
                entry["p_worse"] = float((gain < 0).mean())
                text += (f"; the change makes it better in {entry['p_better']:.0%} of the draws, worse in "
                         f"{entry['p_worse']:.0%}")  # fmt: skip
        entry["sentence"] = text + "."
        if r["diff"] == 0 and lo == 0 == hi and not r.get("window"):
            continue  # no difference in any run or draw (e.g. arrests when patrol posts stand vacant): no row
        out.append(entry)
    return {"draws": int(len(plan.draws)), "replications": int(plan.spec.replications),
            "evidence": "crisis_sim/evidence/default.toml", "inputs_varied": list(plan.applied), "metrics": out}  # fmt: skip
