"""``crisis-sim run SCENARIO``: one replication, a readable summary or JSON, optional output files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crisis_sim.cli.common import add_run_options, dumps, jsonable, load_for_run, write_atomically
from crisis_sim.outcomes.pre_post import format_pre_post, pre_post
from crisis_sim.provenance import provenance
from crisis_sim.sim import simulate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="simulate one scenario once and summarise it",
        description="Simulate one replication of a scenario. Prints a summary (or one JSON object with --json). "
        "With --out DIR writes ledger.parquet (one row per call), timeseries.parquet (one row per month) and "
        "summary.json (plus outreach_cases.parquet, one row per case with its way in, when the scenario has "
        "outreach), and writes nothing if the run fails. The summary records the crisis_sim version and "
        "git commit (provenance). SCENARIO is a file or a built-in name (crisis-sim scenarios lists them). "
        "A scenario whose timeline launches a program or adds posts also gets a before/after view of the monthly "
        "series around the first such event (pre_post in the JSON; docs/events.md).",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file or built-in scenario name")
    add_run_options(p)
    p.add_argument("--replication", type=int, default=0, help="replication index (random streams; default 0)")
    p.add_argument(
        "--out", metavar="DIR", help="write ledger.parquet, timeseries.parquet and summary.json here"
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    scenario = load_for_run(args.scenario, args.days)
    result = simulate(scenario, args.replication, args.seed, count_events=True)[1]
    summary = {
        "scenario": scenario.name,
        "seed": args.seed,
        "replication": args.replication,
        **result.summary,
        "provenance": provenance(),
    }
    view = pre_post(result.timeseries, result.ledger, scenario)
    if view is not None:
        summary["pre_post"] = view
    if args.out:
        files = {
            "ledger.parquet": lambda p: result.ledger.to_parquet(p, index=False),
            "timeseries.parquet": lambda p: result.timeseries.to_parquet(p, index=False),
            "summary.json": lambda p: p.write_text(dumps(summary) + "\n"),
        }
        if not result.outreach.empty:  # one row per outreach case, with its source (issue 13, item 6)
            files["outreach_cases.parquet"] = lambda p: result.outreach.to_parquet(p, index=False)
        write_atomically(args.out, files)
    if args.json:
        print(json.dumps(jsonable(summary)))
    else:
        print(format_summary(summary, scenario.simulation.horizon_days - scenario.simulation.warmup_days))
        if view is not None:
            print("\n" + format_pre_post(view))
        if args.out:
            print(f"\nwrote {Path(args.out) / 'ledger.parquet'}, timeseries.parquet, summary.json")
    return 0


def _pct(x: object) -> str:
    return f"{100 * float(x):.1f}%" if x is not None else "n/a"


def _num(x: object, fmt: str = ",.0f") -> str:
    return format(float(x), fmt) if x is not None else "n/a"


def format_summary(s: dict, days: int) -> str:
    lines = [
        f"{s['scenario']}: {days} days counted (seed {s['seed']}, replication {s['replication']})",
        f"  calls {s['calls']:,}; mental-health calls {s['mh_calls']:,} ({_pct(s['mh_share'])}), "
        f"identified by dispatch {s['mh_identified']:,}",
        f"  response to MH calls: median {_num(s['median_response_min'], '.1f')} min, "
        f"p90 {_num(s['p90_response_min'], '.1f')} min",
        f"  arrests {s['arrests']:,} ({_pct(s['arrest_rate'])}); use of force {s['use_of_force']:,} "
        f"({_pct(s['force_rate'])}); injuries {s['injuries']:,}",
        f"  ED transports {s['ed_transports']:,} (involuntary holds {s['involuntary_holds']:,}, "
        f"{_pct(s['hold_rate'])}); resolved on scene {s['resolved_on_scene']:,}",
        f"  referrals {s['referrals']:,}; connected to services {s['connected_to_services']:,}; "
        f"people calling again within 90 days {s['repeat_callers_90d']:,}",
        f"  officer hours on MH calls {_num(s['officer_hours_mh'])}; officer hours waiting at the ED "
        f"{_num(s['ed_wait_hours'])}",
        f"  cost ${_num(s['cost_total'])} (police ${_num(s['cost_police'])}, ED ${_num(s['cost_ed'])}, "
        f"inpatient ${_num(s['cost_inpatient'])}, jail ${_num(s['cost_jail'])}, "
        f"programs ${_num(s['cost_programs'])})",
    ]
    if "line_contacts" in s:  # [channels.crisis_line] on: MH calls above count the line's contacts too
        lines.append(
            f"  crisis line: {s['line_contacts']:,} contacts (resolved by phone {s['line_resolved_by_phone']:,}, "
            f"mobile team sent {s['line_mobile_dispatches']:,}, transferred to 911 {s['line_transfers_911']:,}, "
            f"not answered {s['line_unanswered']:,}, line closed {s['line_closed']:,}); mean wait "
            f"{_num(s['line_wait_min_mean'], '.1f')} min; MH calls reaching 911 {s['mh_calls_911']:,}; "
            f"seats ${_num(s['cost_crisis_line'])} (in the total)"
        )
    if "outreach_community_referrals" in s:  # [programs.outreach.community_referrals] on: cases by way in
        cases, conn = s["outreach_cases_by_source"], s["outreach_connected_by_source"]
        made = s["outreach_community_referrals"]
        lines.append(
            "  outreach by way in (cases / connected to services): "
            + "; ".join(f"{k} {cases[k]:,}/{conn[k]:,}" for k in cases if cases[k] or conn[k])
            + f"; community referrals made: family {made['family']:,}, provider {made['provider']:,}"
        )
    if "crises_uncalled" in s:  # [population.trust_dynamics] on
        lines.append(
            f"  trust: crises nobody called in {s['crises_uncalled']:,}; mean trust at the end in police "
            f"{_num(s['trust_police_mean_end'], '.3f')}, in services {_num(s['trust_services_mean_end'], '.3f')} "
            f"(people with a coercive contact, {s['residents_coerced']:,}: police "
            f"{_num(s['trust_police_mean_end_coerced'], '.3f')}, services "
            f"{_num(s['trust_services_mean_end_coerced'], '.3f')})"
        )
    lines += [
        f"  simulated in {s['sim_wall_s']:.2f} s"
        + (f" ({s['events']:,} SimPy events)" if s.get("events") is not None else ""),
    ]
    if s.get("by_group"):  # [population.groups]: per 1,000 at-risk residents of each group, counted period
        lines.append("  by group, per 1,000 at-risk residents (MH calls / arrests / use of force / holds):")
        for attribute, table in s["by_group"].items():
            cells = [f"{cat} {_num(m['mh_calls_per_1000'])}/{_num(m['arrests_per_1000'], '.1f')}/"
                     f"{_num(m['use_of_force_per_1000'], '.1f')}/{_num(m['involuntary_holds_per_1000'])}"
                     for cat, m in table.items()]  # fmt: skip
            lines.append(f"    {attribute}: " + "; ".join(cells))
    return "\n".join(lines)
