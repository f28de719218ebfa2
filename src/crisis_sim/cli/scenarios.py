"""``crisis-sim scenarios [--json]``: the scenarios shipped with crisis_sim, usable by name in every command."""

from __future__ import annotations

import argparse
import json

from crisis_sim.scenario import ScenarioError, load_scenario
from crisis_sim.scenario.loader import builtin_dir, builtin_scenarios


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenarios",
        help="list the built-in scenarios (usable by name, e.g. crisis-sim run small_district)",
        description="List the scenarios shipped inside the package, with their one-line descriptions. Every "
        "command that takes a scenario accepts a built-in name instead of a file (crisis-sim run small_district, "
        "small_district::more_patrol:PATH=VALUE in compare); a file of that name in the current folder wins.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (folder, then name, file, description)")
    p.set_defaults(func=_scenarios)


def first_line(text: str) -> str:
    """The first sentence-ish line of a description, whitespace collapsed."""
    return " ".join(text.split("\n", 1)[0].split()) if text else ""


def listing() -> list[dict[str, str]]:
    """name, file, title (the scenario's ``name``) and description (first line) of each built-in scenario."""
    out = []
    for name, path in builtin_scenarios().items():
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:  # a shipped file must validate; say which one does not
            raise ScenarioError([f"built-in scenario {name}: {line}" for line in exc.lines]) from None
        out.append({"name": name, "file": str(path), "scenario": scenario.name,
                    "description": first_line(scenario.description)})  # fmt: skip
    return out


def _scenarios(args: argparse.Namespace) -> int:
    items = listing()
    if args.json:
        print(json.dumps({"folder": str(builtin_dir()), "scenarios": items}))
        return 0
    width = max((len(i["name"]) for i in items), default=0)
    for item in items:
        print(f"{item['name'].ljust(width)}  {item['description'] or '(no description)'}")
    print(f"\n{len(items)} built-in scenarios in {builtin_dir()}; use a name wherever a scenario file is asked "
          "for, e.g. crisis-sim run small_district")  # fmt: skip
    return 0
