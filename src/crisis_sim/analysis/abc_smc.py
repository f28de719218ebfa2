"""Bayesian calibration by ABC-SMC (pyabc): a weighted posterior of the free parameters instead of one best point.

The problem is the calibration's own (:class:`crisis_sim.analysis.calibration.Problem`): the same targets and free
parameters, the same replications 0..R-1 from the same root seed for every particle (common random numbers), the
same target statistics. Here

* the **prior** of each parameter is uniform over its declared range (``low``/``high`` of the params file;
  log-uniform with ``log = true``; an integer parameter uniform over its whole numbers, rounded);
* the **model** of a particle simulates the fitting targets' scenarios with the particle's values and returns
  each fitting target's simulated mean;
* the **distance** is the calibration loss (:func:`calibration.loss_from_means`: weighted mean of squared
  standardised distances, 0 inside a published range);
* the **thresholds** are pyabc's median epsilon (generation 0 accepts the prior sample; each later generation
  accepts particles closer than the weighted median distance of the one before).

pyabc keeps every generation in ``DIR/abc.db`` (SQLite, written when a generation completes): rerunning the same
command continues the run (``ABCSMC.load``) up to ``--generations`` in total. ``DIR/abc_run.json`` records what
the run is (a fingerprint of the problem and the population size, the crisis_sim version that began it); a folder
whose run was made for another problem, or without that record, is refused. abc.db is this command's own output,
never a user's input file; pyabc 0.13 stores parameters and statistics as numbers (``numpy.save`` with
``allow_pickle=False``), and nothing is unpickled from it here.

After the run: ``posterior.parquet`` (the final population: one row per particle, one column per parameter, a
``weight`` column), the fit at the posterior mean, posterior predictive checks (K particles drawn by weight, each
run on R CRN replications for every fit, validation and consistency target: the share of simulated replications
inside the published range), plots, ``calibrated.toml`` at the posterior mean and ``posterior_summary.json``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.analysis import calibration as cal
from crisis_sim.provenance import describe as describe_version
from crisis_sim.provenance import provenance, version_change
from crisis_sim.scenario import ScenarioError
from crisis_sim.scenario.loader import resolve_scenario_path
from crisis_sim.serialize import jsonable

DB = "abc.db"
RUN = "abc_run.json"
MIN_POPULATION = 10
PARQUET_META = b"crisis_sim.posterior"


# --- prior, model, distance ----------------------------------------------------------------------------------
def prior_bounds(p: cal.FreeParam) -> tuple[float, float]:
    """The interval the prior spans (integers: each whole number gets the same width, rounded afterwards)."""
    if p.integer:
        return math.ceil(p.low) - 0.5, math.floor(p.high) + 0.5
    return p.low, p.high


def prior(params: Sequence[cal.FreeParam]) -> Any:
    """pyabc prior: uniform over each declared range (log-uniform with ``log = true``), independent."""
    import pyabc

    rvs = {}
    for p in params:
        low, high = prior_bounds(p)
        rvs[p.path] = pyabc.RV("loguniform", low, high) if p.log else pyabc.RV("uniform", low, high - low)
    return pyabc.Distribution(**rvs)


def as_values(params: Sequence[cal.FreeParam], particle: Mapping[str, Any]) -> dict[str, float]:
    """Parameter values as the model uses them (integers rounded, clipped to the declared range)."""
    out = {}
    for p in params:
        v = float(particle[p.path])
        out[p.path] = float(min(max(round(v), math.ceil(p.low)), math.floor(p.high))) if p.integer else v
    return out


class Model:
    """One particle: the fitting targets' simulated means on replications 0..R-1 (CRN). Module level and
    picklable, for pyabc's multicore and Dask samplers; runs its replications in the worker's own process."""

    def __init__(self, problem: cal.Problem):
        self.problem = problem
        self.fit = [t.name for t in problem.targets if t.role == "fit"]

    def __call__(self, particle: Mapping[str, Any]) -> dict[str, float]:
        values = as_values(self.problem.params, particle)
        try:
            measured = self.problem.evaluate(values, "fit", cal.Runner("processes", 1))
        except ScenarioError:  # e.g. a balancing share pushed below 0: an impossible particle
            return {name: math.nan for name in self.fit}
        return {m.target.name: float(m.mean) for m in measured}


class Distance:
    """The calibration loss of a particle's simulated means (the observed figures live in the targets)."""

    def __init__(self, targets: Sequence[cal.Target]):
        self.targets = [t for t in targets if t.role == "fit"]

    def __call__(self, x: Mapping[str, Any], x0: Mapping[str, Any] | None = None) -> float:
        return cal.loss_from_means(self.targets, x)


def observed(problem: cal.Problem) -> dict[str, float]:
    """What pyabc records as the observed data: each fitting target's published value."""
    return {t.name: float(t.value) for t in problem.targets if t.role == "fit"}


# --- the run -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AbcSettings:
    population: int
    generations: int
    ppc_draws: int = 20
    executor: str = "processes"
    workers: int = 1
    scheduler: str | None = None


def identity(problem: cal.Problem, population: int) -> dict[str, Any]:
    return {"method": "abc-smc", "problem": problem.identity(), "population": int(population),
            "distance": "calibration loss", "epsilon": "median"}  # fmt: skip


def fingerprint(problem: cal.Problem, population: int) -> str:
    blob = json.dumps(identity(problem, population), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def check_folder(problem: cal.Problem, population: int, out: Path, allow_version_change: bool = False) -> dict:
    """The run record of ``out`` if it holds a run of this problem (``{}`` for a new run); a one-line
    :class:`CalibrationError` for a folder made for another problem, a database without its record, or a run
    begun by another crisis_sim version (unless ``allow_version_change``). Writes nothing."""
    db, run = out / DB, out / RUN
    if not run.exists():
        if db.exists():
            raise cal.CalibrationError(f"{db}: expected the ABC run record {RUN} beside it, found none (abc.db is "
                                       "read only in a folder this command wrote; use another --out)")  # fmt: skip
        return {}
    try:
        record = json.loads(run.read_text())
    except (OSError, ValueError):
        raise cal.CalibrationError(f"{run}: expected the JSON run record this command writes, found unreadable "
                                   "content (use another --out)") from None  # fmt: skip
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(problem, population):
        raise cal.CalibrationError(f"{out}: expected an ABC run of the same scenario, targets, params, "
                                   "replications, seed, days and --population, found one made with different "
                                   "settings (use another --out)")  # fmt: skip
    why = version_change(record.get("provenance"))
    if why is not None and not allow_version_change:
        raise cal.CalibrationError(f"{db}: ABC run {why}; give --allow-version-change to add generations of "
                                   "this version anyway, or use another --out")  # fmt: skip
    return record


def _sampler(settings: AbcSettings, client: Any) -> Any:
    import pyabc

    if client is not None:
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, client_max_jobs=max(1, settings.workers))
    if settings.workers > 1:
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=settings.workers)
    return pyabc.sampler.SingleCoreSampler()


def history(out: Path, run_id: int = 1) -> Any:
    import pyabc

    return pyabc.History(f"sqlite:///{(out / DB).resolve()}", _id=run_id)


def generations_done(out: Path, run_id: int = 1) -> int:
    if not (out / DB).exists():
        return 0
    return int(history(out, run_id).max_t) + 1


def run_abc(
    problem: cal.Problem,
    settings: AbcSettings,
    out: Path,
    client: Any = None,
    on_generation: Callable[[int, float, int, float], None] | None = None,
    allow_version_change: bool = False,
) -> dict[str, Any]:
    """Run (or continue) ABC-SMC until ``settings.generations`` populations are stored in ``out/abc.db``.

    One pyabc call per generation, each one loading the run from the database as a resumed run does, so an
    interrupted run and an uninterrupted one follow the same path. With one worker (pyabc's single-core sampler)
    each generation's proposals are seeded from the root seed and the generation number: the whole run is
    reproducible; pyabc's multicore and Dask samplers reseed their workers, so their particles differ from run to
    run (every particle's simulations are still the CRN replications). ``client``: a dask.distributed Client
    (pyabc's DaskDistributedSampler); ``on_generation(t, epsilon, samples, seconds)`` after each generation.
    Returns the run record."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    record = check_folder(problem, settings.population, out, allow_version_change)
    out.mkdir(parents=True, exist_ok=True)
    if not record:
        record = {"fingerprint": fingerprint(problem, settings.population), "run_id": None,
                  "provenance": provenance(), "resumed_by": [],
                  "identity": json.loads(json.dumps(identity(problem, settings.population), default=str))}  # fmt: skip
        _write_json(out / RUN, record)
    elif provenance() != record.get("provenance") and provenance() not in record.get("resumed_by", []):
        record["resumed_by"] = [*record.get("resumed_by", []), provenance()]
        _write_json(out / RUN, record)
    url = f"sqlite:///{(out / DB).resolve()}"
    model, distance, x0 = Model(problem), Distance(problem.targets), observed(problem)
    sampler = _sampler(settings, client)
    done = generations_done(out, record["run_id"] or 1) if record["run_id"] else 0
    while done < settings.generations:
        eps = pyabc.MedianEpsilon(np.inf if done == 0 else "from_sample")
        abc = pyabc.ABCSMC(model, prior(problem.params), distance, population_size=settings.population,
                           sampler=sampler, eps=eps)  # fmt: skip
        abc.sampler.show_progress = False
        if record["run_id"] is None:
            h = abc.new(url, x0, meta_info={"crisis_sim": json.dumps(provenance())})
            record["run_id"] = int(h.id)
            _write_json(out / RUN, record)
        else:
            abc.load(url, record["run_id"], observed_sum_stat=x0)
        if settings.workers <= 1 and client is None:
            np.random.seed([int(problem.seed) % 2**32, done])
        h = abc.run(max_nr_populations=1)
        done = int(h.max_t) + 1
        if on_generation:
            pops = h.get_all_populations()
            row = pops[pops["t"] == h.max_t].iloc[0]
            on_generation(int(h.max_t), float(row["epsilon"]), int(row["samples"]), float(row["wall_time"]))
    return record


# --- the posterior -------------------------------------------------------------------------------------------
def posterior_frame(problem: cal.Problem, out: Path, run_id: int, t: int | None = None) -> pd.DataFrame:
    """Population ``t`` (default the last): one row per particle, one column per parameter (as the model used
    it), ``weight`` (summing to 1)."""
    h = history(out, run_id)
    df, w = h.get_distribution(m=0, t=h.max_t if t is None else t)
    rows = [as_values(problem.params, rec) for rec in df.to_dict("records")]
    frame = pd.DataFrame(rows, columns=[p.path for p in problem.params])
    frame["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    return frame


def weighted_summary(frame: pd.DataFrame, params: Sequence[cal.FreeParam]) -> dict[str, dict[str, float]]:
    """Posterior mean, sd and 95% credible interval (weighted quantiles, pyabc.weighted_statistics)."""
    from pyabc.weighted_statistics import weighted_mean, weighted_quantile, weighted_std

    w = frame["weight"].to_numpy()
    out = {}
    for p in params:
        x = frame[p.path].to_numpy(dtype=float)
        out[p.path] = {
            "mean": float(weighted_mean(x, w)), "sd": float(weighted_std(x, w)),
            "low": float(weighted_quantile(x, w, alpha=0.025)), "high": float(weighted_quantile(x, w, alpha=0.975)),
            "prior_low": p.low, "prior_high": p.high, "prior": "log-uniform" if p.log else "uniform",
        }  # fmt: skip
    return out


def write_posterior(frame: pd.DataFrame, problem: cal.Problem, path: Path) -> None:
    """posterior.parquet, with the free parameters' definitions (their balancing shares) as JSON metadata so
    that the PSA can apply a draw as the calibration does (:func:`read_posterior`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {"params": [vars(p) for p in problem.params], "scenario": Path(problem.scenario).name,
            "provenance": provenance()}  # fmt: skip
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), PARQUET_META: json.dumps(meta).encode()})
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_posterior(path: str | Path) -> tuple[pd.DataFrame, list[cal.FreeParam]]:
    """A posterior.parquet written by :func:`write_posterior` (Parquet and JSON only; nothing is unpickled):
    the particles with their normalised weights and the free parameters. One-line CalibrationError otherwise."""
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise cal.CalibrationError(f"{p}: expected a posterior.parquet written by crisis-sim calibrate --method "
                                   "abc, found no such file")  # fmt: skip
    try:
        table = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise cal.CalibrationError(f"{p}: expected a Parquet file, found unreadable content "
                                   f"({type(exc).__name__})") from None  # fmt: skip
    raw = (table.schema.metadata or {}).get(PARQUET_META)
    try:
        meta = json.loads(raw) if raw else None
        params = [cal.FreeParam(**d) for d in meta["params"]] if isinstance(meta, dict) else None
    except (ValueError, TypeError, KeyError):
        params = None
    if not params:
        raise cal.CalibrationError(f"{p}: expected the free-parameter record of crisis-sim calibrate --method abc "
                                   "in the Parquet metadata, found none")  # fmt: skip
    frame = table.to_pandas()
    wanted = [q.path for q in params] + ["weight"]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise cal.CalibrationError(f"{p}: expected a column {missing[0]!r}, found columns "
                                   f"{', '.join(map(str, frame.columns))}")  # fmt: skip
    w = frame["weight"].to_numpy(dtype=float)
    if len(frame) == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise cal.CalibrationError(f"{p}: weight: expected finite weights >= 0 with a positive sum, found "
                                   f"{len(frame)} rows")  # fmt: skip
    frame = frame[wanted].copy()
    frame["weight"] = w / w.sum()
    return frame, params


def resample(frame: pd.DataFrame, n: int, seed: int | Sequence[int]) -> pd.DataFrame:
    """``n`` particles drawn with replacement in proportion to their weights (numpy Generator: deterministic
    from ``seed``), in draw order."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(frame), size=int(n), replace=True, p=frame["weight"].to_numpy(dtype=float))
    return frame.iloc[idx].reset_index(drop=True)


# --- posterior predictive checks -----------------------------------------------------------------------------
@dataclass
class PPC:
    rows: list[dict[str, Any]]
    values: dict[str, list[float]]  # target → simulated values over draws x replications
    draws: pd.DataFrame


def ppc(problem: cal.Problem, frame: pd.DataFrame, k: int, runner: cal.Runner, roles: Sequence[str]) -> PPC:
    """K particles drawn by weight (seeded by the root seed), each run on the R CRN replications for every target
    of ``roles``; per target the share of simulated replications inside the published range (value ± 2 sd
    without a range)."""
    draws = resample(frame, k, [int(problem.seed) % 2**32, 1])
    value_sets = [{p.path: float(row[p.path]) for p in problem.params} for _, row in draws.iterrows()]
    targets = [t for t in problem.targets if t.role in roles]
    values: dict[str, list[float]] = {t.name: [] for t in targets}
    # one batch for all roles: a scenario that several roles use is simulated once per particle and replication
    for measured in problem.evaluate_many(value_sets, roles[0] if len(roles) == 1 else None, runner):
        for m in measured:
            if m.target.name in values:
                values[m.target.name].extend(float(v) for v in m.values)
    rows = []
    for t in targets:
        xs = np.array([v for v in values[t.name] if math.isfinite(v)], dtype=float)
        lo, hi = t.tolerance
        rows.append({
            "target": t.name, "role": t.role, "statistic": cal.describe(t),
            "observed": f"{t.low:g}-{t.high:g}" if t.low is not None else f"{t.value:g} ± {t.sd:g}",
            "tolerance_low": lo, "tolerance_high": hi,
            "coverage": float(np.mean((xs >= lo) & (xs <= hi))) if len(xs) else math.nan,
            "sim_median": float(np.median(xs)) if len(xs) else math.nan,
            "sim_low": float(np.quantile(xs, 0.025)) if len(xs) else math.nan,
            "sim_high": float(np.quantile(xs, 0.975)) if len(xs) else math.nan,
            "n": int(len(xs)), "source": t.source,
        })  # fmt: skip
    return PPC(rows, values, draws)


def ppc_md(result: PPC, k: int, replications: int) -> str:
    lines = [f"Posterior predictive checks: {k} particles drawn by weight x {replications} CRN replications; "
             "coverage = share of simulated replications inside the published range (value ± 2 sd without one).",
             "", "| target | role | statistic | observed | coverage | simulated median | 95% of replications | source |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in result.rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in (
            r["target"], r["role"], r["statistic"], r["observed"], cal.fmt(r["coverage"]), cal.fmt(r["sim_median"]),
            f"{cal.fmt(r['sim_low'])} – {cal.fmt(r['sim_high'])}", r["source"])) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


# --- plots ---------------------------------------------------------------------------------------------------
def plot_prior_posterior(frame: pd.DataFrame, first: pd.DataFrame, params: Sequence[cal.FreeParam],
                         path: Path) -> None:  # fmt: skip
    """One panel per parameter: the prior density (flat over the range; log-uniform drawn on a log axis), the
    first population (the prior sample) and the final weighted posterior as histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(params)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), dpi=100, squeeze=False)
    for ax, p in zip(axes.flat, params, strict=False):
        lo, hi = prior_bounds(p)
        bins = np.geomspace(lo, hi, 21) if p.log else np.linspace(lo, hi, 21)
        ax.hist(first[p.path], bins=bins, weights=first["weight"], density=True, color="#bbbbbb",
                label="generation 0 (prior sample)")  # fmt: skip
        ax.hist(frame[p.path], bins=bins, weights=frame["weight"], density=True, alpha=0.75, color="#4c72b0",
                label="posterior")  # fmt: skip
        if p.log:
            from matplotlib.ticker import LogLocator, NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 3.0)))
            ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
            ax.xaxis.set_minor_formatter(NullFormatter())
            xs = np.geomspace(lo, hi, 50)
            ax.plot(xs, 1.0 / (xs * math.log(hi / lo)), color="#c44e52", lw=1.2, label="prior")
        else:
            ax.plot([lo, hi], [1.0 / (hi - lo)] * 2, color="#c44e52", lw=1.2, label="prior")
        ax.set_xlabel(p.path.split(".", 1)[-1], fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6, loc="upper right")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_ppc(problem: cal.Problem, result: PPC, path: Path) -> None:
    """One panel per target: simulated replications (histogram) against the published range (shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows_ = result.rows
    n = len(rows_)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), dpi=100, squeeze=False)
    for ax, r in zip(axes.flat, rows_, strict=False):
        xs = [v for v in result.values[r["target"]] if math.isfinite(v)]
        ax.axvspan(r["tolerance_low"], r["tolerance_high"], color="#55a868", alpha=0.25, label="published")
        if xs:
            ax.hist(xs, bins=15, color="#4c72b0")
        ax.set_title(f"{r['target']} ({r['role']}): {cal.fmt(r['coverage'])} inside", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- outputs -------------------------------------------------------------------------------------------------
def write_outputs(problem: cal.Problem, settings: AbcSettings, out: Path, record: Mapping[str, Any],
                  runner: cal.Runner, plots: bool = True, validate: bool = True) -> dict[str, Any]:  # fmt: skip
    """posterior.parquet, populations.csv, fit at the posterior mean (fit.md/csv), posterior predictive checks
    (ppc.md/csv, plots/ppc.png), plots/prior_posterior.png, calibrated.toml (posterior mean),
    posterior_summary.json and provenance.json. Returns the summary document."""
    from pyabc.weighted_statistics import effective_sample_size

    run_id = int(record["run_id"])
    frame = posterior_frame(problem, out, run_id)
    h = history(out, run_id)
    pops = h.get_all_populations()
    pops = pops[pops["t"] >= 0].copy()
    pops["acceptance_rate"] = pops["particles"] / pops["samples"]
    summary = weighted_summary(frame, problem.params)
    mean_values = as_values(problem.params, {k: v["mean"] for k, v in summary.items()})
    base = problem.base(problem.scenario)
    overrides = cal.overrides_for(problem.params, mean_values, base)
    fit = problem.evaluate(mean_values, "fit", runner)
    roles = ["fit", *(("validation", "consistency") if validate else ())]
    check = ppc(problem, frame, settings.ppc_draws, runner, roles)
    (out / "plots").mkdir(exist_ok=True)
    write_posterior(frame, problem, out / "posterior.parquet")
    pops.to_csv(out / "populations.csv", index=False)
    cal.write_table(fit, out / "fit.csv", out / "fit.md", "Fit targets at the posterior mean (ABC-SMC)")
    pd.DataFrame(check.rows).to_csv(out / "ppc.csv", index=False)
    (out / "ppc.md").write_text(f"# {ppc_md(check, settings.ppc_draws, problem.replications)}\nSimulated by "
                                f"{describe_version()}.\n")  # fmt: skip
    outside = [m.target.name for m in fit if not m.within]
    today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
    last = pops.iloc[-1]
    doc = {
        "method": "abc-smc (pyabc)",
        "scenario": problem.scenario,
        "generations": int(len(pops)),
        "population": settings.population,
        "final_epsilon": float(last["epsilon"]),
        "simulated_particles": int(pops["samples"].sum()),
        "effective_sample_size": float(effective_sample_size(frame["weight"].to_numpy())),
        "replications": problem.replications,
        "seed": problem.seed,
        "days": problem.days,
        "date": today,
        "params": summary,
        "posterior_mean_overrides": overrides,
        "fit_at_posterior_mean": {m.target.name: {"mean": m.mean, "ci_low": m.ci_low, "ci_high": m.ci_high,
                                                  "within_tolerance": m.within, "z": m.z} for m in fit},  # fmt: skip
        "fit_within_tolerance": f"{sum(m.within for m in fit)}/{len(fit)}",
        "fit_outside_at_posterior_mean": outside,
        "loss_at_posterior_mean": cal.loss_of(fit),
        "ppc": {"draws": settings.ppc_draws, "replications": problem.replications,
                "targets": {r["target"]: {k: r[k] for k in ("role", "coverage", "sim_median", "sim_low", "sim_high",
                                                            "tolerance_low", "tolerance_high", "n")}
                            for r in check.rows}},  # fmt: skip
        "populations": [{"t": int(r.t), "epsilon": float(r.epsilon), "samples": int(r.samples),
                         "acceptance_rate": float(r.acceptance_rate)} for r in pops.itertuples()],  # fmt: skip
        "provenance": {"written_by": provenance(), "run_begun_by": record.get("provenance"),
                       "run_resumed_by": record.get("resumed_by", [])},  # fmt: skip
    }
    doc = jsonable(doc)  # numpy scalars as numbers, non-finite numbers (generation 0's threshold) as null
    _write_json(out / "posterior_summary.json", doc)
    rel = os.path.relpath(resolve_scenario_path(problem.scenario).resolve(), out.resolve())
    header = [f"Calibrated {Path(problem.scenario).name}: ABC-SMC posterior mean, {len(pops)} generations x "
              f"{settings.population} particles, final epsilon {float(last['epsilon']):.4g}",
              f"{problem.replications} replications (CRN seeds 0..{problem.replications - 1}, root seed "
              f"{problem.seed}), days {problem.days or 'as in the scenario'}; see posterior_summary.json",
              f"Simulated by {describe_version()}"]  # fmt: skip
    (out / "calibrated.toml").write_text(cal.calibrated_toml(
        rel, overrides, f"abc-smc posterior mean, {today}", header,
        cal.completing_tables(problem.scenario, overrides, base)))  # fmt: skip
    _write_json(out / "provenance.json", doc["provenance"])
    if plots:
        first = posterior_frame(problem, out, run_id, t=0)
        plot_prior_posterior(frame, first, problem.params, out / "plots" / "prior_posterior.png")
        plot_ppc(problem, check, out / "plots" / "ppc.png")
    return doc


def _f(x: Any) -> str:
    return "–" if x is None else cal.fmt(x)


def format_summary(doc: Mapping[str, Any]) -> str:
    """The text the CLI prints: posterior per parameter, fit at the posterior mean, PPC coverage."""
    lines = [f"ABC-SMC: {doc['generations']} generations x {doc['population']} particles, "
             f"{doc['simulated_particles']} particles simulated x {doc['replications']} replications; final "
             f"epsilon {_f(doc['final_epsilon'])}", "",
             f"effective sample size of the final population {doc['effective_sample_size']:.1f} of "
             f"{doc['population']}" + (" (the weights rest on few particles: the spread below is not reliable; use "
                                       "a larger --population)" if doc["effective_sample_size"] < doc["population"] / 4
                                       else ""), "",
             "| parameter | posterior mean | sd | 95% credible interval | prior |", "|---|---|---|---|---|"]  # fmt: skip
    for path, s in doc["params"].items():
        lines.append(f"| {path} | {_f(s['mean'])} | {_f(s['sd'])} | {_f(s['low'])} – "
                     f"{_f(s['high'])} | {s['prior']} {_f(s['prior_low'])}–{_f(s['prior_high'])} |")  # fmt: skip
    lines += ["", f"Fit targets at the posterior mean: {doc['fit_within_tolerance']} within tolerance "
              f"(loss {_f(doc['loss_at_posterior_mean'])})"]  # fmt: skip
    for name, f in doc["fit_at_posterior_mean"].items():
        lines.append(f"  {name}: {_f(f['mean'])} ({'inside' if f['within_tolerance'] else 'OUTSIDE'})")
    if doc["fit_outside_at_posterior_mean"]:
        lines.append(f"  outside the published range at the posterior mean: {', '.join(doc['fit_outside_at_posterior_mean'])}"
                     " (targets the model cannot meet together, or a run not yet converged: compare the final "
                     "epsilon and the predictive coverage)")  # fmt: skip
    lines += ["", f"Posterior predictive coverage ({doc['ppc']['draws']} draws x {doc['ppc']['replications']} "
              "replications; share of simulated replications inside the published range):"]  # fmt: skip
    for name, r in doc["ppc"]["targets"].items():
        lines.append(f"  {name} ({r['role']}): {_f(r['coverage'])}")
    return "\n".join(lines)
