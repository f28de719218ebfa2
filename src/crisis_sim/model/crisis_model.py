"""CoreModel: a Mesa model that owns a SimPy environment (one clock, in minutes) and records every call.

``step()`` advances the SimPy clock by one day and collects the daily counters with Mesa's DataCollector, so Mesa's
stepping and visualisation work while SimPy's event queue does the simulation. Everything random comes from named
streams keyed by (replication, stream), never by the scenario (see ``crisis_sim.rng``).
"""

from __future__ import annotations

import math
import operator
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np
import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model import calls as C
from crisis_sim.model.agents import CommunityRelationsOfficer, Dispatcher
from crisis_sim.model.case_mix import CaseMix
from crisis_sim.model.clock import CountingEnvironment
from crisis_sim.model.context import ProgramHooks, TimelineHooks
from crisis_sim.model.crisis_line import CrisisLine
from crisis_sim.model.destinations import DAY_MIN, EmergencyDepartment, Jail, Waitlist
from crisis_sim.model.dispositions import (
    DispositionModel,
)
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.model.encounter import Encounters
from crisis_sim.model.groups import build_groups
from crisis_sim.model.health import HealthDraws, HealthSystem, self_presented_per_day
from crisis_sim.model.other_calls import OtherCalls
from crisis_sim.model.places import Places
from crisis_sim.model.residents import ResidentClocks
from crisis_sim.model.scene_consult import SceneConsult
from crisis_sim.model.staffing import Staffing
from crisis_sim.model.trust import TrustDynamics
from crisis_sim.scenario.schema import Scenario

COUNTERS = (
    "calls", "mh_calls", "mh_identified", "arrests", "use_of_force", "injuries", "ed_transports",
    "involuntary_holds", "resolved_on_scene", "reports", "referrals", "connected_to_services", "phone_resolved",
)  # fmt: skip


def resolve_scenario(scenario: Scenario | str | os.PathLike | None) -> Scenario:
    """A :class:`Scenario` as given, or loaded from a file path or a built-in name (None: ``small_district``)."""
    if scenario is None or isinstance(scenario, str | os.PathLike):
        from crisis_sim.scenario.loader import load_scenario

        return load_scenario("small_district" if scenario is None else scenario)
    return scenario


def resolve_root_seed(root_seed: int | None, rng: int | None, seed: int | None) -> int:
    """The root seed, given once as ``root_seed`` or Mesa's way as ``rng=``/``seed=`` (an integer; default 0)."""
    given = [v for v in (root_seed, rng, seed) if v is not None]
    if len(given) > 1:
        raise TypeError("give the root seed once: root_seed, rng or seed")
    root = given[0] if given else 0
    if isinstance(root, bool) or not isinstance(root, int | np.integer):
        raise TypeError(f"the root seed (rng/seed) must be an integer, found {type(root).__name__}")
    return int(root)


class _NoTimeline:
    """Stands in for a run without a timeline (:mod:`crisis_sim.timeline` attaches the real one)."""

    def reporters(self) -> dict[str, Any]:
        return {}

    def summary(self) -> dict[str, Any]:
        return {}


class CoreModel(ResidentClocks, Encounters, OtherCalls, Staffing, mesa.Model):
    """The mechanisms of a city's police and mental-health crisis system under one scenario, replication and root
    seed, with the programs and the timeline it is given (:class:`crisis_sim.sim.CrisisModel` assembles them from
    the scenario). Programs and timeline effects see it only through :class:`crisis_sim.model.context.ModelContext`.
    """

    def __init__(
        self,
        scenario: Scenario | str | None = None,
        replication: int = 0,
        root_seed: int | None = None,
        *,
        programs: Sequence[ProgramHooks] = (),
        timeline: Callable[[CoreModel], TimelineHooks] | None = None,
        rng: int | None = None,
        seed: int | None = None,
        count_events: bool = False,
    ):
        scenario = resolve_scenario(scenario)
        root_seed = resolve_root_seed(root_seed, rng, seed)
        super().__init__(rng=rngmod.stream(root_seed, replication, "staff"))
        self.cfg = scenario  # (Mesa reserves `scenario` for its own Scenario class)
        self.replication = replication
        self.root_seed = root_seed
        self.env = CountingEnvironment() if count_events else simpy.Environment()
        self.horizon_min = scenario.simulation.horizon_days * DAY_MIN
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.mh_rate_factor = [1.0] * len(scenario.city.districts)  # MH demand multiplier (timeline events)
        self.mh_calls: list[C.Call] = []
        self._next_call_id = 0
        self.open_mh: dict[int, C.Call] = {}
        self.wall_s = 0.0

        self.dispositions = DispositionModel(scenario.dispositions)
        self.dispatcher = Dispatcher(
            self, scenario.dispatch.mh_identification, scenario.dispatch.risk_assessment_accuracy
        )
        cm = scenario.dispatch.case_mix_by_time
        self.case_mix = CaseMix(cm) if cm.enabled else None
        self._build_police()
        self.crpos = [CommunityRelationsOfficer(self, d) for d in range(len(scenario.city.districts))]
        self.ed = EmergencyDepartment(self, self_presented_per_day(self))
        self.jail = Jail(self)
        self.waitlist = Waitlist(self)
        self.waitlist.intake_listeners.append(self._intake)
        hp = scenario.destinations.health_pathway
        self.health = HealthSystem(self) if hp.enabled else None  # EMS, self-presented ED, inpatient stays
        self._health_draws: HealthDraws | None = None  # the ``health`` stream's rows, built on first use
        self.places = Places(self) if Places.enabled(self) else None  # sobering centre, respite beds
        cl = scenario.channels.crisis_line
        self.crisis_line = CrisisLine(self) if cl.enabled else None  # 988/crisis line: a way in besides 911
        self._channel_draws: PerEntityDraws | None = None  # the ``channels`` stream's rows, built on first use
        consult = scenario.channels.scene_consult
        self.scene_consult = SceneConsult(self) if consult.enabled else None  # officers phone a clinician
        self.mh_scene = scalar_sampler(scenario.dispositions.mh_on_scene)
        self.travel = [scalar_sampler(d.travel_time) for d in scenario.city.districts]
        self._build_residents()
        td = scenario.population.trust_dynamics  # trust that moves and matters (after the residents' trust draws)
        self.trust = TrustDynamics(self) if td.enabled else None
        # residents' group attributes ([population.groups]; None when off: nothing drawn)
        self.groups = build_groups(scenario.population.groups, self.residents, root_seed, replication)
        self._start_other_calls()

        self.programs: list[ProgramHooks] = list(programs)  # in the registry's order (crisis_sim.programs)
        for program in self.programs:
            program.attach(self)
        # programs that take requests from the scene (a team asked for by the officers); empty unless switched on
        self.scene_requesters = [p for p in self.programs if p.takes_scene_requests()]
        self.env.process(self._shifts())
        # dated events (crisis_sim.timeline); an empty timeline schedules nothing
        self.timeline: TimelineHooks = _NoTimeline() if timeline is None else timeline(self)

        reporters = {name: partial(_counter, name=name) for name in COUNTERS}
        reporters.update(
            engaged=lambda m: m.n_engaged,  # running counts: reporters never scan the residents
            waitlist_length=lambda m: m.waitlist.length,
            patrol_on_duty=lambda m: sum(p.on_duty for p in m.patrol),
            mean_trust_police=lambda m: m._trust_police_sum / len(m.residents) if m.residents else 0.0,
            officer_awareness=lambda m: (
                math.fsum(map(_AWARENESS, m.officers)) / len(m.officers) if m.officers else 0.0
            ),
        )
        for program in self.programs:
            reporters.update(program.reporters())
        reporters.update(self.timeline.reporters())
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------------------------------
    # stepping (the mechanisms are in the parts this class is built from)
    # ------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one simulated day and record the day's counters."""
        until = min(self.steps * DAY_MIN, self.horizon_min)
        if until > self.env.now:
            self.env.run(until=until)
        self.datacollector.collect(self)
        if until >= self.horizon_min:
            self.running = False

    def run(self) -> CoreModel:
        """Simulate the whole horizon."""
        t0 = time.perf_counter()
        while self.running:
            self.step()
        self.wall_s = time.perf_counter() - t0
        return self

    def health_uniforms(self, resident: int, crisis: int) -> list[float]:
        """The ``health`` stream's row for the resident's ``crisis``-th crisis (columns: model/health.py)."""
        draws = self._health_draws
        if draws is None:
            draws = self._health_draws = HealthDraws(self)
        return draws.row(resident, crisis)

    @property
    def events_processed(self) -> int | None:
        """SimPy events processed so far, when the model was built with ``count_events=True`` (else None)."""
        return getattr(self.env, "processed", None)


_AWARENESS = operator.attrgetter("awareness")


def _counter(model: CoreModel, name: str) -> int:
    return model.counters[name]
