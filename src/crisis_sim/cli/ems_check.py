"""``crisis-sim ems-check``: later EMS and ED use of the people a program served first, against the paired
no-program arm (the held-out check of [bailey2022]; docs/health_pathway.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crisis_sim.cli.common import UsageError, add_run_options, dumps, load_for_run, positive
from crisis_sim.provenance import provenance

PATHWAY_CHOICES = ("scenario", "off", "on", "both")


def _months(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole months separated by commas, found {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected months >= 1 separated by commas, found {text!r}")
    return sorted(set(values))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ems-check",
        help="later EMS/ED use of people a program served first vs the no-program arm (held-out check)",
        description="Run SCENARIO and the same scenario with the program switched off (paired replications, common "
        "random numbers) and print, for the people whose first call the program handled, the odds ratio of any "
        "EMS use and of any ED visit within each window after that call (the first day left out). [bailey2022] "
        "found more EMS use for co-response clients at 6 and 12 months (OR 1.71-1.85); this is a check, the model "
        "is not fitted to it. EMS use exists only with [destinations.health_pathway] on; --health-pathway both "
        "runs the check with it off and on.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file or built-in scenario name")
    p.add_argument("--program", default="co_response", help="the program whose first-served people are followed "
                   "(default co_response)")  # fmt: skip
    p.add_argument("--replications", type=positive("replications"), default=4, help="paired replications "
                   "(default 4)")  # fmt: skip
    p.add_argument("--months", type=_months, default=[6, 12], help="windows in months, e.g. 6,12 (default)")
    p.add_argument("--health-pathway", choices=PATHWAY_CHOICES, default="both",
                   help="the health-pathway switch: as the scenario has it, off, on, or both (default both)")  # fmt: skip
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="FILE", help="also write the JSON result to FILE")
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from crisis_sim.analysis.ems_check import ems_check
    from crisis_sim.scenario.loader import with_overrides

    scenario = load_for_run(args.scenario, args.days)
    section = getattr(scenario.programs, args.program, None)
    if section is None or not section.enabled:
        raise UsageError(f"--program {args.program}: expected a program {args.scenario} enables")
    if args.health_pathway == "scenario":
        arms = {("on" if scenario.destinations.health_pathway.enabled else "off"): scenario}
    else:
        flags = {"off": [False], "on": [True], "both": [False, True]}[args.health_pathway]
        arms = {("on" if f else "off"): with_overrides(scenario, {"destinations.health_pathway.enabled": f})
                for f in flags}  # fmt: skip
    results = {}
    for label, sc in arms.items():
        try:
            results[label] = ems_check(sc, args.program, args.replications, args.seed, args.months)
        except ValueError as exc:
            raise UsageError(f"{args.scenario}: {exc}") from None
    doc = {"health_pathway": results, "provenance": provenance()}
    if args.out:
        Path(args.out).write_text(dumps(doc) + "\n")
    if args.json:
        print(dumps(doc))
        return 0
    print(f"{args.scenario}: people first served by {args.program}, any use in the window after that call vs the "
          f"same people without the program ({args.replications} paired replications, seed {args.seed})")  # fmt: skip
    for label, res in results.items():
        print(f"health pathway {label}:")
        for window, uses in res["windows"].items():
            for use, r in uses.items():
                if r["odds_ratio"] is None:
                    ratio = "no use in either arm" if r["program_with_use"] == 0 else "not estimable"
                else:
                    ratio = f"OR {r['odds_ratio']:.2f} (95% CI {r['low']:.2f}-{r['high']:.2f})"
                print(f"  {window:>4} {use:>3}: {r['program_with_use']}/{r['people']} with the program, "
                      f"{r['control_with_use']}/{r['people']} without; {ratio}; discordant "
                      f"{r['program_only']}:{r['control_only']}")  # fmt: skip
    return 0
