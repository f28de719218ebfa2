"""The public API for notebooks and scripts: ``import crisis_sim as cs`` (see docs/api.md).

Every function takes plain values: a scenario is a file path (``str`` or :class:`pathlib.Path`), the name of a
built-in scenario (``"small_district"``), a variant string ``"FILE::NAME:PATH=VALUE,..."`` (as on the command
line) or a :class:`~crisis_sim.scenario.schema.Scenario` object; a results store is a folder path. The functions
are thin layers over the machinery the command line uses (experiment spec → results store → ``run_batch`` →
paired comparison), so ``cs.compare`` gives the same figures as ``crisis-sim compare``.

This module imports only from the stable modules ``crisis_sim.scenario``, ``crisis_sim.sim``,
``crisis_sim.experiments``, ``crisis_sim.analysis``, ``crisis_sim.report`` and ``crisis_sim.outcomes``, and
imports them inside the functions, so ``import crisis_sim`` stays cheap.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from crisis_sim.analysis.sensitivity import SensitivityResult
    from crisis_sim.experiments.spec import ExperimentSpec, ScenarioRequest
    from crisis_sim.scenario.schema import Scenario
    from crisis_sim.sim import RunResult

    # A scenario file path, a built-in scenario name, a variant string ``FILE::NAME:PATH=VALUE`` or a Scenario.
    ScenarioLike = str | os.PathLike[str] | Scenario

TABLE_COLUMNS = (
    "scenario", "metric", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "significant", "n",
)  # fmt: skip


# --- scenarios -------------------------------------------------------------------------------------------------
def _is_scenario(value: Any) -> bool:
    from crisis_sim.scenario.schema import Scenario

    return isinstance(value, Scenario)


def _as_scenario(scenario: ScenarioLike, days: int | None = None) -> Scenario:
    """A Scenario from a path, a built-in name or a Scenario; ``days`` shortens the horizon as ``--days`` does."""
    from crisis_sim.scenario.loader import load_scenario, shorten_horizon

    if _is_scenario(scenario):
        label = getattr(scenario, "name", "<scenario>")
        loaded = scenario
    elif isinstance(scenario, str | os.PathLike):
        label = str(scenario)
        loaded = load_scenario(scenario)
    else:
        raise TypeError(
            f"scenario: expected a file path, a built-in scenario name or a Scenario, found {type(scenario).__name__}"
        )
    return shorten_horizon(loaded, days, label=label)


# --- one run ---------------------------------------------------------------------------------------------------
def run(scenario: ScenarioLike, replication: int = 0, seed: int = 0, days: int | None = None) -> RunResult:
    """Run one replication of a scenario.

    Args:
        scenario: a scenario file, a built-in scenario name (``"small_district"``) or a Scenario.
        replication: the replication index; replication ``k`` of every scenario sees the same crises.
        seed: the root seed of the random streams.
        days: simulate this many days instead of the scenario's horizon (warm-up shrinks to fit).

    Returns:
        The :class:`~crisis_sim.sim.RunResult`: ``ledger`` (one row per call), ``timeseries`` (one row per
        month), ``referrals`` and ``summary`` (the outcome figures). The same arguments give the same ledger,
        bit for bit.

    Example:
        >>> result = cs.run("small_district", days=30)
        >>> result.summary["arrests"], len(result.ledger)
    """
    from crisis_sim.sim import run_single

    return run_single(_as_scenario(scenario, days), int(replication), int(seed))


def pre_post(scenario: ScenarioLike, result: RunResult) -> dict[str, Any] | None:
    """Monthly means before and after the first ``launch_program`` or ``add_post`` event of the scenario.

    Args:
        scenario: the scenario that was run (file, built-in name or Scenario), to find the event and the warm-up.
        result: its :class:`~crisis_sim.sim.RunResult` (``timeseries`` and ``ledger`` are read).

    Returns:
        None without such an event; else ``event``, ``event_month``, ``months_before``, ``months_after`` (full
        months after the warm-up; the event's month left out), ``metrics`` (per monthly column: ``label``,
        ``before``, ``after``, ``change``) and ``note`` (a pre/post difference is not the program's effect: the
        paired comparison with the same scenario without the event is).

    Example:
        >>> sc = cs.load_scenario("outreach_launch")
        >>> view = cs.pre_post(sc, cs.run(sc))
        >>> view["metrics"]["arrests"]
    """
    from crisis_sim.outcomes.pre_post import pre_post as view

    return view(result.timeseries, result.ledger, _as_scenario(scenario))


def counted(
    ledger: pd.DataFrame, scenario: ScenarioLike | None = None, days: int | None = None
) -> pd.DataFrame:
    """The ledger without its warm-up rows: the calls the outcome figures count.

    Args:
        ledger: a run's ledger (``cs.run(...).ledger``).
        scenario: the scenario the ledger came from; when given, calls received before its warm-up ends are
            dropped (by ``t_received``), otherwise the ledger's ``in_warmup`` column decides.
        days: the ``days`` the run was given, if any (a shorter run has a shorter warm-up).

    Returns:
        The counted rows, in the ledger's order, with the ledger's index.

    Example:
        >>> result = cs.run("small_district", days=60)
        >>> len(cs.counted(result.ledger)) <= len(result.ledger)
        True
    """
    if scenario is not None:
        warm_min = _as_scenario(scenario, days).simulation.warmup_days * 24 * 60
        return ledger[ledger["t_received"] >= warm_min]
    if "in_warmup" not in ledger:
        raise ValueError("counted: expected a ledger with an in_warmup column, or the scenario it came from")
    return ledger[~ledger["in_warmup"].astype(bool)]


# --- experiments -----------------------------------------------------------------------------------------------
def _request(item: Any, label: str | None) -> ScenarioRequest:
    from crisis_sim.experiments.spec import ScenarioRequest, parse_scenario_arg

    if isinstance(item, ScenarioRequest):
        return ScenarioRequest(item.file, label or item.name, item.overrides)
    if isinstance(item, os.PathLike):
        return ScenarioRequest(os.fspath(item), label)
    request = parse_scenario_arg(item)
    return ScenarioRequest(request.file, label or request.name, request.overrides)


def build_experiment(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    replications: int,
    seed: int = 0,
    days: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ExperimentSpec:
    """The experiment spec of a comparison (what ``crisis-sim compare`` builds from its arguments).

    Args:
        scenarios: scenario files, built-in names, variant strings ``FILE::NAME:PATH=VALUE,...`` or Scenario
            objects; or a mapping ``{label: scenario}`` to name them. Labels default to the scenarios' names
            (repeated labels get ``#2``, ``#3``).
        replications: replications per scenario (at least 1).
        seed: root seed.
        days: simulate this many days instead of each scenario's horizon.
        overrides: ``{dotted.path: value}`` applied to every scenario (``--set``).

    Returns:
        An :class:`~crisis_sim.experiments.spec.ExperimentSpec`; every scenario is loaded and validated, and all
        problems of all scenarios are raised together as one ScenarioError.

    Example:
        >>> spec = cs.build_experiment({"police": "small_district", "mcr": "mobile_crisis"}, 5, days=60)
        >>> spec.labels
        ['police', 'mcr']
    """
    from crisis_sim.experiments.spec import (
        ExperimentSpec,
        ScenarioEntry,
        ScenarioRequest,
        build_spec,
        unique_labels,
    )
    from crisis_sim.scenario.loader import with_overrides

    if isinstance(scenarios, str | os.PathLike) or _is_scenario(scenarios):
        raise TypeError("scenarios: expected a list of scenarios (or a {label: scenario} mapping), found one")
    items = list(scenarios.items()) if isinstance(scenarios, Mapping) else [(None, s) for s in scenarios]
    if not items:
        raise ValueError("scenarios: expected at least one scenario, found none")
    for _label, item in items:
        if not (isinstance(item, str | os.PathLike | ScenarioRequest) or _is_scenario(item)):
            raise TypeError(f"scenarios: expected file paths, built-in names or Scenario objects, found "
                            f"{type(item).__name__}")  # fmt: skip
    common = dict(overrides or {})
    requests = [_request(item, label) for label, item in items if not _is_scenario(item)]
    # Files and variants load exactly as on the command line; this also checks the replications.
    from_files = iter(
        zip(requests, build_spec(requests, replications, seed, days, common).scenarios, strict=True)
    )
    raw_labels, entries = [], []
    for label, item in items:
        if _is_scenario(item):
            scenario = with_overrides(item, common, label=label or item.name) if common else item
            entries.append(ScenarioEntry(label or item.name, f"<Scenario {item.name}>", common,
                                         _as_scenario(scenario, days)))  # fmt: skip
            raw_labels.append(label or item.name)
        else:
            request, entry = next(from_files)
            entries.append(entry)
            raw_labels.append(request.name or entry.scenario.name)
    labels = unique_labels(raw_labels)
    entries = [
        ScenarioEntry(lab, e.file, e.overrides, e.scenario) for lab, e in zip(labels, entries, strict=True)
    ]
    return ExperimentSpec(tuple(entries), int(replications), int(seed), days)


def _store_path(store: str | os.PathLike[str] | None) -> Path | None:
    if store is None:
        return None
    if not isinstance(store, str | os.PathLike):
        raise TypeError(f"store: expected a folder path (str or Path), found {type(store).__name__}")
    return Path(store)


def _execute(
    spec: ExperimentSpec, store: str | os.PathLike[str] | None, workers: int, executor: str, progress: bool
) -> Any:
    """Run what is missing of ``spec`` into ``store`` (a temporary store when None): the engine of
    ``crisis-sim compare``, ``report`` and the dashboard (:func:`crisis_sim.report.run.run_experiment`)."""
    from crisis_sim.experiments.store import StoreError
    from crisis_sim.report.run import run_experiment

    root = _store_path(store)
    try:
        return run_experiment(spec, root, executor, int(workers), progress=progress)
    except StoreError as exc:  # raised when the store is opened, before anything runs
        raise StoreError(str(exc).replace("choose another --out", "choose another store folder")) from None


def _metrics(metrics: Sequence[str] | str | None, default: Sequence[str]) -> list[str]:
    if metrics is None:
        return list(default)
    if isinstance(metrics, str):
        metrics = [metrics]
    return list(dict.fromkeys(metrics))


def _comparison(runs: pd.DataFrame, spec: ExperimentSpec, metrics: list[str]) -> dict[str, Any]:
    from crisis_sim.experiments.compare import compare_runs, numeric_extras, with_extra_metrics

    runs, unknown = with_extra_metrics(runs, metrics)
    if unknown:
        known = ", ".join([*spec.metrics, *numeric_extras(runs)])
        raise ValueError(f"metrics: expected names among {known}; found {unknown[0]!r}")
    return compare_runs(runs, spec.labels, metrics)


def _tidy(result: dict[str, Any], spec: ExperimentSpec, store: str | os.PathLike[str] | None) -> pd.DataFrame:
    rows = [
        {"scenario": label, "metric": metric, **result["metrics"][metric][label]}
        for label in result["scenarios"]
        for metric in result["metrics"]
    ]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["significant"] = table["significant"].astype(bool)
    table["n"] = table["n"].astype(int)
    table.attrs.update(scenarios=list(spec.labels), replications=spec.replications, seed=spec.root_seed,
                       days=spec.days, store=None if store is None else str(store))  # fmt: skip
    return table


def _result_of(table: pd.DataFrame) -> dict[str, Any]:
    """The comparison dict of :func:`crisis_sim.experiments.compare_runs` back from a tidy table."""
    labels = list(table.attrs.get("scenarios") or dict.fromkeys(table["scenario"]))
    metrics: dict[str, dict[str, Any]] = {}
    fields = [c for c in TABLE_COLUMNS if c not in ("scenario", "metric")]
    for row in table.to_dict(orient="records"):
        metrics.setdefault(row["metric"], {})[row["scenario"]] = {k: row[k] for k in fields}
    return {"scenarios": labels, "metrics": metrics}


def compare(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    replications: int = 10,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    metrics: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Compare scenarios over paired replications (common random numbers), as ``crisis-sim compare`` does.

    Args:
        scenarios: scenario files, built-in names, variant strings or Scenario objects, or ``{label: scenario}``
            (see :func:`build_experiment`). The first is the baseline of the differences.
        replications: replications per scenario; replication ``k`` of every scenario sees the same crises.
        seed: root seed.
        days: simulate this many days instead of each scenario's horizon.
        store: a results-store folder (created if missing, resumed if it holds this experiment; a folder holding
            anything else fails at once with StoreError). None: a temporary store deleted afterwards.
        workers: worker processes.
        executor: ``"processes"`` (local pool) or ``"dask"``.
        metrics: metrics to compare (default: the key metrics); program figures of the run summary
            (e.g. ``"program_cost"`` entries) are accepted too.
        overrides: ``{dotted.path: value}`` applied to every scenario.
        progress: show a progress bar on stderr.

    Returns:
        A tidy DataFrame, one row per (scenario label, metric): ``scenario, metric, mean, ci_low, ci_high, diff,
        diff_ci_low, diff_ci_high, significant, n``. ``diff`` is the mean paired difference against the first
        scenario with its 95% interval; ``significant`` when that interval excludes 0. ``table.attrs`` holds
        ``scenarios`` (the labels in order), ``replications``, ``seed``, ``days`` and ``store``.

    Example:
        >>> table = cs.compare(["small_district", "mobile_crisis"], replications=4, days=60)
        >>> table.pivot(index="metric", columns="scenario", values="mean")
    """
    from crisis_sim.outcomes import KEY_METRICS

    spec = build_experiment(scenarios, replications, seed, days, overrides)
    wanted = _metrics(metrics, KEY_METRICS)
    outcome = _execute(spec, store, workers, executor, progress)
    return _tidy(_comparison(outcome.runs, spec, wanted), spec, store)


def psa(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    draws: int = 20,
    replications: int = 2,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    metrics: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    evidence: str | os.PathLike[str] | None = None,
    evidence_options: Sequence[str] = (),
    evppi_metrics: Sequence[str] = ("arrests",),
    progress: bool = False,
    posterior: str | os.PathLike[str] | None = None,
    discount: float = 0.03,
) -> dict[str, pd.DataFrame]:
    """Probabilistic sensitivity analysis across strategies, as ``crisis-sim compare ... --psa N`` does.

    Draws ``draws`` joint parameter sets from the evidence file, applies each identically to every strategy
    (paths of programs a strategy does not run are skipped), runs ``replications`` paired replications per draw
    (plus each strategy at its point values, for the run-to-run-noise interval) through the results store.

    Args:
        scenarios: as :func:`compare`; the first is the comparator.
        draws: joint parameter draws (a Latin hypercube through each input's inverse CDF).
        replications, seed, days, store, workers, executor, overrides, progress: as :func:`compare`.
        metrics: metrics to summarise (default: the key metrics).
        evidence: an evidence file (default: the packaged ``evidence/default.toml``, docs/uncertainty.md).
        evidence_options: structural alternatives of that file to use (e.g. ``["cit_compton2014"]``).
        evppi_metrics: decision metrics for EVPI/EVPPI.
        posterior: a ``posterior.parquet`` of :func:`calibrate_abc`: its particles (resampled by weight,
            deterministic from ``seed``) replace the calibrated point of the calibrated parameters in every draw.
        discount: yearly discount rate (0 to 0.2; default 0.03) of the costs and outcomes that cost per
            outcome, the incremental analysis and the acceptability curves read; the first counted year is not
            discounted, so one-year horizons give the same numbers at any rate. ``ValueError`` outside 0-0.2.

    Returns:
        Tidy DataFrames: ``summary`` (metric, strategy, diff_median, diff_low, diff_high, prob_best, better),
        ``monte_carlo`` (as :func:`compare`, at the point values), ``cost_effectiveness`` (strategy, outcome,
        unit, median, low, high, ratio_of_means, effect_*, cost_*, discount: the rate used), ``incremental`` (outcome, strategy, cost,
        effect, status, icer), ``ceac`` (outcome, wtp, strategy, probability), ``evppi`` (metric, parameter,
        value, evpi), ``draws`` (one row per draw, one column per evidence entry) and ``runs`` (draw, strategy,
        replication, metrics).

    Example:
        >>> out = cs.psa(["small_district", "co_response"], draws=8, replications=2, days=60)
        >>> out["summary"].query("metric == 'arrests'")
    """
    from crisis_sim.analysis.evidence import load_evidence
    from crisis_sim.analysis.psa import build_psa_spec, psa_tables
    from crisis_sim.outcomes import KEY_METRICS

    base = build_experiment(scenarios, replications, seed, days, overrides)
    ev = load_evidence(evidence, list(evidence_options))
    from crisis_sim.analysis.uncertainty import check_discount

    rate = check_discount(discount)
    post = None
    if posterior is not None:
        from crisis_sim.analysis.abc_smc import read_posterior

        post = read_posterior(posterior)
    plan = build_psa_spec(base, ev, int(draws), post)
    wanted = _metrics(metrics, KEY_METRICS)
    outcome = _execute(plan.spec, store, workers, executor, progress)
    result = psa_tables(plan, outcome.runs, wanted, list(evppi_metrics), series=outcome.series, discount=rate)
    mc = _tidy(result.monte_carlo, base, None)
    evppi = pd.DataFrame(
        [{"metric": m, "parameter": k, "value": float(v), "evpi": result.evpi[m]}
         for m, values in result.evppi.items() for k, v in values.items()],
        columns=["metric", "parameter", "value", "evpi"],
    )  # fmt: skip
    incremental = pd.concat([t.assign(outcome=o) for o, t in result.incremental.items()], ignore_index=True) \
        if result.incremental else pd.DataFrame()  # fmt: skip
    curves = pd.concat([t.assign(outcome=o) for o, t in result.ceac.items()], ignore_index=True) \
        if result.ceac else pd.DataFrame()  # fmt: skip
    ce = result.cost_effectiveness.assign(discount=rate) if len(result.cost_effectiveness) else \
        result.cost_effectiveness  # fmt: skip
    return {"summary": result.summary, "monte_carlo": mc, "cost_effectiveness": ce,
            "incremental": incremental, "ceac": curves, "evppi": evppi, "draws": result.draws,
            "runs": result.runs}  # fmt: skip


def sweep(
    scenario: str | os.PathLike[str],
    params: Mapping[str, Sequence[Any]] | None = None,
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    lhs: int | None = None,
    replications: int = 10,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    metrics: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run a scenario over a grid or a Latin hypercube of parameter values, as ``crisis-sim sweep`` does.

    Args:
        scenario: the base scenario (a file or a built-in name); it runs first, labelled ``"base"``, and every
            point is compared with it over common random numbers.
        params: a grid, ``{dotted.path: [value, ...]}``: the cartesian product of the values.
        ranges: with ``lhs``, ``{dotted.path: (low, high)}``; integer bounds give integers.
        lhs: the number of Latin-hypercube points (seeded by ``seed``).
        replications, seed, days, store, workers, executor, metrics, overrides, progress: as in :func:`compare`.

    Returns:
        The tidy table of :func:`compare` keyed by point label (``"base"``, then e.g. ``"nurse_fte=2"`` or
        ``"lhs000"``), plus one column per swept path (named by the full dotted path) holding the point's value
        (missing for the base).
        ``table.attrs["params"]`` maps each label to its overrides.

    Example:
        >>> table = cs.sweep("outreach_echinops", {"programs.outreach.nurse_fte": [1, 2]}, replications=3, days=90)
        >>> table[table.metric == "arrests"][["scenario", "programs.outreach.nurse_fte", "diff"]]
    """
    from crisis_sim.experiments.spec import SpecError
    from crisis_sim.experiments.sweep import grid_points, lhs_points, sweep_requests
    from crisis_sim.outcomes import KEY_METRICS

    if not isinstance(scenario, str | os.PathLike):
        raise TypeError(f"scenario: expected a file path or a built-in name, found {type(scenario).__name__}")
    if lhs is not None:
        if params:
            raise SpecError("sweep: give either params (a grid) or lhs with ranges, not both")
        if not ranges:
            raise SpecError("sweep: lhs=N needs ranges={path: (low, high)}")
        for path, bounds in ranges.items():
            if len(bounds) != 2 or not bounds[0] < bounds[1]:
                raise SpecError(
                    f"sweep: expected ranges[{path!r}] = (low, high) with low < high, found {bounds!r}"
                )
        points = lhs_points([(p, lo, hi) for p, (lo, hi) in ranges.items()], int(lhs), int(seed))
    else:
        if ranges:
            raise SpecError("sweep: ranges need lhs=N (for a grid give params={path: [values]})")
        if not params:
            raise SpecError("sweep: give params={path: [values]} (a grid) or lhs=N with ranges")
        points = grid_points([(p, list(v)) for p, v in params.items()])
    requests = sweep_requests(os.fspath(scenario), points, lhs=lhs is not None)
    spec = build_experiment(requests, replications, seed, days, overrides)
    outcome = _execute(spec, store, workers, executor, progress)
    table = _tidy(_comparison(outcome.runs, spec, _metrics(metrics, KEY_METRICS)), spec, store)
    by_label = {r.name: dict(r.overrides) for r in requests}
    for path in points[0] if points else ():
        table[path] = [by_label[label].get(path) for label in table["scenario"]]
    table.attrs["params"] = by_label
    return table


# --- reading a store -------------------------------------------------------------------------------------------
def _existing_store(store: str | os.PathLike[str]) -> Path:
    from crisis_sim.experiments.store import StoreError

    root = _store_path(store)
    assert root is not None
    if not (root / "manifest.json").is_file():
        found = (
            "no such folder" if not root.exists() else ("a file" if root.is_file() else "no manifest.json")
        )
        raise StoreError(
            f"{root}: expected a crisis-sim results store (a folder with manifest.json), found {found}"
        )
    return root


def load_runs(store: str | os.PathLike[str]) -> pd.DataFrame:
    """The runs of a results store: one row per (scenario, replication).

    Args:
        store: the store folder given to :func:`compare`, :func:`sweep` or ``crisis-sim compare --out``.

    Returns:
        A DataFrame with ``scenario`` (the label), ``scenario_index``, ``replication``, ``root_seed``, one column
        per stored metric, ``extra`` (the rest of the summary as JSON) and timings; sorted by scenario index and
        replication.

    Example:
        >>> cs.compare(["small_district", "cit"], replications=3, days=30, store="out/cit")
        >>> cs.load_runs("out/cit").groupby("scenario")["arrests"].mean()
    """
    from crisis_sim.experiments.store import read_runs

    return read_runs(_existing_store(store))


def load_series(store: str | os.PathLike[str]) -> pd.DataFrame:
    """The monthly series of a results store in long format, keyed by scenario label.

    Args:
        store: a results store folder.

    Returns:
        A DataFrame with ``scenario`` (the label), ``scenario_index``, ``replication``, ``month``, ``day_end``,
        ``variable`` and ``value``.

    Example:
        >>> series = cs.load_series("out/cit")
        >>> series[series.variable == "arrests"].groupby(["scenario", "month"])["value"].mean()
    """
    from crisis_sim.experiments.store import read_series

    root = _existing_store(store)
    runs = load_runs(root)
    labels = dict(zip(runs["scenario_index"].astype(int), runs["scenario"], strict=False))
    series = read_series(root)
    series.insert(0, "scenario", [labels.get(int(s)) for s in series["scenario_index"]])
    return series


# --- figures and sentences -------------------------------------------------------------------------------------
def plot_differences(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> bytes:
    """The paired differences of a comparison against its first scenario, with 95% intervals, as a PNG.

    Args:
        table: the table returned by :func:`compare` or :func:`sweep`.
        metrics: the metrics to plot, one panel each (default: every metric of the table).

    Returns:
        PNG bytes (``IPython.display.Image(png)`` shows them; ``Path("f.png").write_bytes(png)`` saves them).

    Example:
        >>> Image(cs.plot_differences(table, ["arrests", "cost_total"]))
    """
    from crisis_sim.report.figures import outcomes_figure

    result = _result_of(table)
    return outcomes_figure(result, list(metrics) if metrics is not None else list(result["metrics"]))


def plot_series(
    series: pd.DataFrame,
    variables: Sequence[str] | None = None,
    events: Sequence[tuple[float, str]] = (),
    title: str = "",
) -> bytes:
    """Monthly series per scenario with 95% bands over replications, one panel per variable, as a PNG.

    Args:
        series: the table returned by :func:`load_series`.
        variables: the series to plot (default: the usual ones the runs recorded with non-zero values).
        events: ``(month, label)`` pairs drawn as dotted lines.
        title: a figure title.

    Returns:
        PNG bytes.

    Example:
        >>> Image(cs.plot_series(cs.load_series("out/cit"), ["arrests", "referrals"]))
    """
    from crisis_sim.report.figures import available_series, series_figure

    order = series.drop_duplicates("scenario_index").sort_values("scenario_index")
    labels = [str(label) for label in order["scenario"]]
    chosen = list(variables) if variables is not None else available_series(series)
    return series_figure(series, labels, chosen, title=title, events=list(events))


def describe_differences(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> list[str]:
    """The paired differences of a comparison in plain sentences, one per alternative scenario.

    Args:
        table: the table returned by :func:`compare` or :func:`sweep`.
        metrics: the metrics to mention (default: every metric of the table).

    Returns:
        One sentence per scenario after the first (the sentences of the HTML report's summary).

    Example:
        >>> for sentence in cs.describe_differences(table):
        ...     print(sentence)
    """
    from crisis_sim.report.narrative import difference_sentences

    result = _result_of(table)
    return difference_sentences(result, list(metrics) if metrics is not None else None)


# --- sensitivity, calibration, report --------------------------------------------------------------------------
def sensitivity(
    scenario: str | os.PathLike[str],
    inputs: str | os.PathLike[str],
    method: str = "morris",
    n: int = 10,
    replications: int = 1,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    metrics: Sequence[str] | None = None,
    groups: bool = False,
    progress: bool = False,
) -> SensitivityResult:
    """Global sensitivity analysis (SALib) of a scenario's uncertain inputs, as ``crisis-sim sensitivity``.

    Args:
        scenario: the base scenario (a file or a built-in name).
        inputs: the uncertain-inputs TOML file (e.g. ``sensitivity/outreach.toml``; see docs/sensitivity.md).
        method: ``"morris"``, ``"sobol"``, ``"fast"`` or ``"delta"``.
        n: Morris trajectories, Sobol base samples (a power of 2), FAST samples per input or delta samples.
        replications: replications per sample row (averaged, over common random numbers).
        seed: root seed of the runs and of the sampler.
        days: simulate this many days instead of the scenario's horizon.
        store: a results-store folder (resumable), or None for a temporary one.
        workers, executor, progress: as in :func:`compare`.
        metrics: output metrics (default: the inputs file's).
        groups: analyse the inputs' groups instead of each input (sobol and morris).

    Returns:
        A :class:`~crisis_sim.analysis.sensitivity.SensitivityResult`: ``table`` is the tidy table
        ``case, input, metric, index, value, conf, ci_low, ci_high``; ``warnings`` lists convergence concerns;
        ``top_inputs(k)`` ranks the inputs per metric.

    Example:
        >>> res = cs.sensitivity("outreach_echinops", "sensitivity/outreach.toml", n=4, days=60)
        >>> res.table[res.table["index"] == "mu_star"].sort_values("value", ascending=False).head()
    """
    import dataclasses

    from crisis_sim.analysis.sensitivity import EngineEvaluator, run_sensitivity
    from crisis_sim.analysis.sensitivity_inputs import check_against_scenario, load_inputs
    from crisis_sim.experiments.spec import apply_days
    from crisis_sim.experiments.store import StoreError
    from crisis_sim.scenario.loader import load_scenario, with_overrides

    spec = load_inputs(inputs)
    if metrics is not None:
        spec = dataclasses.replace(spec, metrics=tuple(_metrics(metrics, ())))
    common = dict(spec.fixed)
    base = apply_days(load_scenario(scenario, common), days, str(scenario))
    check_against_scenario(spec, base)
    for _label, over in spec.categories():
        check_against_scenario(spec, with_overrides(base, over, label=os.fspath(inputs)))
    root = _store_path(store)
    evaluator = EngineEvaluator(os.fspath(scenario), int(replications), int(seed), days, root, executor, int(workers),
                                None, None, progress=progress, common=common, metrics=spec.metrics)  # fmt: skip
    try:
        return run_sensitivity(spec, method, int(n), evaluator, int(seed), groups)
    except StoreError as exc:
        raise StoreError(str(exc).replace("choose another --out", "choose another store folder")) from None


def calibrate(
    scenario: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    params: str | os.PathLike[str],
    trials: int,
    out: str | os.PathLike[str] = "calibration-out",
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
    study: str | None = None,
    validation: bool = True,
    plots: bool = False,
) -> dict[str, Any]:
    """Fit free parameters to published targets with Optuna, as ``crisis-sim calibrate``.

    Args:
        scenario: the scenario file to calibrate.
        targets: the targets file (e.g. ``calibration/targets.toml``): ``[[fit]]``, ``[[validation]]`` and
            ``[[consistency]]`` targets.
        params: the free-parameters file (e.g. ``calibration/params.toml``).
        trials: the total of completed trials wanted in the study (rerunning continues the study in ``out``).
        out: the output folder: ``study.db``, ``best_params.json``, ``fit.md``/``.csv``, ``validation.md``/``.csv``,
            ``trials.csv``, ``calibrated.toml`` (and ``plots/`` with ``plots=True``).
        replications: replications per trial, the same seeds for every trial.
        seed: root seed.
        days: simulate this many days instead of the scenario's horizon.
        workers, executor: as in :func:`compare`.
        study: the study name (default ``calibrate-<scenario file stem>``).
        validation: also check the held-out ``[[validation]]`` and the ``[[consistency]]`` targets at the best
            values.
        plots: write ``plots/*.png``.

    Returns:
        The best-parameter document (as ``best_params.json``): ``params``, ``overrides``, ``loss``,
        ``loss_before``, ``trials_completed``, ``fit_within_tolerance``, ``validation_within_tolerance``, ...

    Example:
        >>> doc = cs.calibrate("scenarios/small_district.toml", "calibration/targets.toml",
        ...                    "calibration/params.toml", trials=20, out="out/calibration")
        >>> doc["overrides"]
    """
    from crisis_sim.analysis import calibration as cal

    problem, out_dir = _calibration_problem(scenario, targets, params, replications, seed, days), Path(out)
    if not any(t.role == "fit" for t in problem.targets):
        raise cal.CalibrationError(f"{targets}: expected at least one [[fit]] target, found none")
    runner = cal.Runner(executor, int(workers))
    try:
        found = cal.calibrate(problem, int(trials), out_dir, runner, study)
        return cal.write_outputs(problem, found, out_dir, runner, plots=plots, validate=validation)
    finally:
        runner.close()


def calibrate_abc(
    scenario: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    params: str | os.PathLike[str],
    population: int = 100,
    generations: int = 6,
    out: str | os.PathLike[str] = "calibration-out",
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
    ppc_draws: int = 20,
    validation: bool = True,
    plots: bool = False,
) -> dict[str, Any]:
    """Bayesian calibration by ABC-SMC (pyabc), as ``crisis-sim calibrate --method abc`` (docs/calibration.md).

    Priors uniform over each free parameter's range (log-uniform with ``log = true``); distance: the
    calibration loss of the ``[[fit]]`` targets; every particle on replications 0..R-1 from ``seed`` (common
    random numbers). The run lives in ``out/abc.db``: calling again with the same arguments continues it up to
    ``generations`` in total. With ``workers=1`` the run is reproducible from ``seed``.

    Args:
        scenario, targets, params: as in :func:`calibrate` (the params' ranges are the priors).
        population: particles per generation (at least 10).
        generations: total generations wanted in the run.
        out: the output folder: ``posterior.parquet`` (one row per particle of the final population, one column
            per parameter, ``weight``), ``posterior_summary.json``, ``populations.csv``, ``fit.md``/``.csv`` (at
            the posterior mean), ``ppc.md``/``.csv``, ``calibrated.toml`` (posterior mean), ``abc.db``,
            ``abc_run.json``, ``provenance.json`` (and ``plots/`` with ``plots=True``).
        replications, seed, days, workers, executor: as in :func:`calibrate` (``executor="dask"``: pyabc's
            DaskDistributedSampler on a local cluster of ``workers``).
        ppc_draws: posterior particles drawn by weight for the predictive checks.
        validation: also check the ``[[validation]]`` and ``[[consistency]]`` targets in the predictive checks.
        plots: write ``plots/prior_posterior.png`` and ``plots/ppc.png``.

    Returns:
        The summary document (as ``posterior_summary.json``): ``params.<path>.{mean, sd, low, high}``,
        ``fit_at_posterior_mean``, ``fit_outside_at_posterior_mean``, ``ppc.targets.<name>.coverage``,
        ``populations``, ``provenance``, ...

    Example:
        >>> doc = cs.calibrate_abc("small_district", "calibration/targets.toml", "calibration/params.toml",
        ...                        population=40, generations=4, replications=2, days=120, out="out/abc")
        >>> doc["params"]["dispositions.force_base"]
    """
    from crisis_sim.analysis import abc_smc
    from crisis_sim.analysis import calibration as cal

    if int(population) < abc_smc.MIN_POPULATION:
        raise ValueError(f"expected a population of at least {abc_smc.MIN_POPULATION}, found {population}")
    problem, out_dir = _calibration_problem(scenario, targets, params, replications, seed, days), Path(out)
    if not any(t.role == "fit" for t in problem.targets):
        raise cal.CalibrationError(f"{targets}: expected at least one [[fit]] target, found none")
    abc_smc.check_folder(problem, int(population), out_dir)
    settings = abc_smc.AbcSettings(int(population), int(generations), int(ppc_draws), executor, int(workers))
    pool = None
    if executor == "dask":
        from crisis_sim.experiments.executors import make_executor

        pool = make_executor("dask", int(workers))
    runner = cal.Runner(executor, int(workers))
    runner.pool = pool
    try:
        record = abc_smc.run_abc(problem, settings, out_dir, client=pool.client if pool else None)
        return abc_smc.write_outputs(problem, settings, out_dir, record, runner, plots=plots, validate=validation)
    finally:
        runner.close()


def _calibration_problem(
    scenario: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    params: str | os.PathLike[str] | None,
    replications: int,
    seed: int,
    days: int | None,
) -> Any:
    from crisis_sim.analysis import calibration as cal

    loaded_targets = cal.load_targets(targets)
    loaded_params = cal.load_params(params) if params is not None else []
    problem = cal.Problem(
        os.fspath(scenario), loaded_targets, loaded_params, int(replications), int(seed), days
    )
    problem.base(problem.scenario)  # ScenarioError now if the scenario is bad
    problem.check()
    return problem


def check_consistency(
    scenario: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    draws: int = 32,
    evidence: str | os.PathLike[str] | None = None,
    replications: int = 2,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Which targets only return an input, as ``crisis-sim calibrate --check-consistency`` (docs/calibration.md).

    Draws ``draws`` joint parameter sets from the evidence file, simulates every target's scenarios per draw on
    the same replications, and labels a target whose statistic has |Spearman rho| > 0.9 with one input as a
    consistency check (never held-out validation).

    Args:
        scenario, targets: as in :func:`validate_targets`.
        draws: joint draws of the evidence (at least 10).
        evidence: an evidence file (default: the packaged ``evidence/default.toml``).
        replications, seed, days, workers, executor: as in :func:`calibrate`.
        out: also write ``consistency_check.md``/``.csv``/``.json`` there.

    Returns:
        One row per target: ``target, role, statistic, classification, tracks, strongest_input, spearman,
        stat_low, stat_high, draws, inputs_checked``.

    Example:
        >>> cs.check_consistency("small_district", "calibration/targets.toml", draws=16, days=90)
    """
    from crisis_sim.analysis import calibration as cal
    from crisis_sim.analysis import consistency
    from crisis_sim.analysis.evidence import load_evidence

    if int(draws) < consistency.MIN_DRAWS:
        raise ValueError(f"expected at least {consistency.MIN_DRAWS} draws, found {draws}")
    problem = _calibration_problem(scenario, targets, None, replications, seed, days)
    ev = load_evidence(evidence)
    runner = cal.Runner(executor, int(workers))
    try:
        result = consistency.check_consistency(problem, ev, int(draws), runner, draw_seed=int(seed))
    finally:
        runner.close()
    if out is not None:
        consistency.write_outputs(result, Path(out), f"Consistency check of {os.fspath(targets)}")
    return pd.DataFrame([c.row(result.threshold) for c in result.checks])


def validate_targets(
    scenario: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
) -> pd.DataFrame:
    """Simulate a scenario as it is and measure every calibration target, as ``crisis-sim calibrate
    --validate-only``.

    Args:
        scenario: the scenario file.
        targets: the targets file (fit and validation targets are all measured).
        replications, seed, days, workers, executor: as in :func:`calibrate`.

    Returns:
        One row per target: ``target, role, statistic, simulated_mean, ci_low, ci_high, observed,
        tolerance_low, tolerance_high, within_tolerance, ci_overlaps_tolerance, z, replications, population,
        source``.

    Example:
        >>> cs.validate_targets("scenarios/small_district.toml", "calibration/targets.toml", replications=2)
    """
    from crisis_sim.analysis import calibration as cal

    problem = _calibration_problem(scenario, targets, None, replications, seed, days)
    runner = cal.Runner(executor, int(workers))
    try:
        measured = problem.evaluate(None, None, runner)
    finally:
        runner.close()
    return pd.DataFrame([m.row() for m in measured])


def make_report(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    out: str | os.PathLike[str] = "report.html",
    replications: int = 10,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
    discount: float = 0.03,
) -> Path:
    """Run scenarios and write the planner's self-contained HTML report, as ``crisis-sim report``.

    (Named ``make_report`` because ``crisis_sim.report`` is the subpackage that builds it.)

    Args:
        scenarios: as in :func:`compare`; the first is the baseline.
        out: the HTML file to write (``.html`` or ``.htm``); written atomically, only if everything succeeded.
        replications, seed, days, store, workers, executor, overrides, progress: as in :func:`compare`.
        discount: yearly discount rate (0 to 0.2; default 0.03) of the costs and outcomes of the extra cost
            per outcome averted (the first counted year is not discounted).

    Returns:
        The path of the written report (its numbers are written beside it as ``<name>.json``).

    Example:
        >>> cs.make_report(["small_district", "mobile_crisis"], "out/report.html", replications=4, days=90)
    """
    from crisis_sim.report.html import build_report_with_data, write_report
    from crisis_sim.serialize import dumps

    if not os.fspath(out).endswith((".html", ".htm")):
        raise ValueError(f"out: expected a file name ending in .html, found {os.fspath(out)!r}")
    from crisis_sim.analysis.uncertainty import check_discount

    rate = check_discount(discount)
    spec = build_experiment(scenarios, replications, seed, days, overrides)
    start = time.perf_counter()
    outcome = _execute(spec, store, workers, executor, progress)
    text, data = build_report_with_data(spec, outcome.runs, outcome.series, elapsed_s=time.perf_counter() - start,
                                        discount=rate)  # fmt: skip
    write_report(os.fspath(out).rsplit(".", 1)[0] + ".json", dumps(data))
    return write_report(out, text)


# --- the decision table and a city's own data ------------------------------------------------------------------
def decision_table(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    replications: int = 10,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
    weights: Mapping[str, float] | None = None,
    rank_by: str = "count",
) -> pd.DataFrame:
    """The report's decision table (docs/report.md) as a DataFrame, one row per option in the order given.
    ``weights``: ranking weight per key outcome (e.g. ``{"arrests": 3}``; others weigh 1; a bad name or weight
    raises ``ValueError``); ``rank_by``: ``"count"`` (clear changes counted, the default) or ``"size"`` (clear
    changes in percent of the first option's level).

    Columns: ``option`` (plain name), ``rank``, ``reason``, ``annual_cost``, ``annual_cost_diff`` (with ``_low``,
    ``_high``), ``fte_total``, ``coverage`` (share of eligible MH calls served by a specialised responder, None
    without programs), and for each key outcome ``<metric>`` (the option's level; per year for counts) and
    ``<metric>_diff``, ``<metric>_low``, ``<metric>_high`` (paired change against the first option with its 95%
    run-to-run interval). ``df.attrs["decision"]`` keeps the full data (FTE by role, cost per outcome averted,
    unserved calls by reason, warnings) as in ``report.json``.

    Example:
        >>> cs.decision_table(["small_district", "mobile_crisis"], replications=4, days=90)
    """
    from crisis_sim.report.decision import decision_data, parse_weights

    checked = parse_weights(weights, "weights") if weights else None
    if rank_by not in ("count", "size"):
        raise ValueError(f"rank_by: expected count or size, found {rank_by!r}")
    spec = build_experiment(scenarios, replications, seed, days, overrides)
    outcome = _execute(spec, store, workers, executor, progress)
    data = decision_data(spec, outcome.runs, outcome.series, weights=checked,
                         weights_source="weights=" if checked else "", rank_by=rank_by)  # fmt: skip
    rows = []
    for r in data["decision"]:
        row = {"option": r["option"], "rank": r["rank"], "reason": r["reason"],
               "annual_cost": r["annual_cost"]["mean"], "annual_cost_diff": r["annual_cost_diff"]["diff"],
               "annual_cost_diff_low": r["annual_cost_diff"]["low"], "annual_cost_diff_high": r["annual_cost_diff"]["high"],
               "fte_total": r["fte_total"], "coverage": r["coverage"]}  # fmt: skip
        for m, v in r["metrics"].items():
            row.update({m: v["mean"], f"{m}_diff": v["diff"], f"{m}_low": v["low"], f"{m}_high": v["high"]})
        rows.append(row)
    df = pd.DataFrame(rows)
    from crisis_sim.serialize import jsonable

    df.attrs["decision"] = jsonable(data)
    return df


def ingest_calls(
    calls: str | os.PathLike[str],
    population: int,
    mh_types: Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    time_format: str | None = None,
) -> dict[str, Any]:
    """Read a city's call records (CSV, docs/ingest.md) and return what ``crisis-sim ingest`` writes, as data:
    ``calls_per_1000_per_day``, ``mh_share``, ``mh_hourly_profile``, ``mh_weekday_profile``,
    ``other_hourly_profile``, ``other_weekday_profile``, ``district_shares``, ``dispositions`` (share and 95%
    Wilson interval of each MH disposition) and the span. ``columns`` maps ``timestamp``, ``call_type``,
    ``district``, ``disposition`` to the file's names. A bad file raises ``ValueError`` with one line naming the
    row and column.

    Example:
        >>> p = cs.ingest_calls("calls.csv", population=50_000, mh_types=["mental health", "crisis"])
    """
    from crisis_sim.analysis.ingest import (
        DEFAULT_MH_TYPES,
        Columns,
        IngestError,
        IngestOptions,
        profile_calls,
    )
    from crisis_sim.analysis.ingest import read_calls as _read_calls

    options = IngestOptions(population=int(population), columns=Columns(**dict(columns or {})),
                            mh_types=tuple(mh_types or DEFAULT_MH_TYPES), time_format=time_format)  # fmt: skip
    try:
        return profile_calls(_read_calls(calls, options), options)
    except IngestError as exc:
        raise ValueError(str(exc)) from None


def baseline_check(
    scenario: ScenarioLike,
    calls: str | os.PathLike[str],
    population: int,
    replications: int = 3,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    mh_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """How well does the model match your city: ``crisis-sim baseline-check`` as a DataFrame (``scenario``: a
    file, built-in name, variant string or Scenario object), one row per compared figure (group, item, city, city_low, city_high, model, model_low, model_high, verdict).

    Example:
        >>> cs.baseline_check("city.toml", "calls.csv", population=50_000, replications=3, days=120)
    """
    from crisis_sim.report.baseline import check_spec

    profile = ingest_calls(calls, population, mh_types)
    spec = build_experiment([scenario], replications, seed, days)
    return pd.DataFrame(check_spec(spec, profile, workers)["rows"])


def check_goals(
    scenarios: Sequence[ScenarioLike] | Mapping[str, ScenarioLike],
    goals: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
    replications: int = 10,
    seed: int = 0,
    days: int | None = None,
    store: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "processes",
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Goals and milestones (docs/report.md): whether, when and in what share of replications each option meets
    each goal. ``goals`` is a goals TOML file or a list of goal tables, e.g.
    ``[{"metric": "arrests", "change": -0.10, "by_month": 12}, {"metric": "specialized_coverage", "at_least": 0.8}]``
    (a bad goal raises ``ValueError`` naming it); the ``[[goals]]`` of the scenario files are checked too (``None``:
    only those). One row per goal and option: ``goal``, ``source`` (the file the goal came from), ``option``,
    ``met_probability``, ``met_median_month``, ``basis``.

    Example:
        >>> cs.check_goals(["small_district", "mobile_crisis"], [{"metric": "arrests", "change": -0.1, "by_month": 3}],
        ...                replications=4, days=120)
    """
    from crisis_sim.report.decision import option_names
    from crisis_sim.report.goals import (
        GoalError,
        check_metrics,
        evaluate,
        goals_of_scenarios,
        load_goals,
        merge_goals,
        parse_goals,
    )

    try:
        if goals is None:
            parsed = []
        elif isinstance(goals, str | os.PathLike):
            parsed = load_goals(goals)
        else:
            parsed = parse_goals({"goals": list(goals)}, "goals", stated_in="the goals argument")
    except GoalError as exc:
        raise ValueError(str(exc)) from None
    spec = build_experiment(scenarios, replications, seed, days, overrides)
    parsed = merge_goals(goals_of_scenarios(spec), parsed)
    if not parsed:
        raise ValueError("goals: expected goals (a file, a list, or [[goals]] in a scenario file), found none")
    try:
        check_metrics(parsed, spec.scenarios[0].scenario)  # before the long runs
    except GoalError as exc:
        raise ValueError(str(exc)) from None
    outcome = _execute(spec, store, workers, executor, progress)
    sim = spec.scenarios[0].scenario.simulation
    try:
        results = evaluate(parsed, outcome.runs, outcome.series, option_names(spec),
                           int(sim.warmup_days // sim.month_days) + 1)  # fmt: skip
    except GoalError as exc:
        raise ValueError(str(exc)) from None
    rows = [{"goal": g["goal"], "source": g.get("source", ""), "option": name,
             **{k: v.get(k) for k in ("met_probability", "met_median_month", "basis")}}
            for g in results for name, v in g["options"].items()]  # fmt: skip
    return pd.DataFrame(rows)


# --- design search and robustness ----------------------------------------------------------------------------------
def _design_frame(entries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"trial": e["trial"], "feasible": bool(e["feasible"]), **e["levers"], **e["metrics"]} for e in entries]
    return pd.DataFrame(rows, columns=None if rows else ["trial", "feasible"])


def design(
    scenario: str | os.PathLike[str],
    levers: str | os.PathLike[str],
    trials: int,
    out: str | os.PathLike[str] = "design-out",
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
    population: int = 8,
    confirm_replications: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    plots: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Multi-objective search over program levers (Optuna NSGA-II), as ``crisis-sim design``.

    Args:
        scenario: the base scenario (a file or a built-in name).
        levers: the levers file (e.g. ``design/midsize_city.toml``): levers, objectives, constraints, costs
            (docs/design.md).
        trials: the total of completed trials wanted in the study (calling again with the same ``out`` continues
            it: nothing finished is run twice).
        out: the study folder: ``study.db``, ``designs/*/`` (one results store per design), ``confirm/``,
            ``pareto.csv``/``.json``, ``trials.csv`` (and ``plots/`` with ``plots=True``).
        replications: replications per design, over common random numbers.
        seed: root seed of the runs and of the sampler.
        days: simulate this many days instead of the scenario's horizon.
        workers, executor, progress: as in :func:`compare` (``progress`` draws a runs-done bar per trial).
        population: NSGA-II population size.
        confirm_replications: replications of the confirmation re-run of the cheapest feasible design (or the
            closest ones); default 2 × ``replications``, 0 skips it.
        overrides: ``{dotted.path: value}`` applied to the base scenario (as ``--set``).
        metrics: further metrics to record (beyond the objectives and constraints).
        plots: write ``plots/pareto_A__B.png`` per pair of objectives.

    Returns:
        A dict: ``pareto`` (DataFrame, one row per design on the Pareto front: ``trial``, ``feasible``, one column
        per lever, one per metric), ``trials`` (the same for every completed trial), ``best_feasible`` (the
        cheapest design meeting every constraint as a dict with ``levers``, ``metrics``, ``overrides`` and
        ``confirmation``, or None), ``closest`` (the designs nearest to feasible when none is), ``confirmation``
        (tidy DataFrame ``design, metric, mean, ci_low, ci_high, diff, diff_ci_low, diff_ci_high``; empty when
        skipped) and ``document`` (the whole ``pareto.json``).

    Example:
        >>> res = cs.design("midsize_city", "design/midsize_city.toml", trials=40, out="out/design", days=180)
        >>> res["pareto"].sort_values("annual_cost").head()
    """
    from crisis_sim.analysis.design_run import run_design

    result = run_design(
        os.fspath(scenario), os.fspath(levers), int(trials), int(replications), Path(out), seed=int(seed),
        days=days, common=dict(overrides or {}), executor=executor, workers=int(workers), population=int(population),
        confirm_replications=confirm_replications, metrics=_metrics(metrics, ()) if metrics else (),
        plots=plots, progress=progress,
    )  # fmt: skip
    doc = result.doc
    conf_rows = []
    for label, d in ((doc.get("confirmation") or {}).get("designs") or {}).items():
        for metric, v in d["metrics"].items():
            conf_rows.append({"design": label, "metric": metric, **{k: v.get(k) for k in TABLE_COLUMNS[2:8]}})
    return {
        "pareto": _design_frame(doc["pareto"]),
        "trials": _design_frame(result.rows),
        "best_feasible": doc["best_feasible"],
        "closest": doc["closest"],
        "confirmation": pd.DataFrame(conf_rows, columns=["design", "metric", *TABLE_COLUMNS[2:8]]),
        "document": doc,
    }


def robustness(
    scenarios: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    uncertainties: str | os.PathLike[str],
    experiments: int,
    out: str | os.PathLike[str] = "robustness-out",
    replications: int = 2,
    designs: str | os.PathLike[str] | None = None,
    pick: str = "feasible",
    seed: int = 0,
    days: int | None = None,
    workers: int = 1,
    executor: str = "processes",
    prim_threshold: float = 0.8,
    overrides: Mapping[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    plots: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Where each policy fails its goals under stressors (EMA workbench: PRIM, regret), as ``crisis-sim robustness``.

    Args:
        scenarios: the policies: a scenario file, built-in name or variant ``"FILE::NAME:PATH=VALUE"``, or a list
            of them (may be empty when ``designs`` is given).
        uncertainties: the stressors file (e.g. ``robustness/small_district.toml``): uncertainties, events, goals,
            regret metric (docs/robustness.md).
        experiments: Latin-hypercube samples of the uncertainties; each runs under every policy.
        out: the study folder: ``experiments/*/`` (one results store per experiment and policy: calling again
            continues), ``robustness.csv``/``.json``, ``prim_*.csv`` (and ``plots/`` with ``plots=True``).
        replications: replications per experiment and policy, over common random numbers.
        designs: a design study's ``pareto.json``: its designs become policies ``design-trial-K`` (the study's base
            scenario with the design's levers).
        pick: which designs: ``"all"`` (the Pareto front), ``"feasible"``, ``"best"`` or trial numbers ``"3,7"``.
        seed: root seed of the runs and of the sampler.
        days: simulate this many days instead of the scenario's horizon.
        workers, executor, progress: as in :func:`compare` (``progress`` draws EMA's bar over the experiments).
        prim_threshold: the density a PRIM box should reach (0-1).
        overrides: ``{dotted.path: value}`` applied to every policy (as ``--set``).
        metrics: further metrics to record per experiment.
        plots: write ``plots/robustness_<policy>.png``.

    Returns:
        A dict: ``policies`` (DataFrame, one row per policy: ``policy, experiments, failure_share, satisficing,
        regret, regret_p90, regret_metric``), ``boxes`` (tidy DataFrame of the PRIM boxes: ``policy, box,
        uncertainty, low, high, coverage, density, mass``), ``experiments`` (one row per experiment and policy:
        the uncertainties, the outcome means and ``failed``) and ``document`` (the whole ``robustness.json``).

    Example:
        >>> res = cs.robustness(["small_district", "scenarios/co_responder.toml"], "robustness/small_district.toml",
        ...                     experiments=40, out="out/robustness", days=180)
        >>> res["policies"], res["boxes"]
    """
    from crisis_sim.analysis.robustness_run import run_robustness, unwrap_ema_error
    from crisis_sim.experiments.store import StoreError

    if isinstance(scenarios, str | os.PathLike):
        scenarios = [scenarios]
    try:
        result = run_robustness(
            [os.fspath(s) for s in scenarios], os.fspath(uncertainties), int(experiments), int(replications),
            Path(out), designs=None if designs is None else os.fspath(designs), pick=pick, seed=int(seed),
            days=days, common=dict(overrides or {}), executor=executor, workers=int(workers),
            prim_threshold=float(prim_threshold), metrics=_metrics(metrics, ()) if metrics else (), plots=plots,
            progress=progress,
        )  # fmt: skip
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:  # EMAError wraps what the model function raised
        cause = unwrap_ema_error(exc)
        if isinstance(cause, StoreError):
            raise cause from None
        raise
    doc = result.doc
    rows, boxes = [], []
    for name, info in doc["policies"].items():
        rows.append({"policy": name, **{k: info[k] for k in ("experiments", "failure_share", "satisficing",
                                                              "regret", "regret_p90", "regret_metric")}})  # fmt: skip
        for k, box in enumerate(info["boxes"], start=1):
            for unc, (lo, hi) in box["limits"].items():
                boxes.append({"policy": name, "box": k, "uncertainty": unc, "low": lo, "high": hi,
                              "coverage": box["coverage"], "density": box["density"], "mass": box["mass"]})  # fmt: skip
    box_columns = ["policy", "box", "uncertainty", "low", "high", "coverage", "density", "mass"]
    return {
        "policies": pd.DataFrame(rows),
        "boxes": pd.DataFrame(boxes, columns=box_columns),
        "experiments": result.table,
        "document": doc,
    }


def ems_check(
    scenario: ScenarioLike,
    program: str = "co_response",
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    months: Sequence[int] = (6, 12),
    health_pathway: bool | None = None,
) -> dict[str, Any]:
    """Later EMS and ED use of the people ``program`` served first, against the same people with the program off
    (``crisis-sim ems-check``; the held-out check of [bailey2022], docs/health_pathway.md). ``health_pathway``:
    None keeps the scenario's switch, True/False sets it. Returns the odds ratios per window and use.

    Example:
        >>> r = cs.ems_check("co_response", replications=4, days=760, health_pathway=True)
        >>> r["windows"]["12m"]["ems"]["odds_ratio"]
    """
    from crisis_sim.analysis.ems_check import ems_check as _ems_check
    from crisis_sim.scenario.loader import with_overrides

    sc = _as_scenario(scenario, days)
    if health_pathway is not None:
        sc = with_overrides(sc, {"destinations.health_pathway.enabled": bool(health_pathway)})
    return _ems_check(sc, program, replications, seed, months)

# --- outreach: selection and regression to the mean ------------------------------------------------------------
def selection_effect(
    scenario: ScenarioLike,
    replications: int = 4,
    seed: int = 0,
    days: int | None = None,
    window_days: float = 365.0,
    index: str = "selection",
    workers: int = 1,
    executor: str = "processes",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Outreach clients' MH calls before and after selection, with the program and in the paired no-program arm
    (as ``crisis-sim selection-effect``; docs/mechanisms.md).

    Args:
        scenario: a scenario with ``[programs.outreach]`` enabled (call-by-call referral or the frequent-contact
            list); its horizon must be at least twice ``window_days``.
        replications, seed, days, workers, executor: as in :func:`compare`.
        window_days: the window before and after the index date.
        index: ``"selection"`` (referral or list date) or ``"first_visit"`` (the first home visit).

    Returns:
        ``(summary, per_client)``: the summary dict (``clients``, the four call totals and per-client means,
        ``prepost_program``, ``prepost_none``, ``effect``, ``effect_per_client`` and their ``interval`` over
        replications) and one row per client and replication (``replication, resident, index_day,
        before_program, after_program, before_none, after_none``).

    Example:
        >>> summary, clients = cs.selection_effect("outreach_frequent_contact", replications=4)
        >>> summary["prepost_program"], summary["prepost_none"], summary["effect"]
    """
    from crisis_sim.analysis.selection import selection_effect as run_selection

    return run_selection(_as_scenario(scenario, days), int(replications), int(seed), float(window_days),
                         index, executor, int(workers))  # type: ignore[arg-type]  # fmt: skip
