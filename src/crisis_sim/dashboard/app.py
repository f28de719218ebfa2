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
REQUEST_FIELDS = ("base", "replications", "days", "seed", "programs", "staffing", "events")
EVENT_FIELDS = ("kind", "month", "percent", "district", "program")
# Bounds of what a request can set (docs/dashboard.md, "Bounds"): generous for a real city, small enough that
# one request cannot take the computer's memory or days of CPU.
MAX_REPLICATIONS = 50
MAX_DAYS = 3650  # ten years
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
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value) and (not integer or value.is_integer())
    if not ok or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
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
        "timeline": [describe_event(e, sc.simulation.month_days) for e in sc.timeline],
        "population": sc.city.population,
        "max_patrol_units": MAX_PATROL_UNITS,
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


def _event(ev: Any, index: int, month_days: int, base: Any) -> dict[str, Any]:
    where = f"event {index + 1}"
    if not isinstance(ev, dict):
        raise RequestError(f"{where}: expected an object like {{\"kind\": \"cut_nurse\", \"month\": 12}}, "
                           f"found {_shown(ev)}")  # fmt: skip
    _only(ev, EVENT_FIELDS, where)
    kind = ev.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise RequestError(f"{where}, kind: expected one of {', '.join(EVENT_KINDS)}, found {_shown(kind)}")
    where = f"event {index + 1} ({EVENT_KINDS[kind]})"
    if ev.get("month") is None:
        raise RequestError(f"{where}, month: expected a month number, found nothing")
    month = _number(ev, "month", None, 0, MAX_MONTH, integer=False, words=f"{where}, month")
    day = month * month_days
    if kind == "cut_nurse":
        return {"type": "cut_post", "day": day, "role": "nurse", "program": "outreach",
                "label": f"nurse post cut at month {month:g}"}  # fmt: skip
    if kind == "champion_retires":
        names = [d.name for d in base.city.districts]
        district = ev.get("district")
        if district is None:
            district = names[-1]
        if not isinstance(district, str) or district not in names:
            raise RequestError(
                f"{where}, district: expected one of {', '.join(names)}, found {_shown(district)}"
            )
        return {"type": "champion_departs", "day": day, "role": "crpo", "district": district,
                "label": f"{district} CRPO retires at month {month:g}"}  # fmt: skip
    if kind == "lose_patrol":
        pct = _number(ev, "percent", 10, 0, 100, integer=False, words=f"{where}, percent")
        return {"type": "vacancy", "day": day, "role": "patrol", "share": pct / 100,
                "label": f"{pct:g}% of patrol posts lost at month {month:g}"}  # fmt: skip
    program = ev.get("program")
    if program is None:
        program = "mobile_crisis"
    if not isinstance(program, str) or program not in PROGRAM_NAMES:
        raise RequestError(
            f"{where}, program: expected one of {', '.join(PROGRAM_NAMES)}, found {_shown(program)}"
        )
    pct = _number(ev, "percent", 100, 0.001, 100, integer=False, words=f"{where}, percent")
    return {"type": "funding_ends", "day": day, "program": program, "funder": "grant", "share": pct / 100,
            "label": f"grant ({pct:g}% of {program}) ends at month {month:g}"}  # fmt: skip


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
    try:
        base = load_scenario(scenarios_dir / base_file)
        month_days = base.simulation.month_days
        horizon = days or base.simulation.horizon_days
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
        events = [_event(ev, i, month_days, base) for i, ev in enumerate(raw_events)]
        if events:
            overrides["timeline"] = [e.model_dump(mode="python") for e in base.timeline] + events
        alt = with_overrides(base, overrides, label="your change") if overrides else base
        alt = with_overrides(alt, {"name": "with_changes"}, label="your change")
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
    changes += [f"{path} = {value}" for path, value in checked.items() if path in overrides]
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
