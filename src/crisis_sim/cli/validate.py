"""``crisis-sim validate FILE``: check a scenario file; exit 0 if valid, 2 with one line per problem if not."""

from __future__ import annotations

import argparse

from crisis_sim.scenario import load_scenario


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check scenario files against the schema",
                       description="Check scenario files. Exit 0 if all are valid; otherwise print one line per "
                       "problem (file, key path, expected, found) and exit 2.")  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML file(s) or built-in names")
    p.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    for path in args.files:
        scenario = load_scenario(path)
        print(f"{path}: valid ({scenario.name}: {scenario.city.population:,} residents, "
              f"{len(scenario.city.districts)} districts, {scenario.simulation.horizon_days} days)")  # fmt: skip
    return 0
