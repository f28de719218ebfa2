"""The assembler: scenario → model + programs + timeline → records → ledger, series and summary.

:class:`CrisisModel` is the model a scenario describes, with its enabled programs (:mod:`crisis_sim.programs`) and its
timeline (:mod:`crisis_sim.timeline`) attached to the core mechanisms (:mod:`crisis_sim.model`). :func:`run_single` is
the pure unit of work for every executor.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pandas as pd

from crisis_sim.model.crisis_model import COUNTERS, CoreModel, resolve_scenario
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.outcomes import build_ledger, build_referrals, monthly, summarize
from crisis_sim.outcomes.groups import add_group_columns, by_group
from crisis_sim.outcomes.program_metrics import monthly_program_series
from crisis_sim.outcomes.series_columns import add_cost_series, add_response_series, add_series_columns
from crisis_sim.programs import build_programs, series_defaults
from crisis_sim.scenario.schema import Scenario
from crisis_sim.timeline.runtime import attach_timeline


class CrisisModel(CoreModel):
    """A city's police and mental-health crisis system as a scenario describes it: the core mechanisms with the
    scenario's enabled programs and its timeline attached. A Mesa model: ``step()`` advances one day.

    ``scenario`` is a :class:`Scenario`, a scenario file's path or a built-in scenario's name (default:
    ``small_district``). The root seed may be given Mesa's way, ``rng=`` or ``seed=`` (an integer), so
    ``mesa.batch_run(CrisisModel, {"scenario": ["small_district"]}, rng=[0, 1], max_steps=30)`` runs it.
    """

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike | None = None,
        replication: int = 0,
        root_seed: int | None = None,
        *,
        rng: int | None = None,
        seed: int | None = None,
        count_events: bool = False,
    ):
        scenario = resolve_scenario(scenario)
        super().__init__(
            scenario, replication, root_seed, programs=build_programs(scenario), timeline=attach_timeline,
            rng=rng, seed=seed, count_events=count_events,
        )  # fmt: skip


@dataclass
class RunResult:
    """Everything one replication produced; picklable, so it can cross process and Dask boundaries."""

    scenario_name: str
    replication: int
    root_seed: int
    summary: dict[str, object]
    ledger: pd.DataFrame
    timeseries: pd.DataFrame
    referrals: pd.DataFrame = field(default_factory=pd.DataFrame)
    health: pd.DataFrame = field(default_factory=pd.DataFrame)  # health-pathway events (empty when it is off)
    line: pd.DataFrame = field(default_factory=pd.DataFrame)  # crisis-line contacts (empty when it is off)
    outreach: pd.DataFrame = field(default_factory=pd.DataFrame)  # outreach cases and their way in (empty: no outreach)


def simulate(
    scenario: Scenario, replication: int = 0, root_seed: int = 0, count_events: bool = False
) -> tuple[CrisisModel, RunResult]:
    """Run the model and return it with its results (the model is for inspection; it is not picklable).

    ``count_events`` counts SimPy's events into ``summary["events"]`` (else None); it slows the event loop."""
    t0 = time.perf_counter()
    model = CrisisModel(scenario, replication=replication, root_seed=root_seed, count_events=count_events).run()
    ledger = build_ledger(model)
    referrals = build_referrals(model)
    summary = summarize(ledger, referrals, scenario)
    if model.groups is not None:  # [population.groups]: group columns and by_group (absent when off)
        ledger = add_group_columns(ledger, model.groups)
        summary["by_group"] = by_group(ledger, model.groups)
    costs: dict[str, float] = {}
    utilisation: dict[str, float] = {}
    for program in model.programs:
        extra = dict(program.summary())
        costs[program.key] = float(extra.pop("cost", 0.0))
        if "staff_utilisation" in extra:
            utilisation[program.key] = float(extra.pop("staff_utilisation"))
        summary.update(extra)
    switch_costs = 0.0  # costs of the mechanisms' switches (EMS, places, crisis line, consults): monthly series below
    health = pd.DataFrame()
    if model.health is not None:  # [destinations.health_pathway]: its counts and its costs join the total
        extra_h = model.health.summary(scenario.simulation.warmup_days * DAY_MIN)
        summary.update(extra_h)
        switch_costs += extra_h["cost_ems"] + extra_h["cost_self_presented"]
        health = pd.DataFrame(model.health.frame_columns())
    if model.places is not None:  # [destinations.sobering] / [destinations.respite]: counts and bed costs
        extra_p = model.places.summary()
        summary.update(extra_p)
        switch_costs += extra_p["cost_places"]
    line = pd.DataFrame()
    if model.crisis_line is not None:  # [channels.crisis_line]: its counts and its seats' cost join the total
        extra_l = model.crisis_line.summary()
        summary.update(extra_l)
        switch_costs += extra_l["cost_crisis_line"]
        counted = ledger["mh"] & ~ledger["in_warmup"]
        summary["mh_calls_911"] = int((counted & (ledger["channel"] != "988")).sum())  # MH calls that reached 911
        line = pd.DataFrame(model.crisis_line.frame_columns())
    if model.scene_consult is not None:  # [channels.scene_consult]: consults and the seats' cost
        extra_c = model.scene_consult.summary()
        summary.update(extra_c)
        switch_costs += extra_c["cost_scene_consult"]
    if model.trust is not None:  # [population.trust_dynamics]: uncalled crises and trust at the end
        summary.update(model.trust.summary())
    summary["cost_total"] = float(summary["cost_total"]) + switch_costs
    summary["program_cost"] = costs
    summary["program_staff_utilisation"] = utilisation
    summary["cost_programs"] = sum(costs.values())
    summary["cost_total"] = float(summary["cost_total"]) + summary["cost_programs"]
    summary["patrol_utilisation"] = [round(p.utilisation(), 6) for p in model.patrol]
    summary.update(model.timeline.summary())  # operational days, suspensions, fired events, staff in post
    summary["events"] = model.events_processed
    summary["sim_wall_s"] = model.wall_s
    summary["wall_s"] = time.perf_counter() - t0
    cumulative = tuple(COUNTERS) + tuple(name for p in model.programs for name in p.cumulative())
    daily = model.datacollector.get_model_vars_dataframe()
    series = monthly(daily, scenario.simulation.month_days, cumulative)
    series = add_series_columns(series, ledger)  # columns every run has (repeat_calls, outreach_* zeros)
    series = add_response_series(series, ledger)  # monthly median / p90 response minutes (MH, other calls)
    if len(series):
        per_month = monthly_program_series(ledger, referrals, scenario.simulation.month_days, series["month"])
        series = series.merge(per_month, on="month", how="left")
        for name, zero in series_defaults().items():  # program reporters, zero where the program is off
            if name not in series:
                series[name] = zero
    series = add_cost_series(series, daily, ledger, scenario, costs, switch_costs)  # monthly costs (discounting)
    outreach = pd.DataFrame()
    for program in model.programs:
        cases = program.case_columns()  # outreach: one row per case with its source (issue 13, item 6)
        if cases is not None:
            outreach = pd.DataFrame(cases)
    result = RunResult(scenario.name, replication, root_seed, summary, ledger, series, referrals, health, line,
                       outreach)  # fmt: skip
    return model, result


def run_single(scenario: Scenario, replication: int, root_seed: int) -> RunResult:
    """Pure function of (scenario, replication, root seed): the same inputs give the same ledger, bit for bit."""
    return simulate(scenario, replication, root_seed)[1]
