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
STAFFING_FIELDS = {  # program -> (field, words, integer?)
    "mobile_crisis": ("teams", "mobile crisis teams", True),
    "outreach": ("nurse_fte", "outreach nurse FTE", False),
    "stabilization": ("beds", "stabilisation beds", True),
    "cit": ("trained_share", "share of patrol officers CIT-trained (0-1)", False),
}
EVENT_KINDS = {
    "cut_nurse": "cut the outreach nurse post",
    "champion_retires": "a community-relations officer (champion) retires",
    "lose_patrol": "lose a share of patrol posts (vacancies)",
    "grant_ends": "a grant paying part of a program ends",
}
SUMMARY_SERIES = ("outreach_visits", "outreach_referrals", "repeat_calls", "arrests", "use_of_force",
                  "ed_transports", "resolved_on_scene", "connected_to_services", "mobile_crisis_calls")  # fmt: skip
TABLE_METRICS = ("mh_calls", "arrests", "use_of_force", "ed_transports", "involuntary_holds", "resolved_on_scene",
                 "connected_to_services", "repeat_callers_90d", "median_response_min", "cost_total",
                 "open_calls")  # fmt: skip
MAX_REPLICATIONS = 50


class RequestError(ValueError):
    """A bad request: the message is shown to the user (HTTP 400)."""


def _stafffield(key: str) -> tuple[str, str, bool] | None:
    return STAFFING_FIELDS.get(key)


def scenario_info(path: Path) -> dict[str, Any]:
    sc = load_scenario(path)
    shifts = [s.name for s in sc.police.shifts]
    programs = {}
    for key in PROGRAM_NAMES:
        cfg = getattr(sc.programs, key, None)
        on = cfg is not None and getattr(cfg, "enabled", True)
        staff = None
        if key in STAFFING_FIELDS:
            fname, words, integer = STAFFING_FIELDS[key]
            value = getattr(cfg, fname, None) if cfg is not None else None
            if value is None:
                from crisis_sim.scenario.programs_schema import ProgramsConfig

                ann = ProgramsConfig.model_fields[key].annotation
                model = next(a for a in getattr(ann, "__args__", (ann,)) if a is not type(None))
                value = model.model_fields[fname].default
            staff = {"path": f"programs.{key}.{fname}", "label": words, "value": value, "integer": integer}
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
        "timeline": [describe_event(e, sc.simulation.month_days) for e in sc.timeline],
        "population": sc.city.population,
    }


def _number(req: dict[str, Any], key: str, default: Any, lo: float, hi: float, integer: bool = True) -> Any:
    value = req.get(key, default)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and float(value) != int(value))
    ):
        kind = "a whole number" if integer else "a number"
        raise RequestError(f"{key}: expected {kind}, found {value!r}")
    if not lo <= value <= hi:
        raise RequestError(f"{key}: expected {lo:g} to {hi:g}, found {value!r}")
    return int(value) if integer else float(value)


def _event(ev: Any, index: int, month_days: int, base: Any) -> dict[str, Any]:
    if not isinstance(ev, dict):
        raise RequestError(f"events.{index}: expected an object, found {ev!r}")
    kind = ev.get("kind")
    if kind not in EVENT_KINDS:
        raise RequestError(f"events.{index}.kind: expected one of {', '.join(EVENT_KINDS)}, found {kind!r}")
    month = _number(ev, "month", None, 0, 10_000, integer=False)
    if month is None:
        raise RequestError(f"events.{index}.month: expected a month number, found nothing")
    day = float(month) * month_days
    if kind == "cut_nurse":
        return {"type": "cut_post", "day": day, "role": "nurse", "program": "outreach",
                "label": f"nurse post cut at month {month:g}"}  # fmt: skip
    if kind == "champion_retires":
        district = ev.get("district") or base.city.districts[-1].name
        return {"type": "champion_departs", "day": day, "role": "crpo", "district": district,
                "label": f"{district} CRPO retires at month {month:g}"}  # fmt: skip
    if kind == "lose_patrol":
        pct = _number(ev, "percent", 10, 0, 100, integer=False)
        return {"type": "vacancy", "day": day, "role": "patrol", "share": pct / 100,
                "label": f"{pct:g}% of patrol posts lost at month {month:g}"}  # fmt: skip
    program = ev.get("program") or "mobile_crisis"
    pct = _number(ev, "percent", 100, 0.001, 100, integer=False)
    return {"type": "funding_ends", "day": day, "program": program, "funder": "grant", "share": pct / 100,
            "label": f"grant ({pct:g}% of {program}) ends at month {month:g}"}  # fmt: skip


def build_pair(req: Any, scenarios_dir: Path) -> tuple[ExperimentSpec, dict[str, Any]]:
    """Validate a request and build the two-scenario spec (baseline, with changes); RequestError on problems
    (including the scenario schema's own one-line messages)."""
    if not isinstance(req, dict):
        raise RequestError("expected a JSON object")
    base_file = req.get("base")
    files = {p.name for p in scenarios_dir.glob("*.toml")}
    if base_file not in files:
        raise RequestError(f"base: expected one of {', '.join(sorted(files))}, found {base_file!r}")
    reps = _number(req, "replications", 2, 1, MAX_REPLICATIONS)
    seed = _number(req, "seed", 0, 0, 2**31 - 1)
    days = _number(req, "days", None, 1, 36_500)
    try:
        base = load_scenario(scenarios_dir / base_file)
        month_days = base.simulation.month_days
        overrides: dict[str, Any] = {}
        programs = req.get("programs") or {}
        if not isinstance(programs, dict):
            raise RequestError(f"programs: expected an object of program: true/false, found {programs!r}")
        changes = []
        for key, on in programs.items():
            if key not in PROGRAM_NAMES:
                raise RequestError(f"programs: expected one of {', '.join(PROGRAM_NAMES)}, found {key!r}")
            if not isinstance(on, bool):
                raise RequestError(f"programs.{key}: expected true or false, found {on!r}")
            cfg = getattr(base.programs, key, None)
            was_on = cfg is not None and getattr(cfg, "enabled", True)
            if on == was_on:
                continue
            changes.append(f"{PROGRAM_NAMES[key]} switched {'on' if on else 'off'}")
            if cfg is None:
                overrides[f"programs.{key}"] = {}
            else:
                overrides[f"programs.{key}.enabled"] = on
        staffing = req.get("staffing") or {}
        if not isinstance(staffing, dict):
            raise RequestError(f"staffing: expected an object of path: number, found {staffing!r}")
        for path, value in staffing.items():
            if not (path.startswith("city.districts.") and ".patrol_units." in path) and not (
                path.startswith("programs.") and path.split(".")[1] in STAFFING_FIELDS
            ):
                raise RequestError(f"staffing: expected patrol units or a program's staff, found {path!r}")
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
        raw_events = req.get("events") or []
        if not isinstance(raw_events, list):
            raise RequestError(f"events: expected a list, found {raw_events!r}")
        events = [_event(ev, i, month_days, base) for i, ev in enumerate(raw_events)]
        if events:
            overrides["timeline"] = [e.model_dump(mode="python") for e in base.timeline] + events
        alt = with_overrides(base, overrides, label="your change") if overrides else base
        alt = with_overrides(alt, {"name": "with_changes"}, label="your change")
        horizon = days or base.simulation.horizon_days
        late = [e["label"] for e in events if e["day"] >= horizon]
        if late:
            raise RequestError(f"events: {late[0]} falls after the {horizon}-day horizon "
                               f"(month {horizon / month_days:g}); choose an earlier month or more days")  # fmt: skip
        base_d = _shorten(base, days, base_file)
        alt_d = _shorten(alt, days, "your change")
    except ScenarioError as exc:
        raise RequestError("; ".join(exc.lines)) from None
    entries = (
        ScenarioEntry(base.name, base_file, {}, base_d),
        ScenarioEntry("with_changes", base_file, overrides, alt_d),
    )
    spec = ExperimentSpec(entries, reps, seed, days)
    changes += [f"{path} = {value}" for path, value in staffing.items() if path in overrides]
    meta = {"changes": changes, "events": events, "month_days": month_days,
            "event_sentences": [describe_event({**e, "label": ""}, month_days) for e in events]}  # fmt: skip
    return spec, meta


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
@dataclass
class JobState:
    id: str
    state: str = "queued"  # queued, running, done, error
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total, "error": self.error,
                "elapsed_s": round((self.finished or time.time()) - self.started, 1), "result": self.result}  # fmt: skip


class DashboardApp:
    """Scenario listing, request validation and a single background worker thread that runs one job at a time
    on a process pool (``workers`` processes) through the experiment engine."""

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
        spec, meta = build_pair(req, self.scenarios_dir)  # raises RequestError
        with self._lock:
            job = JobState(str(next(self._ids)), total=len(spec.pairs()))
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, spec, meta), daemon=True, name=f"job-{job.id}").start()
        return job

    def _run(self, job: JobState, spec: ExperimentSpec, meta: dict[str, Any]) -> None:
        from crisis_sim.report.run import run_experiment

        with self._run_lock:  # one job at a time: the pool already uses every worker
            job.state = "running"
            job.started = time.time()

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total

            try:
                outcome = run_experiment(spec, None, "processes", self.workers, progress=False,
                                         on_progress=progress)  # fmt: skip
                job.result = summarise(spec, outcome.runs, outcome.series, meta)
                job.state = "done"
            except Exception as exc:  # shown on the page; the server keeps serving
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "error"
                traceback.print_exc()
            finally:
                job.finished = time.time()


def _window_diff(series: Any, variable: str, start_month: float) -> tuple[float, float, float, float] | None:
    """Paired difference (alternative - baseline) of the per-replication mean monthly value over months after
    ``start_month``; also the baseline mean."""
    df = series[(series["variable"] == variable) & (series["month"] > start_month)]
    if df.empty:
        return None
    means = df.groupby(["scenario_index", "replication"])["value"].mean().unstack(0)
    if 0 not in means or 1 not in means:
        return None
    d, lo, hi = paired_interval(means[0].to_numpy(float), means[1].to_numpy(float))
    return d, lo, hi, float(np.nanmean(means[0].to_numpy(float)))


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    s = f"{abs(x):,.1f}" if abs(x) < 100 else f"{abs(x):,.0f}"
    return ("+" if x >= 0 else "−") + s


def summarise(spec: ExperimentSpec, runs: Any, series: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Plain-language summary, a table and a chart of the pair (baseline, with changes)."""
    from crisis_sim.report import figures

    labels = spec.labels
    runs, _ = with_extra_metrics(runs, list(TABLE_METRICS))
    metrics = [m for m in TABLE_METRICS if m in runs.columns]
    result = compare_runs(runs, labels, metrics)
    events = meta["events"]
    month_days = meta["month_days"]
    start = min((e["day"] for e in events), default=0.0) / month_days
    what = (
        "; ".join([s.rstrip(".") for s in meta["event_sentences"]] + meta["changes"])
        or "no change (the baseline against itself)"
    )
    window = f"from month {start:g} on" if events else "over the whole run"
    clear, unclear = [], []
    for var in SUMMARY_SERIES:
        r = _window_diff(series, var, start)
        if r is None:
            continue
        d, lo, hi, base_mean = r
        if base_mean == 0 and d == 0:
            continue
        text = f"{_fmt(d)} {metric_label(var)} a month (95% CI {_fmt(lo)} to {_fmt(hi)}; baseline {base_mean:,.1f})"
        if math.isfinite(lo) and (lo > 0 or hi < 0):
            clear.append(text)
        else:
            unclear.append(metric_label(var))
    sentences = [f"What changed: {what}."]
    if clear:
        sentences.append(f"Against the baseline, {window}: " + "; ".join(clear) + ".")
    else:
        sentences.append(
            f"Against the baseline, {window}: no monthly difference whose 95% interval excludes 0."
        )
    if unclear:
        sentences.append("No clear difference in " + ", ".join(unclear) + ".")
    if spec.replications < 5:
        sentences.append(
            f"Only {spec.replications} replication(s): intervals are wide; use 10 or more to decide."
        )
    table = []
    for m in metrics:
        v0, v1 = result["metrics"][m][labels[0]], result["metrics"][m][labels[1]]
        table.append({"metric": metric_label(m), "baseline": v0["mean"], "changed": v1["mean"], "diff": v1["diff"],
                      "diff_ci_low": v1["diff_ci_low"], "diff_ci_high": v1["diff_ci_high"],
                      "significant": v1["significant"]})  # fmt: skip
    variables = [v for v in figures.available_series(series) if v in (*SUMMARY_SERIES, "patrol_on_duty")][:6]
    marks = [(e["day"] / month_days, e.get("label", "")) for e in events]
    png = (
        figures.series_figure(series, ["baseline", "with changes"], variables, events=marks)
        if variables
        else None
    )
    from crisis_sim.serialize import jsonable

    return jsonable({
        "sentences": sentences,
        "table": table,
        "chart": figures.data_uri(png) if png else None,
        "scenario": describe_scenario(spec.scenarios[1].scenario),
        "replications": spec.replications,
    })  # fmt: skip
