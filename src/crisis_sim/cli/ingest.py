"""``crisis-sim ingest CALLS.csv --population N --out city.toml`` and ``crisis-sim baseline-check city.toml
--data CALLS.csv``: a city's own call records as the baseline (docs/ingest.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crisis_sim.cli.common import UsageError, positive

EPILOG = ("CSV template (docs/ingest.md): one row per call, columns timestamp (ISO 8601, e.g. 2024-03-01 14:05), "
          "call_type, district, disposition; other names with the --*-column flags.")  # fmt: skip


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--population", type=positive("population"), required=True, help="residents of the city")
    p.add_argument("--time-column", default="timestamp", metavar="NAME", help="default: timestamp")
    p.add_argument("--call-type-column", default="call_type", metavar="NAME", help="default: call_type")
    p.add_argument("--district-column", default="district", metavar="NAME", help="default: district")
    p.add_argument("--disposition-column", default="disposition", metavar="NAME", help="default: disposition")
    p.add_argument("--time-format", metavar="FMT",
                   help="strftime format of the timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO 8601)")  # fmt: skip
    p.add_argument("--mh-types", metavar="A,B,...",
                   help="call types (case-insensitive, comma-separated) that count as mental-health calls "
                   "(default: mental health, mh, crisis, suicide, suicidal, emotionally disturbed person, edp)")  # fmt: skip
    p.add_argument("--disposition-values", metavar="KEY=V1|V2,...",
                   help="the file's disposition values for the model's arrest, involuntary, voluntary_transport, "
                   "resolved, report (e.g. 'arrest=ARR|BOOKED,involuntary=5150'); others count as 'other'")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read a city's call records (CSV) and write a scenario and calibration targets",
        description="Read a CSV of calls for service and write a scenario file that inherits a base scenario "
        "and sets the city's population, districts (call shares), calls per 1,000 residents a day, MH share, "
        "hourly and weekday profiles; and a targets file (calibration/targets.toml format) with the observed "
        "dispositions of MH calls and their 95%% intervals. A bad file: one line naming the row and column, "
        "exit 2, nothing written.",
        epilog=EPILOG,
    )
    p.add_argument("calls", metavar="CALLS.csv")
    p.add_argument("--out", required=True, metavar="city.toml", help="the scenario file to write")
    p.add_argument("--targets", metavar="FILE",
                   help="the targets file to write (default: <out>_targets.toml beside the scenario)")  # fmt: skip
    p.add_argument("--base", default="baseline_midsize_city",
                   help="scenario whose other settings the city inherits (file or built-in name; default "
                   "baseline_midsize_city)")  # fmt: skip
    p.add_argument("--name", help="scenario name (default: the --out file's stem)")
    _add_read_options(p)
    p.set_defaults(func=_ingest)

    q = sub.add_parser(
        "baseline-check",
        help="how well does the model match your city: the scenario against the city's call records",
        description="Run the scenario a few times and print, beside the city's own figures, the model's calls "
        "per 1,000 residents a day, MH share, MH calls by time of day and weekday, and MH call dispositions, "
        "each with a 95%% interval, and whether they match (intervals overlap).",
        epilog=EPILOG,
    )
    q.add_argument("scenario", metavar="city.toml")
    q.add_argument("--data", required=True, metavar="CALLS.csv", help="the city's call records")
    q.add_argument("--replications", "-R", type=positive("replications"), default=3,
                   help="model replications (default 3)")  # fmt: skip
    q.add_argument("--days", type=positive("days"), help="shorten the horizon to this many days")
    q.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    q.add_argument("--workers", type=positive("workers"), default=1, help="worker processes (default 1)")
    q.add_argument("--json", action="store_true", help="print the rows as JSON")
    _add_read_options(q)
    q.set_defaults(func=_check)


def _options(args: argparse.Namespace):
    from crisis_sim.analysis.ingest import DISPOSITIONS, Columns, IngestOptions

    kwargs = {}
    if args.mh_types:
        kwargs["mh_types"] = tuple(t.strip().lower() for t in args.mh_types.split(",") if t.strip())
    if args.disposition_values:
        values = dict(IngestOptions(1).disposition_values)
        for part in args.disposition_values.split(","):
            key, sep, vs = part.partition("=")
            key = key.strip()
            if not sep or key not in DISPOSITIONS or not vs.strip():
                raise UsageError(f"--disposition-values: expected KEY=V1|V2 with KEY one of "
                                 f"{', '.join(DISPOSITIONS)}, found {part!r}")  # fmt: skip
            values[key] = tuple(v.strip().lower() for v in vs.split("|") if v.strip())
        kwargs["disposition_values"] = values
    cols = Columns(args.time_column, args.call_type_column, args.district_column, args.disposition_column)
    return IngestOptions(population=args.population, columns=cols, time_format=args.time_format, **kwargs)


def _profile(args: argparse.Namespace, path: str):
    from crisis_sim.analysis.ingest import IngestError, profile_calls, read_calls

    options = _options(args)
    try:
        return profile_calls(read_calls(path, options), options)
    except IngestError as exc:
        raise UsageError(str(exc)) from None


def _ingest(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.ingest import scenario_fragment, targets_toml
    from crisis_sim.scenario import load_scenario
    from crisis_sim.scenario.loader import resolve_scenario_path

    out = Path(args.out)
    if out.suffix != ".toml":
        raise UsageError(f"--out: expected a file name ending in .toml, found {args.out!r}")
    targets = Path(args.targets) if args.targets else out.with_name(out.stem + "_targets.toml")
    profile = _profile(args, args.calls)
    base_path = resolve_scenario_path(args.base)
    base = load_scenario(base_path)  # ScenarioError → one line per problem, exit 2
    if profile["mh_calls"] == 0:
        raise UsageError(f"{args.calls}, column {args.call_type_column!r}: no call has an MH call type "
                         f"({', '.join(_options(args).mh_types)}); name them with --mh-types")  # fmt: skip
    base_ref = str(base_path.resolve())
    text = scenario_fragment(profile, base, base_ref, args.name or out.stem, args.calls)
    # Check that the written scenario loads before anything is written.
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / out.name
        probe.write_text(text)
        load_scenario(probe)
    _write(out, text)
    _write(targets, targets_toml(profile, args.calls))
    d = profile["dispositions"]
    print(f"{profile['calls']:,} calls ({profile['mh_calls']:,} MH) over {profile['days']} days: "
          f"{profile['calls_per_1000_per_day']:.3g} calls per 1,000 residents a day, MH share "
          f"{profile['mh_share']:.1%}, {len(profile['district_shares'])} district(s); arrests "
          f"{d['arrest']['share']:.1%} of MH calls")  # fmt: skip
    print(f"scenario written to {out}; disposition targets to {targets}")
    return 0


def _write(path: Path, text: str) -> None:
    from crisis_sim.report.html import write_report

    write_report(path, text)


def _check(args: argparse.Namespace) -> int:
    from crisis_sim.experiments.spec import SpecError
    from crisis_sim.report.baseline import baseline_check, format_check
    from crisis_sim.serialize import dumps

    profile = _profile(args, args.data)
    try:
        result = baseline_check(args.scenario, profile, args.replications, args.seed, args.days, args.workers)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(dumps(result))
    else:
        print(format_check(result))
    sys.stdout.flush()
    return 0
