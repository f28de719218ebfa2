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
}
# What each change acts on: the outcomes its answer charts, in this order (docs/dashboard.md, "What is charted").
# Monthly series are charted month by month after the warm-up; whole-run metrics as baseline against change.
OUTREACH_OUTCOMES = ("outreach_referrals", "outreach_consents", "outreach_visits", "connected_to_services",
                     "repeat_calls")  # fmt: skip
EVENT_OUTCOMES = {
    "cut_nurse": OUTREACH_OUTCOMES,
    "champion_retires": OUTREACH_OUTCOMES,
    "lose_patrol": ("median_response_min", "p90_response_min", "patrol_on_duty", "open_calls"),
    "grant_ends": ("{program}_calls", "specialized_coverage"),
}
DEFAULT_OUTCOMES = ("arrests", "use_of_force", "ed_transports", "resolved_on_scene", "connected_to_services",
                    "repeat_calls")  # fmt: skip
WHOLE_RUN = ("median_response_min", "p90_response_min", "open_calls", "specialized_coverage")
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
}
TABLE_METRICS = ("mh_calls", "arrests", "use_of_force", "ed_transports", "involuntary_holds", "resolved_on_scene",
                 "connected_to_services", "repeat_callers_90d", "median_response_min", "cost_total",
                 "open_calls", "p90_response_min", "specialized_coverage")  # fmt: skip
REQUEST_FIELDS = ("base", "replications", "days", "years", "seed", "programs", "staffing", "events")
EVENT_FIELDS = ("kind", "month", "percent", "district", "program", "duration_months", "successor_months",
                "successor_strength", "restore_months")
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
        "description": sc.description,
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
    if kind in ("cut_nurse", "champion_retires") and not program_on(base, "outreach"):
        return f"{EVENT_KINDS[kind]}: needs {outreach}, which this scenario does not run"
    if kind == "grant_ends" and not any(program_on(base, k) for k in PROGRAM_NAMES):
        return f"{EVENT_KINDS[kind]}: this scenario runs no program a grant could pay for"
    return None


def _month(ev: dict[str, Any], key: str, words: str, lo: int, hi: int) -> int:
    return check_number(ev.get(key), words, lo, hi, integer=True)


def _event(ev: Any, index: int, month_days: int, base: Any, months: int) -> list[dict[str, Any]]:
    """Timeline events (schema dicts, each with a plain ``label``) for one change of the request."""
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
    raw_events = req.get("events")
    raw_events = [] if raw_events is None else raw_events
    if not isinstance(raw_events, list):
        raise RequestError(f"events: expected a list, found {_shown(raw_events)}")
    if len(raw_events) > MAX_EVENTS:
        raise RequestError(f"events: at most {MAX_EVENTS}, found {len(raw_events)}")
    events: list[dict[str, Any]] = []
    try:
        base = load_scenario(scenarios_dir / base_file)
        month_days = base.simulation.month_days
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
        events = [e for i, ev in enumerate(raw_events) for e in _event(ev, i, month_days, base, months)]
        if events:
            overrides["timeline"] = [e.model_dump(mode="python") for e in base.timeline] + events
        alt = with_overrides(base, overrides, label="your change") if overrides else base
        alt = with_overrides(alt, {"name": "with_changes"}, label="your change")
        late = [e["label"] for e in events if e["day"] >= horizon and e.get("share") != 0.0]
        if late:
            raise RequestError(f"{late[0]}: that is after the run ends (month {months}); choose an earlier month "
                               "or more years")  # fmt: skip
        base_d = _shorten(base, days, base_file)
        alt_d = _shorten(alt, days, "your change")
    except ScenarioError as exc:
        raise RequestError("; ".join(plain_error(line, events) for line in exc.lines)) from None
    entries = (
        ScenarioEntry(base.name, base_file, {}, base_d),
        ScenarioEntry("with_changes", base_file, overrides, alt_d),
    )
    spec = ExperimentSpec(entries, reps, seed, days)
    changes += [f"{allowed[path][0]} set to {value:g} (was {_current(base, path):g})"
                for path, value in checked.items() if path in overrides]  # fmt: skip
    meta = {"changes": changes, "events": events, "month_days": month_days, "months": months,
            "warmup_months": math.ceil(base.simulation.warmup_days / month_days),
            "kinds": [ev["kind"] for ev in raw_events],
            "programs": [ev.get("program") or next(k for k in PROGRAM_NAMES if program_on(base, k))
                         for ev in raw_events if ev["kind"] == "grant_ends"],
            "event_sentences": [e["label"] for e in events]}  # fmt: skip
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
    """The schema's one-line message without internal paths: ``timeline.N`` becomes the change's words."""
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
            job = JobState(str(next(self._ids)), total=len(spec.pairs()))
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, spec, meta), daemon=True, name=f"job-{job.id}").start()
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

    def _run(self, job: JobState, spec: ExperimentSpec, meta: dict[str, Any]) -> None:
        with self._run_lock:  # one job at a time: its pool already uses every worker
            with job.lock:
                if job.cancel_requested.is_set():
                    return
                job.state = "running"
                job.started = time.time()
            try:
                runs, series = self._execute(job, spec)
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


def chosen_outcomes(meta: dict[str, Any]) -> list[str]:
    """The outcomes the request's changes act on (EVENT_OUTCOMES), in order, without repeats; the general ones
    (DEFAULT_OUTCOMES) when the request changes only programs or staffing."""
    out: list[str] = []
    programs = iter(meta.get("programs", []))
    for kind in meta.get("kinds", []):
        for m in EVENT_OUTCOMES[kind]:
            m = m.format(program=next(programs)) if "{program}" in m else m
            if m not in out:
                out.append(m)
    return out or list(DEFAULT_OUTCOMES)


def outcome_words(metric: str) -> tuple[str, str, str]:
    """(plain name, unit, better direction) of an outcome; a program's ``<key>_calls`` series by its label."""
    if metric in OUTCOME_WORDS:
        return OUTCOME_WORDS[metric]
    key = metric.removesuffix("_calls")
    if key in PROGRAM_NAMES:
        return (f"calls answered by {PROGRAM_NAMES[key]}", "per month", "higher")
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
    for side, colour, style, hatch, name in (("baseline", "#555555", "--", "////", "baseline"),
                                              ("change", "#1f5fa8", "-", None, "with your change")):  # fmt: skip
        mean = [r[f"{side}_mean"] for r in rows]
        lo = [r[f"{side}_low"] for r in rows]
        hi = [r[f"{side}_high"] for r in rows]
        ax.plot(months, mean, ls=style, color=colour, lw=1.8, label=name)
        if hatch:
            ax.fill_between(months, lo, hi, facecolor="none", edgecolor="#999999", hatch=hatch, lw=0)
        else:
            ax.fill_between(months, lo, hi, color=colour, alpha=0.18, lw=0)
    for month, _text in marks:
        ax.axvline(month, color="#b36b00", ls=":", lw=1.2)
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


def summarise(spec: ExperimentSpec, runs: Any, series: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The answer to the request: a headline sentence (with the change in cost), the outcomes the changes act on
    (``charts``, each with its monthly rows after the warm-up or its whole-run values, a verdict and a PNG), the
    whole-run table and a CSV of the charted series."""
    from crisis_sim.report import figures
    from crisis_sim.serialize import jsonable

    labels = spec.labels
    wanted = [*dict.fromkeys([*chosen_outcomes(meta), *TABLE_METRICS])]
    runs, _ = with_extra_metrics(runs, [m for m in wanted if m in TABLE_METRICS or m in WHOLE_RUN])
    metrics = [m for m in TABLE_METRICS if m in runs.columns]
    result = compare_runs(runs, labels, [m for m in wanted if m in runs.columns])
    events = meta["events"]
    month_days = meta["month_days"]
    warm = int(meta.get("warmup_months", 0))
    start = int(min((e["day"] for e in events), default=0.0) // month_days)
    first = max(warm, start)  # the window the headline reads: after the warm-up and the first change
    marks = [(e["day"] / month_days, e.get("label", "")) for e in events]
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
    what = "; ".join([s.rstrip(".") for s in meta["event_sentences"] if not s.startswith("posts ")]
                     + meta["changes"]) or "no change (the baseline against itself)"  # fmt: skip
    cost = result["metrics"].get("cost_total", {}).get(labels[1])
    years = meta["months"] / 12
    if cost and math.isfinite(cost["diff"]):
        c = cost["diff"]
        cost_text = (f"costs {_value_text(c, '$')} more" if c > 0 else f"saves {_value_text(-c, '$')}" if c < 0
                     else "costs the same") + f" over the {years:g}-year run"  # fmt: skip
    else:
        cost_text = "cost not computed"
    lead = next((c for c in charts if c["verdict"] != "unclear"), charts[0] if charts else None)
    if lead is None:
        headline = f"{what[0].upper()}{what[1:]}: {cost_text}."
    else:
        unit = lead["unit"]
        verdict_words = {"better": "better", "worse": "worse", "unclear": "no clear change"}[lead["verdict"]]
        effect = (f"{lead['label']} {_value_text(lead['baseline'], unit)} → "
                  f"{_value_text(lead['change'], unit)} ({verdict_words})")  # fmt: skip
        headline = f"If {what}: {effect}; the change {cost_text}."
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
    return jsonable({
        "headline": headline,
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
