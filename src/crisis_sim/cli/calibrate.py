"""``crisis-sim calibrate SCENARIO --targets FILE --params FILE --trials N``: fit free parameters to published
figures with Optuna (SQLite study in --out, resumable), then check held-out validation targets.
``--method abc --population N --generations G``: Bayesian calibration by ABC-SMC with pyabc instead
(analysis/abc_smc.py): a weighted posterior, posterior predictive checks, resumable from --out/abc.db.

``--validate-only`` simulates the scenario as it is and writes the table of every target (fit and validation)
without calibrating. ``--check-consistency [--consistency-design joint|oat] [--evidence FILE] [--draws N]``
varies the evidence distributions (jointly, or one input at a time over its quantiles) and labels every target
whose statistic follows one input (|Spearman rho| > 0.9) as a consistency check, not validation. See
docs/calibration.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crisis_sim.cli.common import (
    UsageError,
    add_run_options,
    add_version_change_option,
    default_workers,
    dumps,
    positive,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit free parameters to published targets (Optuna, resumable) and validate on held-out targets",
        description="Search the free parameters of --params for the values whose simulated statistics come "
        "closest to the [[fit]] targets of --targets (loss: weighted mean of squared distances scaled by each "
        "target's uncertainty), every trial on the same replications 0..R-1 (common random numbers). The study "
        "is kept in DIR/study.db: rerun the same command to continue an interrupted calibration; --trials is "
        "the total of completed trials. Writes best_params.json, fit.md/csv, validation.md/csv (held-out "
        "[[validation]] targets), consistency.md/csv ([[consistency]] targets: they return an input), trials.csv, plots/*.png, provenance.json (crisis_sim version and git commit) "
        "and calibrated.toml (base = SCENARIO plus the calibrated values, each marked). A study begun by another "
        "crisis_sim version is continued only with --allow-version-change. That is --method optimize (the "
        "default, a point estimate). --method abc instead runs ABC-SMC with pyabc (priors uniform over the params' "
        "ranges, the same loss as distance, every particle on the same replications) and keeps its history in "
        "DIR/abc.db (rerun to continue; --generations is the total); it writes posterior.parquet (one row per "
        "particle, one column per parameter, weight), posterior_summary.json, fit.md/csv at the posterior mean, "
        "ppc.md/csv (posterior predictive checks), plots/prior_posterior.png, plots/ppc.png and calibrated.toml "
        "(the posterior mean).",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML) or built-in name to calibrate")
    p.add_argument(
        "--targets", required=True, metavar="FILE", help="targets file, e.g. calibration/targets.toml"
    )
    p.add_argument("--params", metavar="FILE", help="free parameters, e.g. calibration/params.toml")
    p.add_argument("--trials", type=positive("trials"), help="total completed trials wanted in the study")
    p.add_argument("--replications", "-R", type=positive("replications"), default=4,
                   help="replications per trial, the same seeds for every trial (default 4)")  # fmt: skip
    add_run_options(p)
    p.add_argument("--executor", choices=("processes", "dask"), default="processes",
                   help="local process pool (default) or Dask distributed")  # fmt: skip
    p.add_argument("--workers", type=positive("workers"), default=default_workers(),
                   help="worker processes (default: the CPUs available; 1 runs in this process)")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address; implies --executor dask")
    p.add_argument("--out", metavar="DIR", default="calibration-out",
                   help="output folder holding study.db and the results (default calibration-out)")  # fmt: skip
    p.add_argument("--study", metavar="NAME", help="study name (default calibrate-<scenario file stem>)")
    p.add_argument("--validate-only", action="store_true",
                   help="no calibration: simulate SCENARIO as it is and write validation.md/csv for all targets")  # fmt: skip
    p.add_argument("--no-validation", action="store_true",
                   help="skip the [[validation]] and [[consistency]] targets (e.g. when they use scenarios the calibrated values do not "
                   "belong to)")  # fmt: skip
    p.add_argument("--check-consistency", action="store_true",
                   help="no calibration: vary the inputs of --evidence (see --consistency-design), simulate "
                   "every target's scenarios per draw and label each target whose statistic follows one input "
                   "(|Spearman rho| > 0.9) as a consistency check; writes consistency_check.md/csv/json")  # fmt: skip
    p.add_argument("--evidence", metavar="FILE", default="default",
                   help="evidence file for --check-consistency (default: the packaged evidence/default.toml)")  # fmt: skip
    p.add_argument("--draws", type=positive("draws"), default=None,
                   help="joint draws of the evidence for --check-consistency (at least 10; default 32); with "
                   "--consistency-design oat: quantile points per input (at least 7; default 9)")  # fmt: skip
    p.add_argument("--consistency-design", choices=("joint", "oat"), default="joint",
                   help="--check-consistency design: joint (all inputs drawn together, Latin hypercube) or oat "
                   "(one input at a time over its quantiles, the others at their point values; better at targets "
                   "that rest on rare events, given enough --replications)")  # fmt: skip
    p.add_argument("--method", choices=("optimize", "abc"), default="optimize",
                   help="optimize (default): Optuna TPE search for the single best point (fast; --trials); abc: "
                   "Bayesian calibration by ABC-SMC with pyabc, a weighted posterior over the params' ranges "
                   "(uniform priors; --population, --generations), posterior predictive checks and plots; "
                   "resumable from DIR/abc.db")  # fmt: skip
    p.add_argument("--population", type=positive("population"),
                   help="--method abc: particles per generation (at least 10; default 100)")  # fmt: skip
    p.add_argument("--generations", type=positive("generations"),
                   help="--method abc: total generations wanted in the run (rerun with more to continue; "
                   "default 6)")  # fmt: skip
    p.add_argument("--ppc-draws", type=positive("ppc-draws"),
                   help="--method abc: posterior particles drawn by weight for the predictive checks, each on "
                   "the R replications (default 20)")  # fmt: skip
    add_version_change_option(p, "calibration study (study.db) or ABC run (abc.db)")
    p.add_argument("--no-plots", action="store_true", help="do not write plots/*.png")
    p.add_argument("--json", action="store_true", help="print the best-parameter document as JSON")
    p.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from crisis_sim.analysis import calibration as cal

    abc_only = [flag for flag, given in (("--population", args.population), ("--generations", args.generations),
                                         ("--ppc-draws", args.ppc_draws)) if given is not None]  # fmt: skip
    if args.method == "abc":
        return _calibrate_abc(args)
    if abc_only:
        raise UsageError(f"calibrate: {abc_only[0]} belongs to --method abc; expected it with --method abc")
    if args.check_consistency:
        return _check_consistency(args)
    try:
        targets = cal.load_targets(args.targets)
        if args.validate_only:
            params = cal.load_params(args.params) if args.params else []
        else:
            if not args.params or not args.trials:
                raise UsageError("calibrate: expected --params FILE and --trials N (or --validate-only)")
            params = cal.load_params(args.params)
            if not any(t.role == "fit" for t in targets):
                raise cal.CalibrationError(
                    f"{args.targets}: expected at least one [[fit]] target, found none"
                )
        problem = cal.Problem(args.scenario, targets, params, args.replications, args.seed, args.days)
        problem.base(args.scenario)  # ScenarioError (exit 2) if the scenario is bad
        problem.check()
    except cal.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    runner = cal.Runner(args.executor, args.workers, args.scheduler)
    t0 = time.perf_counter()
    try:
        if args.validate_only:
            out.mkdir(parents=True, exist_ok=True)
            everything = problem.evaluate(None, None, runner)
            measured = [m for m in everything if m.target.role != "consistency"]
            checks = [m for m in everything if m.target.role == "consistency"]
            cal.write_table(measured, out / "validation.csv", out / "validation.md",
                            f"Fit and validation targets, {Path(args.scenario).name} as it is")  # fmt: skip
            if checks:
                cal.write_table(checks, out / "consistency.csv", out / "consistency.md",
                                "Consistency checks (they return an input; not validation), "
                                f"{Path(args.scenario).name} as it is")  # fmt: skip
            else:
                for name in ("consistency.md", "consistency.csv"):
                    (out / name).unlink(missing_ok=True)
            cal.write_provenance(out)
            print(cal.table_md(measured), end="")
            print(f"\n{sum(m.within for m in measured)} of {len(measured)} fit and validation targets within "
                  f"tolerance; tables in {out}/validation.md and .csv")  # fmt: skip
            if checks:
                print("\nConsistency checks (each returns an input of the model; not validation):\n")
                print(cal.table_md(checks), end="")
                print(f"\n{sum(m.within for m in checks)} of {len(checks)} consistency checks within tolerance; "
                      f"table in {out}/consistency.md and .csv")  # fmt: skip
            print(f"{time.perf_counter() - t0:.0f} s")
            return 0

        def progress(done: int, loss: float, best: float) -> None:
            print(f"trial {done}/{args.trials}: loss {loss:.4g} (best {best:.4g}), "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)  # fmt: skip

        try:
            study = cal.calibrate(problem, args.trials, out, runner, args.study, on_trial=progress,
                                  allow_version_change=args.allow_version_change)  # fmt: skip
        except cal.CalibrationError as exc:
            raise UsageError(str(exc)) from None
        doc = cal.write_outputs(
            problem, study, out, runner, plots=not args.no_plots, validate=not args.no_validation
        )
    except KeyboardInterrupt:
        runner.abort()
        print(f"crisis-sim: interrupted; completed trials are kept in {out}/study.db. Run the same command "
              "again to continue the study.", file=sys.stderr)  # fmt: skip
        return 130
    finally:
        runner.close()
    if args.json:
        print(dumps(doc))
    else:
        print(f"study {doc['study']}: best trial {doc['best_trial']} of {doc['trials_completed']}, loss "
              f"{doc['loss']:.4g} (first trial, the scenario's own values: {cal.fmt(doc['loss_before'])})")  # fmt: skip
        for path, value in doc["overrides"].items():
            print(f"  {path} = {cal.fmt(value)}")
        print()
        print((out / "fit.md").read_text(), end="")
        for name in ("validation.md", "consistency.md"):
            if (out / name).exists():
                print()
                print((out / name).read_text(), end="")
        print(f"\n{time.perf_counter() - t0:.0f} s; results in {out}: best_params.json, fit.md/csv, "
              "validation.md/csv, consistency.md/csv, trials.csv, plots/*.png, calibrated.toml, provenance.json, "
              "study.db")  # fmt: skip
    return 0


def _check_consistency(args: argparse.Namespace) -> int:
    from crisis_sim.analysis import calibration as cal
    from crisis_sim.analysis import consistency
    from crisis_sim.analysis.evidence import load_evidence

    if args.validate_only or args.trials:
        raise UsageError("calibrate: --check-consistency runs alone; expected no --validate-only or --trials")
    oat = args.consistency_design == "oat"
    if args.draws is None:
        args.draws = consistency.OAT_POINTS if oat else 32
    least = consistency.MIN_POINTS if oat else consistency.MIN_DRAWS
    if args.draws < least:
        raise UsageError(f"calibrate: --draws: expected at least {least} {'points per input' if oat else 'draws'} for "
                         f"--check-consistency (fewer make a chance |rho| > 0.9 likely), found {args.draws}")  # fmt: skip
    try:
        targets = cal.load_targets(args.targets)
        problem = cal.Problem(args.scenario, targets, [], args.replications, args.seed, args.days)
        problem.base(args.scenario)
        problem.check()
    except cal.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    evidence = load_evidence(args.evidence)  # ScenarioError: one line, exit 2
    out = Path(args.out)
    runner = cal.Runner(args.executor, args.workers, args.scheduler)
    t0 = time.perf_counter()
    try:
        if oat:
            result = consistency.check_consistency_oat(problem, evidence, args.draws, runner)
        else:
            result = consistency.check_consistency(problem, evidence, args.draws, runner, draw_seed=args.seed)
    except KeyboardInterrupt:
        runner.abort()
        print("crisis-sim: interrupted; nothing written", file=sys.stderr)
        return 130
    except cal.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    finally:
        runner.close()
    consistency.write_outputs(result, out, f"Consistency check of {args.targets} ({Path(args.scenario).name})")
    if args.json:
        print(dumps(result.document()))
        return 0
    print(consistency.table_md(result), end="")
    for note in consistency.misplaced(result):
        print(f"- {note}")
    what = f"{len(result.draws)} one-at-a-time points" if oat else f"{args.draws} draws"
    print(f"\n{what} x {args.replications} replications; {time.perf_counter() - t0:.0f} s; results in "
          f"{out}/consistency_check.md, .csv and .json")  # fmt: skip
    return 0


def _calibrate_abc(args: argparse.Namespace) -> int:
    """--method abc: ABC-SMC with pyabc (analysis/abc_smc.py); nothing is written before the options, files and
    output folder have been checked."""
    from crisis_sim.analysis import abc_smc
    from crisis_sim.analysis import calibration as cal

    for flag, given in (("--trials", args.trials), ("--validate-only", args.validate_only),
                        ("--check-consistency", args.check_consistency), ("--study", args.study)):  # fmt: skip
        if given:
            raise UsageError(f"calibrate: {flag} belongs to --method optimize; expected --population and "
                             "--generations with --method abc")  # fmt: skip
    args.population = 100 if args.population is None else args.population
    args.generations = 6 if args.generations is None else args.generations
    args.ppc_draws = 20 if args.ppc_draws is None else args.ppc_draws
    if args.population < abc_smc.MIN_POPULATION:
        raise UsageError(f"calibrate: --population: expected at least {abc_smc.MIN_POPULATION} particles (pyabc "
                         f"fits its proposal kernel to the population), found {args.population}")  # fmt: skip
    if not args.params:
        raise UsageError("calibrate: expected --params FILE with --method abc (the free parameters and their "
                         "ranges, the priors)")  # fmt: skip
    try:
        targets = cal.load_targets(args.targets)
        params = cal.load_params(args.params)
        if not any(t.role == "fit" for t in targets):
            raise cal.CalibrationError(f"{args.targets}: expected at least one [[fit]] target, found none")
        problem = cal.Problem(args.scenario, targets, params, args.replications, args.seed, args.days)
        problem.base(args.scenario)  # ScenarioError (exit 2) if the scenario is bad
        problem.check()
        out = Path(args.out)
        abc_smc.check_folder(problem, args.population, out, args.allow_version_change)
    except cal.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    settings = abc_smc.AbcSettings(args.population, args.generations, args.ppc_draws, args.executor,
                                   args.workers, args.scheduler)  # fmt: skip
    executor = None
    if args.executor == "dask" or args.scheduler:
        from crisis_sim.experiments.executors import make_executor

        executor = make_executor("dask", args.workers, args.scheduler)
    runner = cal.Runner("dask" if executor else args.executor, args.workers, args.scheduler)
    runner.pool = executor
    t0 = time.perf_counter()

    def progress(t: int, eps: float, samples: int, seconds: float) -> None:
        print(f"generation {t + 1}/{args.generations}: epsilon {eps:.4g}, {samples} particles simulated for "
              f"{args.population} accepted, {seconds:.0f} s ({time.perf_counter() - t0:.0f} s in all)",
              file=sys.stderr)  # fmt: skip

    try:
        record = abc_smc.run_abc(problem, settings, out, client=executor.client if executor else None,
                                 on_generation=progress, allow_version_change=args.allow_version_change)  # fmt: skip
        doc = abc_smc.write_outputs(problem, settings, out, record, runner, plots=not args.no_plots,
                                    validate=not args.no_validation)  # fmt: skip
    except KeyboardInterrupt:
        runner.abort()
        print(f"crisis-sim: interrupted; completed generations are kept in {out}/abc.db. Run the same command "
              "again to continue the run.", file=sys.stderr)  # fmt: skip
        return 130
    finally:
        runner.close()
    if args.json:
        print(dumps(doc))
        return 0
    print(abc_smc.format_summary(doc))
    print(f"\n{time.perf_counter() - t0:.0f} s; results in {out}: posterior.parquet, posterior_summary.json, "
          "populations.csv, fit.md/csv (at the posterior mean), ppc.md/csv, plots/prior_posterior.png, "
          "plots/ppc.png, calibrated.toml, provenance.json, abc.db (pyabc history), abc_run.json")
    return 0
