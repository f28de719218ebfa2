"""Global sensitivity analysis with SALib: which uncertain inputs drive which outputs (docs/sensitivity.md).

The pipeline has four steps, each a plain function, so the evaluation step can be swapped (the simulation
engine in production, an analytic test function such as Ishigami in the tests):

1. :func:`make_design` — SALib samples the inputs (``morris``, ``sobol`` — never the deprecated ``saltelli`` —,
   ``fast_sampler`` or ``latin`` for ``delta``) in *sampler order*: row ``i`` of ``design.X`` is sample row ``i``.
2. an *evaluator* — ``evaluator(design, cases) -> DataFrame`` with one line per run and the columns ``case``
   (index into ``cases``, one per categorical combination), ``row`` (sample row index), then one column per
   metric; lines may come in any order and several per row (replications).
   :class:`EngineEvaluator` runs every (case, row) as a scenario variant through the experiment engine
   (common random numbers, resumable Parquet store, process pool or Dask); :class:`FunctionEvaluator` wraps
   ``f(X) -> Y``.
3. :func:`collect_outputs` — replications are averaged per (case, row) and the means are put back in sampler
   order by the explicit row index (``reindex``), never by arrival order; a missing row is an error.
4. :func:`analyse` — the SALib analyser of the method on each metric, giving a tidy table
   ``case, input, metric, index, value, conf, ci_low, ci_high`` (``conf`` is SALib's half-width at 95%), plus
   :func:`convergence_warnings`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.analysis.sensitivity_inputs import InputsSpec

METHODS = ("morris", "sobol", "fast", "delta")
MORRIS_LEVELS = 4
FAST_M = 4
# Below these N the indices are rarely stable (warned, not refused): Morris trajectories, Sobol base samples
# (rows = N * (D + 2)), FAST samples per input (SALib needs N > 4 M^2 = 64), delta samples.
MIN_N = {"morris": 10, "sobol": 256, "fast": 257, "delta": 500}
CONF_LIMIT = 0.1  # warn when a variance-based index (in [0, 1]) has a 95% half-width above this
MORRIS_CONF_SHARE = 0.25  # warn when mu_star_conf exceeds this share of the metric's largest mu_star
NOISE_LIMIT = 0.2  # warn when replication noise is this share of the variance of the row means
TOTAL_INDEX = {"sobol": "ST", "fast": "ST", "morris": "mu_star", "delta": "delta"}


class SensitivityError(ValueError):
    """A request SALib cannot honour (N not a power of two, too small for FAST, groups with FAST/delta)."""


# --- 1. the design -------------------------------------------------------------------------------------------
@dataclass
class Design:
    method: str
    n: int
    seed: int
    inputs: InputsSpec
    problem: dict[str, Any]
    X: np.ndarray  # sampler order, values on the inputs' own scales (before integer rounding)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def overrides(self, row: int) -> dict[str, Any]:
        """The scenario overrides of one sample row (integer fields rounded)."""
        return {inp.path: inp.to_value(x) for inp, x in zip(self.inputs.inputs, self.X[row], strict=True)}

    def frame(self) -> pd.DataFrame:
        """The sample as written into scenarios: one line per row, in sampler order."""
        df = pd.DataFrame([self.overrides(i) for i in range(self.n_rows)])
        df.columns = self.inputs.names
        df.insert(0, "row", np.arange(self.n_rows))
        return df


def salib_problem(inputs: InputsSpec, groups: bool = False) -> dict[str, Any]:
    """SALib problem spec: names, bounds and ``dists`` (unif, logunif, triang, truncnorm); with ``groups`` the
    inputs' groups (an ungrouped input is a group of its own)."""
    dists, bounds = zip(*(i.salib_dist() for i in inputs.inputs), strict=True)
    problem: dict[str, Any] = {
        "num_vars": len(inputs.inputs),
        "names": inputs.names,
        "bounds": [list(map(float, b)) for b in bounds],
        "dists": list(dists),
    }
    if groups:
        problem["groups"] = inputs.groups or inputs.names
    return problem


def rows_for(method: str, n: int, d: int, groups: int | None = None) -> int:
    """How many sample rows a method draws for N (before replications and categories)."""
    g = groups or d
    return {"morris": n * (g + 1), "sobol": n * (g + 2), "fast": n * d, "delta": n}[method]


def make_design(inputs: InputsSpec, method: str, n: int, seed: int = 0, groups: bool = False) -> Design:
    """Sample the inputs with SALib's sampler for ``method``; the rows stay in sampler order. ``groups``: analyse
    the inputs' groups instead of each input (Sobol and Morris only)."""
    if method not in METHODS:
        raise SensitivityError(f"expected a method among {', '.join(METHODS)}, found {method!r}")
    if n < 1:
        raise SensitivityError(f"expected N >= 1, found {n}")
    if groups and inputs.groups is None:
        raise SensitivityError(f"{inputs.file}: expected inputs with a group key for --groups, found none")
    if groups and method in ("fast", "delta"):
        raise SensitivityError(f"expected --method sobol or morris with --groups (SALib's {method} does not "
                               f"analyse groups), found {method}")  # fmt: skip
    problem = salib_problem(inputs, groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.sample import morris as sampler

            X = sampler.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
        elif method == "sobol":
            from SALib.sample import sobol as sampler

            if n & (n - 1):
                raise SensitivityError(f"expected N a power of 2 for the Sobol sequence (e.g. "
                                       f"{1 << max(0, n.bit_length() - 1)} or {1 << n.bit_length()}), found {n}")  # fmt: skip
            X = sampler.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
        elif method == "fast":
            from SALib.sample import fast_sampler as sampler

            if n <= 4 * FAST_M**2:
                raise SensitivityError(
                    f"expected N > {4 * FAST_M**2} for FAST (N > 4 M^2, M = {FAST_M}), found {n}"
                )
            X = sampler.sample(problem, n, M=FAST_M, seed=seed)
        else:
            from SALib.sample import latin as sampler

            X = sampler.sample(problem, n, seed=seed)
    return Design(method, n, seed, inputs, problem, np.asarray(X, dtype=float))


# --- 2. evaluators -------------------------------------------------------------------------------------------
Cases = Sequence[tuple[str, dict[str, Any]]]
Evaluator = Callable[[Design, Cases], pd.DataFrame]


@dataclass
class FunctionEvaluator:
    """``f(X) -> Y`` (one metric) or ``-> {metric: Y}`` on the design matrix; ``shuffle`` returns the lines in
    a random order (to test that results are joined by row index)."""

    func: Callable[[np.ndarray], Any]
    metric: str = "y"
    shuffle: int | None = None

    def __call__(self, design: Design, cases: Cases) -> pd.DataFrame:
        frames = []
        for c, (_label, _over) in enumerate(cases):
            out = self.func(design.X)
            cols = out if isinstance(out, dict) else {self.metric: out}
            df = pd.DataFrame(
                {"case": c, "row": np.arange(design.n_rows), **{k: np.asarray(v) for k, v in cols.items()}}
            )
            frames.append(df)
        df = pd.concat(frames, ignore_index=True)
        if self.shuffle is not None:
            df = df.sample(frac=1.0, random_state=self.shuffle).reset_index(drop=True)
        return df


@dataclass
class EngineEvaluator:
    """Every (case, row) is a variant of ``scenario_file`` run ``replications`` times through the experiment
    engine (:func:`crisis_sim.experiments.run_batch`) into the results store ``out``."""

    scenario_file: str
    replications: int
    seed: int = 0
    days: int | None = None
    out: str | Path | None = None
    executor: str = "processes"
    workers: int = 1
    scheduler: str | None = None
    chunk_size: int | None = None
    progress: bool = False
    common: dict[str, Any] = field(default_factory=dict)
    metrics: Sequence[str] = ()
    report: dict[str, Any] = field(default_factory=dict)
    allow_version_change: bool = False  # resume a store made by another crisis_sim version

    @staticmethod
    def label(case: int, row: int) -> str:
        return f"c{case:02d}-r{row:06d}"

    def requests(self, design: Design, cases: Cases) -> tuple[list[Any], dict[str, tuple[int, int]]]:
        from crisis_sim.experiments import ScenarioRequest

        requests, where = [], {}
        for c, (_label, over) in enumerate(cases):
            for i in range(design.n_rows):
                lab = self.label(c, i)
                requests.append(ScenarioRequest(self.scenario_file, lab, {**over, **design.overrides(i)}))
                where[lab] = (c, i)
        return requests, where

    def build_spec(self, design: Design, cases: Cases) -> tuple[Any, dict[str, tuple[int, int]]]:
        """The experiment spec; sample rows the schema rejects are reported as one short error."""
        from crisis_sim.experiments import build_spec
        from crisis_sim.scenario import ScenarioError

        requests, where = self.requests(design, cases)
        try:
            spec = build_spec(requests, self.replications, self.seed, self.days, self.common)
        except ScenarioError as exc:
            first = exc.lines[0]
            raise ScenarioError([f"{first} (in {len(exc.lines)} problem(s) over the {len(requests)} sampled "
                                 "scenarios: narrow the input ranges so every combination is valid)"]) from None  # fmt: skip
        return spec, where

    def __call__(self, design: Design, cases: Cases) -> pd.DataFrame:
        import shutil
        import tempfile

        from crisis_sim.experiments import ResultStore, run_batch
        from crisis_sim.experiments.compare import with_extra_metrics

        spec, where = self.build_spec(design, cases)
        tmp = None if self.out else tempfile.mkdtemp(prefix="crisis-sim-sensitivity-")
        root = Path(self.out or tmp)
        try:
            with ResultStore(root, spec, allow_version_change=self.allow_version_change) as store:
                batch = run_batch(store, self.executor, self.workers, self.scheduler, self.chunk_size,
                                  progress=self.progress)  # fmt: skip
                runs = store.read_runs()
            self.report.update(runs=batch.total, ran=batch.ran, already_done=batch.already_done)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        runs, unknown = with_extra_metrics(runs, list(self.metrics))
        if unknown:
            raise SensitivityError(f"expected metric names of the run summary, found {unknown[0]!r}")
        # The join: the label each run was stored under names its (case, row); scenario_index must agree.
        keys = [where[lab] for lab in runs["scenario"]]
        case = np.array([k[0] for k in keys], dtype=int)
        row = np.array([k[1] for k in keys], dtype=int)
        if not np.array_equal(case * design.n_rows + row, runs["scenario_index"].to_numpy()):
            raise SensitivityError(
                "expected stored runs whose label and scenario index agree, found a mismatch"
            )
        out = pd.DataFrame({"case": case, "row": row, "replication": runs["replication"].to_numpy()})
        for m in self.metrics:
            out[m] = runs[m].to_numpy(dtype=float)
        return out


# --- 3. outputs in sampler order -----------------------------------------------------------------------------
def collect_outputs(
    runs: pd.DataFrame, n_cases: int, n_rows: int, metrics: Sequence[str]
) -> tuple[dict[tuple[int, str], np.ndarray], dict[tuple[int, str], float]]:
    """Mean over replications per (case, row), reindexed to rows 0..n-1 (sampler order); also the share of the
    variance of the means that is replication noise (NaN with one replication or without a replication column)."""
    ys, noise = {}, {}
    for c in range(n_cases):
        sub = runs[runs["case"] == c]
        for m in metrics:
            grouped = sub.groupby("row")[m]
            present = grouped.size().reindex(range(n_rows), fill_value=0)
            if (present == 0).any():
                missing = int((present == 0).sum())
                raise SensitivityError(
                    f"expected runs for every sample row, found {missing} of {n_rows} rows without any (an "
                    "incomplete store or results that cannot be joined to the sample)"
                )
            # NaN where the metric is undefined in every replication of a row (e.g. a wait with nobody waiting):
            # such a metric is reported, not analysed (see run_sensitivity).
            y = grouped.mean().reindex(range(n_rows)).to_numpy(dtype=float)
            ys[(c, m)] = y
            noise[(c, m)] = _noise_share(sub, m, n_rows, y)
    return ys, noise


def _noise_share(sub: pd.DataFrame, metric: str, n_rows: int, y: np.ndarray) -> float:
    """Share of the variance of the row means that is replication noise, under common random numbers.

    With CRN, replication k of every row sees the same crises: a replication's common level (b_r in
    y_ir = mu + a_i + b_r + e_ir) shifts every row alike and cannot change an index. What blurs the rows'
    differences is the row x replication interaction e_ir; its variance / R, over the variance of the row means."""
    if "replication" not in sub.columns or n_rows < 2:
        return math.nan
    grid = sub.pivot_table(index="row", columns="replication", values=metric, aggfunc="mean")
    grid = grid.reindex(range(n_rows))
    r = grid.shape[1]
    total = float(np.var(y, ddof=1))
    if r < 2 or grid.isna().any().any() or total <= 0:
        return math.nan
    g = grid.to_numpy(dtype=float)
    resid = g - g.mean(axis=1, keepdims=True) - g.mean(axis=0, keepdims=True) + g.mean()
    var_e = float((resid**2).sum() / ((n_rows - 1) * (r - 1)))
    return var_e / r / total


# --- 4. analysis ---------------------------------------------------------------------------------------------
def analyse(
    design: Design, y: np.ndarray, metric: str, case: str = "", seed: int | None = None
) -> pd.DataFrame:
    """SALib's analyser for the design's method on one metric; a tidy frame (one line per input and index)."""
    problem = design.problem
    names = list(dict.fromkeys(problem["groups"])) if "groups" in problem else list(problem["names"])
    seed = design.seed if seed is None else seed
    rows: list[tuple[str, str, float, float]] = []
    if np.isnan(y).any():  # undefined in some rows: SALib's estimators cannot take NaN
        rows = [(name, index, math.nan, math.nan) for name in names for index in _index_names(design.method)]
        return _tidy(rows, design, metric, case)
    if float(np.ptp(y)) == 0.0:  # a constant output: no input matters; variance-based indices are undefined
        for name in names:
            for index in _index_names(design.method):
                value = 0.0 if design.method == "morris" else math.nan
                rows.append((name, index, value, 0.0 if index == "mu_star" else math.nan))
        return _tidy(rows, design, metric, case)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if design.method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(problem, design.X, y, num_levels=MORRIS_LEVELS, seed=seed)
            for k, name in enumerate(names):
                rows += [(name, "mu_star", res["mu_star"][k], res["mu_star_conf"][k]),
                         (name, "mu", res["mu"][k], math.nan), (name, "sigma", res["sigma"][k], math.nan)]  # fmt: skip
        elif design.method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
            for k, name in enumerate(names):
                rows += [
                    (name, "S1", res["S1"][k], res["S1_conf"][k]),
                    (name, "ST", res["ST"][k], res["ST_conf"][k]),
                ]
        elif design.method == "fast":
            from SALib.analyze import fast

            res = fast.analyze(problem, y, M=FAST_M, seed=seed)
            for k, name in enumerate(names):
                rows += [
                    (name, "S1", res["S1"][k], res["S1_conf"][k]),
                    (name, "ST", res["ST"][k], res["ST_conf"][k]),
                ]
        else:
            from SALib.analyze import delta

            # SALib refuses input names ending in _raw/_step/...: analyse under neutral names, report ours.
            neutral = {**problem, "names": [f"x{k}" for k in range(problem["num_vars"])]}
            # Its S1 estimate draws from NumPy's global generator: seed it here, restore it after.
            state = np.random.get_state()
            np.random.seed(seed)
            try:
                res = delta.analyze(neutral, design.X, y, seed=seed)
            finally:
                np.random.set_state(state)
            for k, name in enumerate(names):
                rows += [(name, "delta", res["delta_raw"][k], res["delta_raw_conf"][k]),
                         (name, "S1", res["S1"][k], res["S1_conf"][k])]  # fmt: skip
    return _tidy(rows, design, metric, case)


def n_rows_hint(table: pd.DataFrame) -> str:
    return str(table.attrs.get("n_rows", "the"))


def _index_names(method: str) -> tuple[str, ...]:
    return {"morris": ("mu_star", "mu", "sigma"), "sobol": ("S1", "ST"), "fast": ("S1", "ST"),
            "delta": ("delta", "S1")}[method]  # fmt: skip


TABLE_COLUMNS = ["case", "input", "metric", "index", "value", "conf", "ci_low", "ci_high", "method", "n"]


def _tidy(rows: list[tuple[str, str, float, float]], design: Design, metric: str, case: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["input", "index", "value", "conf"]).astype(
        {"value": float, "conf": float}
    )
    df.insert(0, "case", case)
    df.insert(2, "metric", metric)
    df["ci_low"] = df["value"] - df["conf"]
    df["ci_high"] = df["value"] + df["conf"]
    df["method"] = design.method
    df["n"] = design.n
    return df[TABLE_COLUMNS]


def convergence_warnings(
    table: pd.DataFrame,
    method: str,
    n: int,
    noise: dict[tuple[str, str], float] | None = None,
    undefined: dict[tuple[str, str], int] | None = None,
) -> list[str]:
    """One line per reason to distrust the indices: N below the method's minimum, wide CIs, noisy outputs,
    metrics undefined in some sample rows (``undefined``: (case, metric) → rows without a value)."""
    out = []
    undefined = undefined or {}
    if n < MIN_N[method]:
        out.append(f"N={n} is below {MIN_N[method]}, the smallest N that usually gives stable {method} indices; "
                   "treat the ranking as provisional")  # fmt: skip
    for (case, metric), sub in table.groupby(["case", "metric"], sort=False):
        where = f"{metric}" + (f" [{case}]" if case else "")
        if undefined.get((case, metric)):
            out.append(f"{where}: undefined in {undefined[(case, metric)]} of {n_rows_hint(table)} sample rows (no "
                       "run of those rows had a value); not analysed, indices are NaN")  # fmt: skip
            continue
        if sub["value"].isna().all() or (sub["value"] == 0).all():
            what = "all effects are 0" if method == "morris" else "variance-based indices are undefined (NaN)"
            out.append(f"{where}: the output did not vary over the sample; {what}")
            continue
        if method == "morris":
            mu = sub[sub["index"] == "mu_star"]
            top = float(mu["value"].max())
            worst = mu.loc[mu["conf"].idxmax()] if mu["conf"].notna().any() else None
            if worst is not None and top > 0 and worst["conf"] > MORRIS_CONF_SHARE * top:
                out.append(f"{where}: mu_star of {worst['input']} has a 95% CI half-width {worst['conf']:.3g}, "
                           f"{worst['conf'] / top:.0%} of the largest mu_star; more trajectories (--n) would "
                           "steady the ranking")  # fmt: skip
        else:
            conf = sub["conf"]
            if conf.notna().any() and float(conf.max()) > CONF_LIMIT:
                worst = sub.loc[conf.idxmax()]
                factor = math.ceil((float(conf.max()) / CONF_LIMIT) ** 2)
                out.append(f"{where}: {worst['index']} of {worst['input']} has a 95% CI half-width "
                           f"{worst['conf']:.2f} (> {CONF_LIMIT}); about {factor}x more samples (--n) would bring "
                           f"it under {CONF_LIMIT}")  # fmt: skip
    for (case, metric), share in (noise or {}).items():
        if math.isfinite(share) and share > NOISE_LIMIT:
            where = f"{metric}" + (f" [{case}]" if case else "")
            out.append(f"{where}: replication noise (row x replication interaction / R) is {share:.0%} of the variance "
                       "between sample rows; indices "
                       "partly measure simulation noise (more --replications or longer --days)")  # fmt: skip
    return out


# --- the whole pipeline --------------------------------------------------------------------------------------
@dataclass
class SensitivityResult:
    design: Design
    cases: list[tuple[str, dict[str, Any]]]
    table: pd.DataFrame
    outputs: dict[tuple[str, str], np.ndarray]
    noise: dict[tuple[str, str], float]
    warnings: list[str]

    def top_inputs(self, k: int = 3) -> dict[tuple[str, str], list[tuple[str, float]]]:
        """The k inputs with the largest total-order index per (case, metric)."""
        index = TOTAL_INDEX[self.design.method]
        sub = self.table[self.table["index"] == index]
        out = {}
        for (case, metric), g in sub.groupby(["case", "metric"], sort=False):
            g = g.sort_values("value", ascending=False, na_position="last").head(k)
            out[(case, metric)] = list(zip(g["input"], g["value"].astype(float), strict=True))
        return out


def run_sensitivity(
    inputs: InputsSpec,
    method: str,
    n: int,
    evaluator: Evaluator,
    seed: int = 0,
    groups: bool = False,
    design: Design | None = None,
) -> SensitivityResult:
    """Sample (unless ``design`` is given), evaluate (per categorical case), collect in sampler order, analyse,
    check convergence."""
    design = design or make_design(inputs, method, n, seed, groups)
    cases = inputs.categories()
    runs = evaluator(design, cases)
    ys, noise = collect_outputs(runs, len(cases), design.n_rows, inputs.metrics)
    frames, outputs, noise_by_label, undefined = [], {}, {}, {}
    for c, (label, _over) in enumerate(cases):
        for m in inputs.metrics:
            frames.append(analyse(design, ys[(c, m)], m, label, seed))
            outputs[(label, m)] = ys[(c, m)]
            noise_by_label[(label, m)] = noise[(c, m)]
            undefined[(label, m)] = int(np.isnan(ys[(c, m)]).sum())
    table = pd.concat(frames, ignore_index=True)
    table.attrs["n_rows"] = design.n_rows
    warns = convergence_warnings(table, design.method, design.n, noise_by_label, undefined)
    return SensitivityResult(design, list(cases), table, outputs, noise_by_label, warns)


# --- plots and files -----------------------------------------------------------------------------------------
def _safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "all"


def plot_result(result: SensitivityResult, out_dir: str | Path) -> list[Path]:
    """``<metric>[__<case>].png``: indices with 95% CI error bars; ``heatmap[__<case>].png``: total-order
    indices, inputs x metrics (Morris: mu_star divided by the metric's largest mu_star)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    method = result.design.method
    shown = {
        "morris": ("mu_star", "sigma"),
        "sobol": ("S1", "ST"),
        "fast": ("S1", "ST"),
        "delta": ("delta", "S1"),
    }[method]
    colors = ("#4c72b0", "#dd8452")
    paths = []
    table = result.table
    for (case, metric), sub in table.groupby(["case", "metric"], sort=False):
        names = list(dict.fromkeys(sub["input"]))
        fig, ax = plt.subplots(figsize=(max(4.5, 0.7 * len(names) + 2.5), 3.8), dpi=100)
        width = 0.38
        for j, idx in enumerate(shown):
            part = sub[sub["index"] == idx].set_index("input").reindex(names)
            vals = part["value"].to_numpy(dtype=float)
            conf = np.nan_to_num(part["conf"].to_numpy(dtype=float), nan=0.0)
            x = np.arange(len(names)) + (j - 0.5) * width
            ax.bar(x, np.nan_to_num(vals), width, yerr=conf, capsize=3, label=idx, color=colors[j])
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("index" if method != "morris" else f"effect on {metric}")
        title = f"{metric}: {method} (N={result.design.n})" + (f" [{case}]" if case else "")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.axhline(0, color="black", lw=0.5)
        fig.tight_layout()
        path = out / f"{_safe(metric)}{'__' + _safe(case) if case else ''}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    index = TOTAL_INDEX[method]
    for case, sub in table[table["index"] == index].groupby("case", sort=False):
        grid = sub.pivot(index="input", columns="metric", values="value")
        grid = grid.reindex(
            index=list(dict.fromkeys(sub["input"])), columns=list(dict.fromkeys(sub["metric"]))
        )
        if method == "morris":
            grid = grid / grid.max(axis=0).replace(0.0, np.nan)
        fig, ax = plt.subplots(
            figsize=(max(4.5, 1.1 * grid.shape[1] + 3), max(3.0, 0.4 * grid.shape[0] + 1.5)), dpi=100
        )
        im = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(grid.shape[1]))
        ax.set_xticklabels(grid.columns, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(grid.shape[0]))
        ax.set_yticklabels(grid.index, fontsize=8)
        for (r, c), v in np.ndenumerate(grid.to_numpy(dtype=float)):
            if math.isfinite(v):
                ax.text(
                    c,
                    r,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < 0.6 else "black",
                )
        label = {"morris": "mu_star / max per metric", "delta": "delta"}.get(method, "ST (total order)")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_title(f"{label}: {method} (N={result.design.n})" + (f" [{case}]" if case else ""), fontsize=10)
        fig.tight_layout()
        path = out / f"heatmap{'__' + _safe(case) if case else ''}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def result_document(result: SensitivityResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-able summary: method, N, rows, problem, warnings, provenance (crisis_sim version and git commit),
    the tidy table (records)."""
    from crisis_sim.provenance import provenance

    d = result.design
    return {
        "method": d.method,
        "n": d.n,
        "sample_rows": d.n_rows,
        "seed": d.seed,
        "inputs": [
            {
                "name": i.name,
                "path": i.path,
                "distribution": i.distribution,
                "params": dict(i.params),
                "type": i.kind.__name__,
                "group": i.group,
                "source": i.source,
            }
            for i in d.inputs.inputs
        ],  # fmt: skip
        "fixed": dict(d.inputs.fixed),
        "cases": [{"label": lab, "overrides": over} for lab, over in result.cases],
        "metrics": list(d.inputs.metrics),
        "problem": d.problem,
        "warnings": list(result.warnings),
        "replication_noise_share": {
            f"{metric}[{case}]" if case else metric: share for (case, metric), share in result.noise.items()
        },
        **(extra or {}),
        "provenance": provenance(),
        "table": result.table.to_dict(orient="records"),
    }


def write_outputs(result: SensitivityResult, out_dir: str | Path, plots: bool = True,
                  extra: dict[str, Any] | None = None) -> list[str]:  # fmt: skip
    """sensitivity.csv / .parquet (tidy table), sensitivity.json, sample.csv (rows in sampler order with the
    mean outputs), plots/*.png; each file written to a temporary name and moved into place."""
    from crisis_sim.serialize import dumps

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sample = result.design.frame()
    for (case, metric), y in result.outputs.items():
        sample[f"{metric}{'[' + case + ']' if case else ''}"] = y
    writers: dict[str, Callable[[Path], None]] = {
        "sensitivity.csv": lambda p: result.table.to_csv(p, index=False),
        "sensitivity.parquet": lambda p: result.table.to_parquet(p, index=False),
        "sample.csv": lambda p: sample.to_csv(p, index=False),
        "sensitivity.json": lambda p: p.write_text(dumps(result_document(result, extra)) + "\n"),
    }
    written = []
    for name, write in writers.items():
        tmp = out / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, out / name)
        written.append(name)
    if plots:
        written += [f"plots/{p.name}" for p in plot_result(result, out / "plots")]
    return written


def format_table(result: SensitivityResult, k: int | None = None) -> str:
    """A readable summary: per metric, inputs ranked by the total-order index, with 95% CIs."""
    d = result.design
    main = TOTAL_INDEX[d.method]
    other = {"morris": "sigma", "sobol": "S1", "fast": "S1", "delta": "S1"}[d.method]
    lines = [f"{d.method}, N={d.n}, {d.n_rows} sample rows x {len(result.cases)} case(s); ranked by {main} "
             f"(95% CI half-width in brackets)"]  # fmt: skip
    t = result.table
    for (case, metric), sub in t.groupby(["case", "metric"], sort=False):
        lines.append("")
        lines.append(f"{metric}" + (f" [{case}]" if case else ""))
        piv = sub.pivot(index="input", columns="index", values=["value", "conf"])
        order = piv[("value", main)].sort_values(ascending=False, na_position="last").index
        width = max(len(str(x)) for x in order)
        if k:
            order = order[:k]
        for name in order:
            v, c = piv.loc[name, ("value", main)], piv.loc[name, ("conf", main)]
            o, oc = piv.loc[name, ("value", other)], piv.loc[name, ("conf", other)]
            lines.append(f"  {str(name).ljust(width)}  {main} {_f(v)} ({_f(c)})   {other} {_f(o)}"
                         + (f" ({_f(oc)})" if math.isfinite(oc) else ""))  # fmt: skip
    return "\n".join(lines)


def _f(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
