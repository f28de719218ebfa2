"""``crisis-sim compare A.toml B.toml ... --replications R``: paired comparison over common random numbers.

Scenarios are files or variants ``FILE::NAME:PATH=VALUE,PATH=VALUE`` (see docs/experiments.md). Runs go to a
results store (``--out DIR``, resumable after a kill; without it a temporary store deleted afterwards).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crisis_sim.cli.common import (
    UsageError,
    add_run_options,
    add_version_change_option,
    default_workers,
    dumps,
    jsonable,
    positive,
)

if TYPE_CHECKING:
    from crisis_sim.experiments.runner import Interrupted


def add_experiment_options(
    p: argparse.ArgumentParser, helps: Mapping[str, str] | None = None, out_required: bool = False
) -> None:
    """Options shared by the commands that run batches (compare, sweep, sensitivity, design, robustness).

    ``helps`` replaces the help text of options whose meaning differs in a command (keyed by destination:
    ``out``, ``metric``, ``json``, ``no_progress``); ``out_required`` makes ``--out`` required."""
    helps = dict(helps or {})
    p.add_argument(
        "--replications",
        "-R",
        type=positive("replications"),
        required=True,
        help="replications per scenario (replication k of every scenario sees the same crises)",
    )
    add_run_options(p)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a schema path in every scenario (repeatable); VALUE is a TOML literal",
    )
    p.add_argument(
        "--executor",
        choices=("processes", "dask"),
        default="processes",
        help="local process pool (default) or Dask distributed",
    )
    p.add_argument(
        "--workers",
        type=positive("workers"),
        default=default_workers(),
        help="worker processes (default: the CPUs available)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (e.g. tcp://10.0.0.5:8786 from dask-jobqueue); implies --executor dask",
    )
    p.add_argument(
        "--chunk-size",
        type=positive("runs"),
        default=None,
        help="runs per task and per stored file (default: about 8 tasks per worker, at most 5)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        required=out_required,
        help=helps.pop("out", "results store (Parquet + manifest.json), resumable: rerun the same command after a "
                       "kill to finish only the missing runs; also gets compare.json and plots/*.png"),
    )  # fmt: skip
    p.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help=helps.pop("metric", "metric to report (repeatable; default: the key metrics)"),
    )
    add_version_change_option(p)
    p.add_argument("--json", action="store_true", help=helps.pop("json", "print the comparison as one JSON object"))
    p.add_argument("--no-plots", action="store_true", help="with --out, do not write plots/*.png")
    p.add_argument("--no-progress", action="store_true", help=helps.pop("no_progress", "no progress bar on stderr"))
    if helps:
        raise ValueError(f"no shared option to describe for {sorted(helps)}")


def stored_runs(args: argparse.Namespace, spec: Any, out: Path) -> Any:
    """Run what ``spec`` still misses into the results store ``out`` with the command's executor options and
    return its runs table; a refused store is a :class:`UsageError` (``Interrupted`` propagates)."""
    from crisis_sim.experiments.runner import run_batch
    from crisis_sim.experiments.store import ResultStore, StoreError

    try:
        with ResultStore(out, spec, allow_version_change=args.allow_version_change) as store:
            run_batch(store, args.executor, args.workers, args.scheduler, args.chunk_size,
                      progress=not args.no_progress)  # fmt: skip
            return store.read_runs()
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare scenarios over R paired replications (mean, 95%% CI, paired difference)",
        description="Run every scenario R times with common random numbers and compare them: per metric the "
        "mean with a 95% t-interval, and the paired difference against the first scenario with its 95% "
        "interval (* when it excludes 0). A SCENARIO is a TOML file, a built-in name (crisis-sim scenarios) or a "
        "variant FILE::NAME:PATH=VALUE,... "
        "(e.g. scenarios/small_district.toml::more_patrol:city.districts.north.patrol_units.day=5).",
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario file, built-in name or variant FILE::NAME:PATH=VALUE,...",
    )
    add_experiment_options(p)
    g = p.add_argument_group("probabilistic sensitivity analysis (docs/uncertainty.md)")
    g.add_argument(
        "--psa",
        type=positive("draws"),
        metavar="N",
        help="also draw N joint parameter sets from the evidence file, apply each to every scenario and report "
        "the paired differences over draws x replications, probability best, cost per outcome and EVPPI",
    )
    g.add_argument(
        "--evidence",
        metavar="FILE",
        help="evidence distributions (TOML; default: the packaged evidence/default.toml)",
    )
    g.add_argument(
        "--evidence-option",
        action="append",
        default=[],
        metavar="NAME",
        help="a structural alternative of the evidence file (repeatable; e.g. cit_compton2014)",
    )
    g.add_argument(
        "--posterior",
        metavar="FILE",
        help="a posterior.parquet of `calibrate --method abc`: its particles (resampled by weight, deterministic "
        "from --seed) replace the calibrated point of the calibrated parameters in every draw",
    )
    g.add_argument(
        "--evppi-metric",
        action="append",
        default=[],
        metavar="NAME",
        help="decision metric for EVPI/EVPPI (repeatable; default: arrests)",
    )
    g.add_argument(
        "--evppi-wtp",
        action="append",
        default=[],
        metavar="OUTCOME=VALUE",
        help="also EVPI/EVPPI of the net monetary benefit VALUE x OUTCOME gained - extra cost (repeatable; "
        "OUTCOME: arrests, ed_transports, involuntary_holds, use_of_force, connected_to_services)",
    )
    g.add_argument(
        "--discount",
        type=discount_rate,
        default=None,
        metavar="RATE",
        help="yearly discount rate for the costs and outcomes of cost per outcome, ICERs, net benefit and the "
        "acceptability curves over multi-year horizons (default 0.03; 0 to 0.2; the first counted year is not "
        "discounted)",
    )
    p.set_defaults(func=_compare)


def discount_rate(text: str) -> float:
    """argparse type of ``--discount``: a yearly rate from 0 to 0.2 (one readable line otherwise)."""
    from crisis_sim.analysis.uncertainty import check_discount

    try:
        return check_discount(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a yearly discount rate from 0 to 0.2 (e.g. 0.03), found {text!r}"
        ) from None


def _compare(args: argparse.Namespace) -> int:
    from crisis_sim.experiments.spec import SpecError, parse_scenario_arg

    try:
        requests = [parse_scenario_arg(text) for text in args.scenarios]
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.psa is None:
        if (args.evidence or args.evidence_option or args.evppi_metric or args.evppi_wtp or args.posterior
                or args.discount is not None):
            raise UsageError("--evidence, --evidence-option, --posterior, --evppi-metric, --evppi-wtp and --discount "
                             "need --psa N")
        return execute(args, requests, command="compare")
    return execute_psa(args, requests)


def execute_psa(args: argparse.Namespace, requests: list[Any]) -> int:
    """compare --psa N: one store holding (N draws + point values) x strategies x R replications."""
    from crisis_sim.analysis.evidence import load_evidence
    from crisis_sim.analysis.psa import build_psa_spec, format_psa, psa_document, psa_tables
    from crisis_sim.analysis.uncertainty import DIRECTION, OUTCOMES
    from crisis_sim.experiments.compare import with_extra_metrics
    from crisis_sim.experiments.runner import Interrupted
    from crisis_sim.experiments.spec import SpecError, build_spec, parse_assignment
    from crisis_sim.outcomes import KEY_METRICS
    from crisis_sim.provenance import provenance

    metrics = list(dict.fromkeys(args.metric)) or list(KEY_METRICS)
    evppi_metrics = list(dict.fromkeys(args.evppi_metric)) or ["arrests"]
    bad = [m for m in evppi_metrics if m not in DIRECTION]
    if bad:
        raise UsageError(f"--evppi-metric: expected a metric with a better direction ({', '.join(sorted(DIRECTION))}),"
                         f" found {bad[0]!r}")  # fmt: skip
    wtp: dict[str, float] = {}
    for text in args.evppi_wtp:
        outcome, _, value = text.partition("=")
        try:
            wtp[outcome.strip()] = float(value)
        except ValueError:
            wtp[""] = math.nan
        if (
            outcome.strip() not in OUTCOMES
            or not math.isfinite(wtp[outcome.strip()])
            or wtp[outcome.strip()] < 0
        ):
            raise UsageError(f"--evppi-wtp: expected OUTCOME=VALUE with OUTCOME one of {', '.join(OUTCOMES)} and "
                             f"VALUE a number >= 0 (dollars per unit gained), found {text!r}")  # fmt: skip
    evidence = load_evidence(args.evidence, args.evidence_option)
    posterior = load_posterior_option(args.posterior)
    try:
        common = dict(parse_assignment(text) for text in args.set)
        base = build_spec(requests, args.replications, args.seed, args.days, common)
        plan = build_psa_spec(base, evidence, args.psa, posterior)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    tmp = None if args.out else tempfile.mkdtemp(prefix="crisis-sim-psa-")
    out = Path(args.out or tmp)
    try:
        try:
            runs = stored_runs(args, plan.spec, out)
        except Interrupted as exc:
            return report_interrupted(exc, args.out)
        runs, unknown = with_extra_metrics(runs, metrics)
        if unknown:
            raise UsageError(f"--metric: expected a stored metric, found {unknown[0]!r}")
        from crisis_sim.analysis.uncertainty import DEFAULT_DISCOUNT, DiscountError
        from crisis_sim.experiments.store import read_series

        rate = DEFAULT_DISCOUNT if args.discount is None else args.discount
        try:
            result = psa_tables(plan, runs, metrics, evppi_metrics, wtp=wtp,
                                series=read_series(out) if rate > 0 else None, discount=rate)  # fmt: skip
        except DiscountError as exc:
            raise UsageError(f"{out}: {exc}") from None
        document = {**result.monte_carlo, "replications": plan.spec.replications, "seed": plan.spec.root_seed,
                    "days": plan.spec.days, "psa": {**psa_document(result, evidence),
                                                     **posterior_document(args.posterior, posterior)},
                    "store": str(out) if args.out else None, "provenance": provenance()}  # fmt: skip
        if args.out:
            tmp_json = out / ".compare.json.tmp"
            tmp_json.write_text(dumps(document) + "\n")
            os.replace(tmp_json, out / "compare.json")
            result.draws.to_csv(out / "psa_draws.csv")
        if args.json:
            print(json.dumps(jsonable(document)))
        else:
            print(format_psa(result))
            if args.out:
                print(f'\nresults in {out}: runs/*.parquet, compare.json (with "psa"), psa_draws.csv')
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def load_posterior_option(path: str | None) -> Any:
    """``--posterior FILE``: (particles, free parameters) of a posterior.parquet, or None; one line, exit 2."""
    if not path:
        return None
    from crisis_sim.analysis.abc_smc import read_posterior
    from crisis_sim.analysis.calibration import CalibrationError

    try:
        return read_posterior(path)
    except CalibrationError as exc:
        raise UsageError(f"--posterior: {exc}") from None


def posterior_document(path: str | None, posterior: Any) -> dict[str, Any]:
    """The ``posterior`` entry of the PSA's JSON (empty without --posterior)."""
    if posterior is None:
        return {}
    frame, params = posterior
    return {"posterior": {"file": str(path), "particles": len(frame), "parameters": [p.path for p in params]}}


def execute(
    args: argparse.Namespace,
    requests: list[Any],
    command: str,
    params: dict[str, dict[str, Any]] | None = None,
    formatter: Callable[[dict[str, Any], int], str] | None = None,
) -> int:
    """Build the spec, run what is missing into the store, compare, print; shared by compare and sweep."""
    from crisis_sim.experiments.compare import compare_runs, format_table, numeric_extras, with_extra_metrics
    from crisis_sim.experiments.runner import Interrupted
    from crisis_sim.experiments.spec import SpecError, build_spec, parse_assignment
    from crisis_sim.outcomes import KEY_METRICS
    from crisis_sim.provenance import provenance

    try:
        common = dict(parse_assignment(text) for text in args.set)
        spec = build_spec(requests, args.replications, args.seed, args.days, common)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    metrics = list(dict.fromkeys(args.metric)) or list(KEY_METRICS)
    bad = [m for m in metrics if not m.isidentifier()]
    if bad:
        raise UsageError(f"--metric: expected a metric name like arrests or cost_total, found {bad[0]!r}")

    tmp = None if args.out else tempfile.mkdtemp(prefix="crisis-sim-experiment-")
    out = Path(args.out or tmp)
    try:
        try:
            runs = stored_runs(args, spec, out)
        except Interrupted as exc:
            return report_interrupted(exc, args.out)
        runs, unknown = with_extra_metrics(runs, metrics)
        if unknown:
            known = ", ".join([*spec.metrics, *numeric_extras(runs)])
            raise UsageError(f"--metric: expected one of {known}, found {unknown[0]!r}")
        result = compare_runs(runs, spec.labels, metrics)
        document = {**result, "replications": spec.replications, "seed": spec.root_seed, "days": spec.days}
        if params is not None:
            document["params"] = params
        document["store"] = str(out) if args.out else None
        document["provenance"] = provenance()
        if args.out:
            tmp_json = out / f".{command}.json.tmp"
            tmp_json.write_text(dumps(document) + "\n")
            os.replace(tmp_json, out / f"{command}.json")
            if not args.no_plots:
                from crisis_sim.experiments.plots import plot_comparison

                plot_comparison(result, out / "plots")
        if args.json:
            print(json.dumps(jsonable(document)))
        else:
            print((formatter or format_table)(result, spec.replications))
            if args.out:
                extra = "" if args.no_plots else ", plots/*.png"
                print(
                    f"\nresults in {out}: runs/*.parquet (one row per run), series/*.parquet, {command}.json{extra}"
                )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report_interrupted(exc: Interrupted, out: str | None) -> int:
    """Ctrl-C during a batch: say what was kept and how to resume; exit status 130."""
    if out:
        print(f"crisis-sim: interrupted; {exc.done} of {exc.total} runs are saved in {out}. To finish the "
              f"remaining runs, run the same command again:\n  {_same_command()}", file=sys.stderr)  # fmt: skip
    else:
        print("crisis-sim: interrupted; nothing was kept (give --out DIR to make a batch resumable)",
              file=sys.stderr)  # fmt: skip
    return 130


def _same_command() -> str:
    argv = sys.argv[1:]
    return shlex.join(["crisis-sim", *argv]) if argv else "crisis-sim <the same arguments>"
