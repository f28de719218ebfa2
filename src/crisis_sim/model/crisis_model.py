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
from array import array
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np
import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model import calls as C
from crisis_sim.model.agents import CommunityRelationsOfficer, Dispatcher, PatrolOfficer, Resident
from crisis_sim.model.clock import CountingEnvironment
from crisis_sim.model.context import ProgramHooks, TimelineHooks
from crisis_sim.model.destinations import DAY_MIN, EmergencyDepartment, Jail, Referral, Waitlist
from crisis_sim.model.dispositions import (
    ARREST,
    COERCIVE,
    INVOLUNTARY,
    PHONE,
    REFERRAL,
    REPORT,
    RESOLVED,
    VOLUNTARY,
    DispositionModel,
)
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.durations import scalar_sampler, vector_sampler
from crisis_sim.model.patrol import PatrolPool
from crisis_sim.model.profile import WeeklyProfile
from crisis_sim.model.shifts import daily_boundaries, run_boundaries
from crisis_sim.scenario.schema import SEVERITIES, Scenario

PRE_DRAWN_CRISES = 8  # latent rows drawn up front per resident; more come from per-resident substreams
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


class CoreModel(mesa.Model):
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
        self._build_police()
        self.crpos = [CommunityRelationsOfficer(self, d) for d in range(len(scenario.city.districts))]
        self.ed = EmergencyDepartment(self)
        self.jail = Jail(self)
        self.waitlist = Waitlist(self)
        self.waitlist.intake_listeners.append(self._intake)
        self.mh_scene = scalar_sampler(scenario.dispositions.mh_on_scene)
        self.travel = [scalar_sampler(d.travel_time) for d in scenario.city.districts]
        self._build_residents()
        self._start_other_calls()

        self.programs: list[ProgramHooks] = list(programs)  # in the registry's order (crisis_sim.programs)
        for program in self.programs:
            program.attach(self)
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
    # construction
    # ------------------------------------------------------------------------------------------------------
    def _build_police(self) -> None:
        sc = self.cfg
        shift_names = [s.name for s in sc.police.shifts]
        self.officers: list[PatrolOfficer] = []
        self.patrol: list[PatrolPool] = []
        for d, district in enumerate(sc.city.districts):
            roster = []
            for s, name in enumerate(shift_names):
                team = [
                    PatrolOfficer(self, d, s, sc.police.referral_awareness)
                    for _ in range(district.patrol_units[name])
                ]
                self.officers.extend(team)
                roster.append(team)
            self.patrol.append(PatrolPool(self.env, d, roster))

    def _build_residents(self) -> None:
        sc, pop = self.cfg, self.cfg.population
        n = round(sc.city.population * pop.at_risk_share) if sc.demand.mh_share > 0 else 0
        g = rngmod.stream(self.root_seed, self.replication, "population")
        u = g.random((n, 10))
        shares = np.array([d.population_share for d in sc.city.districts])
        district = np.minimum(np.searchsorted(np.cumsum(shares), u[:, 0], side="right"), len(shares) - 1)
        sev_cum = np.cumsum([getattr(pop.severity_mix, s) for s in SEVERITIES])
        severity = np.minimum(np.searchsorted(sev_cum, u[:, 1], side="right"), 2)
        substance = u[:, 2] < pop.substance_use_share
        unhoused = u[:, 3] < pop.unhoused_share
        frequent = u[:, 4] < pop.frequent_caller_share
        k = pop.trust_concentration
        from scipy.special import betaincinv  # local: only needed once per run

        trust_s = betaincinv(k * pop.trust_services_mean, k * (1 - pop.trust_services_mean), u[:, 5])
        trust_p = betaincinv(k * pop.trust_police_mean, k * (1 - pop.trust_police_mean), u[:, 6])
        engaged = u[:, 7] < pop.engaged_share
        mult = (
            np.array([pop.severity_hazard[s] for s in SEVERITIES])[severity]
            * np.where(substance, pop.substance_use_hazard, 1.0)
            * np.where(unhoused, pop.unhoused_hazard, 1.0)
            * np.where(frequent, pop.frequent_caller_hazard, 1.0)
        )
        # Distress: two-state process (stable <-> elevated), started from its stationary distribution.
        self.onset_per_min = pop.distress_onsets_per_year / (365.0 * DAY_MIN)
        self.recovery_per_min = 1.0 / (pop.distress_mean_days * DAY_MIN)
        p_elev = self.onset_per_min / (self.onset_per_min + self.recovery_per_min)
        elevated = u[:, 8] < p_elev
        # Scale the base hazard so that expected MH calls match demand.mh_share of police calls.
        target_per_min = (
            sc.city.population / 1000 * sc.demand.police_calls_per_1000_per_day * sc.demand.mh_share / DAY_MIN
        )
        mean_state = (1 - p_elev) + p_elev * pop.distress_hazard
        mean_eng = (1 - pop.engaged_share) + pop.engaged_share * pop.engaged_hazard_ratio
        self.base_rate = target_per_min / (mult.sum() * mean_state * mean_eng) if n else 0.0
        eng = pop.engaged_hazard_ratio
        self._state_mult = (
            (1.0, eng),
            (pop.distress_hazard, pop.distress_hazard * eng),
        )  # [elevated][engaged]

        self.mh_profile = WeeklyProfile(sc.demand.mh_hourly_profile, sc.demand.mh_weekday_profile)
        # Column 0: unit exponentials for successive crises; column 1: for successive distress sojourns. Each column
        # has its own cursor, so how many crises a resident has had never shifts their distress clock (CRN).
        self.crisis_clocks = PerEntityDraws(
            self.root_seed, self.replication, "crisis_clocks", n, 16, 2, exp=True
        )
        self.crisis_latents = PerEntityDraws(
            self.root_seed, self.replication, "crisis_latents", n, PRE_DRAWN_CRISES, C.N_LATENTS, exp=False
        )
        # math.log1p element by element, not np.log1p: the same bits on every CPU (see model/durations.py)
        eng_days = [-pop.engagement_mean_days * math.log1p(-x) for x in u[:, 9].tolist()]

        # Each resident has at most ONE pending clock event: the earliest of next crisis, distress flip and end of
        # engagement. Events due on a later day wait in that day's bucket and enter SimPy's queue when the day
        # starts, so the event heap holds one day of resident events (~100) rather than one per resident (~10^4),
        # which keeps every heappush/heappop of the whole model cheap. SimPy still runs every resident event.
        inf = math.inf
        self._t_crisis = [inf] * n  # next crisis (real minutes) at the current hazard
        self._t_flip = [inf] * n  # next distress flip
        self._t_eng_end = [inf] * n  # end of the current engagement spell
        self._t_pending = [inf] * n  # time of the resident's one pending clock event (inf: none)
        self._pending_ev: list[simpy.Event | None] = [None] * n  # that event, once it is in SimPy's queue
        self._pend_day = [-1] * n  # else the day bucket that holds it (-1: none)
        self._buckets: list[list[int]] = [[] for _ in range(sc.simulation.horizon_days + 1)]
        self._released_until = 0.0  # clock events before this time go straight to SimPy
        self._next_release_day = 0
        self.n_engaged = 0
        self._holding: Resident | None = None
        self._trust_police_sum = 0.0

        self.residents: list[Resident] = []
        district_l, severity_l = district.tolist(), severity.tolist()
        substance_l, unhoused_l, frequent_l = substance.tolist(), unhoused.tolist(), frequent.tolist()
        trust_s_l, trust_p_l, mult_l = trust_s.tolist(), trust_p.tolist(), mult.tolist()
        elevated_l, engaged_l, eng_days_l = elevated.tolist(), engaged.tolist(), eng_days
        for i in range(n):
            r = Resident(self, i, district_l[i], severity_l[i], substance_l[i], unhoused_l[i], frequent_l[i],
                         trust_s_l[i], trust_p_l[i], mult_l[i])  # fmt: skip
            r.elevated = elevated_l[i]
            self._trust_police_sum += r.trust_police
            self.residents.append(r)
            r.e_left = self.crisis_clocks.next_value(i, 0)
            self._t_flip[i] = self._sojourn(r)
            if engaged_l[i]:
                self.set_engaged(r, True, 0.0, eng_days_l[i] * DAY_MIN)
            else:
                self._set_rate(r, 0.0)
        self._release_clocks()

    # ------------------------------------------------------------------------------------------------------
    # residents: event-driven hazards
    # ------------------------------------------------------------------------------------------------------
    def crisis_rate(self, r: Resident) -> float:
        """Crisis hazard per operational minute: base x the person's static risk x distress x engagement."""
        state = self._state_mult[r.elevated][r.engaged]
        return self.base_rate * r.static_mult * state * self.mh_rate_factor[r.district]

    def _sojourn(self, r: Resident) -> float:
        """Time of the resident's next distress flip, from now, in the current distress state."""
        rate = self.recovery_per_min if r.elevated else self.onset_per_min
        return self.env.now + self.crisis_clocks.next_value(r.idx, 1) / rate

    def _set_rate(self, r: Resident, t_eff: float) -> None:
        """Recompute the resident's hazard from ``t_eff`` (not before its last change) and reschedule."""
        t_eff = max(t_eff, r.last_change)
        to_op = self.mh_profile.to_op
        op_eff = to_op(t_eff)
        if r.rate > 0:
            r.e_left = max(0.0, r.e_left - r.rate * (op_eff - r.last_op))
        r.last_op = op_eff
        r.last_change = t_eff
        rate = r.rate = self.crisis_rate(r)
        self._t_crisis[r.idx] = self.mh_profile.from_op(op_eff + r.e_left / rate) if rate > 0 else math.inf
        self._reschedule(r)

    def _reschedule(self, r: Resident) -> None:
        """Keep exactly one pending clock event for the resident, at its earliest transition."""
        i = r.idx
        t = min(self._t_crisis[i], self._t_flip[i], self._t_eng_end[i])
        now = self.env.now
        if t < now:
            t = now
        if t >= self.horizon_min:
            t = math.inf
        if r is self._holding or t == self._t_pending[i]:
            return  # being handled by _clock_due, or the pending event (or its absence) is already right
        r.clock_version += 1
        self._t_pending[i] = t
        self._pending_ev[i] = None  # an event already in SimPy's queue for this resident is now stale
        if t == math.inf:
            self._pend_day[i] = -1
        elif t < self._released_until:
            self._pend_day[i] = -1
            ev = self._pending_ev[i] = self.env.timeout(t - now, i)
            ev.callbacks.append(self._clock_due)
        else:
            day = int(t // DAY_MIN)
            if self._pend_day[i] != day:  # (an entry left in another day's bucket is skipped there)
                self._pend_day[i] = day
                self._buckets[day].append(i)

    def _release_clocks(self, _ev=None) -> None:
        """Start of a day: move the day's resident clock events into SimPy's queue; drop superseded ones."""
        day = self._next_release_day
        self._next_release_day = day + 1
        self._released_until = (day + 1) * DAY_MIN
        bucket, self._buckets[day] = self._buckets[day], []
        env, now, due = self.env, self.env.now, self._clock_due
        t_pending, pend_day, pending_ev = self._t_pending, self._pend_day, self._pending_ev
        for i in bucket:
            if pend_day[i] == day:  # still due that day, and not released yet
                pend_day[i] = -1
                ev = pending_ev[i] = env.timeout(t_pending[i] - now, i)
                ev.callbacks.append(due)
        if self._released_until < self.horizon_min:
            env.timeout(self._released_until - now).callbacks.append(self._release_clocks)

    def _clock_due(self, ev: simpy.Event) -> None:
        """The resident's pending event: end of engagement, distress flip and/or crisis, whichever are due."""
        i = ev.value
        if self._pending_ev[i] is not ev:
            return  # superseded by a reschedule
        self._pending_ev[i] = None
        r = self.residents[i]
        now = self.env.now
        self._t_pending[i] = math.inf
        self._holding = r  # one reschedule at the end, not one per transition handled here
        if self._t_eng_end[i] <= now:
            self._t_eng_end[i] = math.inf
            if r.engaged:
                self.set_engaged(r, False, now)
        if self._t_flip[i] <= now:
            r.distress_version += 1
            r.elevated = not r.elevated
            self._t_flip[i] = self._sojourn(r)
            self._set_rate(r, now)
        if self._t_crisis[i] <= now:
            r.e_left = self.crisis_clocks.next_value(i, 0)
            r.last_op = op = self.mh_profile.to_op(now)
            r.last_change = now
            r.crises += 1
            self._t_crisis[i] = self.mh_profile.from_op(op + r.e_left / r.rate)
            self.env.process(self._mh_call(self._new_mh_call(r)))
        self._holding = None
        self._reschedule(r)

    def set_engaged(
        self, r: Resident, engaged: bool, t_eff: float, duration_min: float | None = None
    ) -> None:
        """Start or end engagement in care (effective at ``t_eff``); programs call this too."""
        if engaged != r.engaged:
            self.n_engaged += 1 if engaged else -1
        r.engaged = engaged
        r.engagement_version += 1
        self._t_eng_end[r.idx] = t_eff + duration_min if engaged and duration_min is not None else math.inf
        self._set_rate(r, t_eff)

    def adjust_trust(self, r: Resident, police: float = 0.0, services: float = 0.0) -> None:
        """Change a resident's trust (clipped to [0, 1]); use this rather than writing the attributes, so the
        daily mean-trust reporter stays exact without scanning every resident."""
        if police:
            new = min(1.0, max(0.0, r.trust_police + police))
            self._trust_police_sum += new - r.trust_police
            r.trust_police = new
        if services:
            r.trust_services = min(1.0, max(0.0, r.trust_services + services))

    # ------------------------------------------------------------------------------------------------------
    # MH calls
    # ------------------------------------------------------------------------------------------------------
    def _new_mh_call(self, r: Resident) -> C.Call:
        lat = self.crisis_latents.next_row(r.idx)
        call = C.Call(self._next_call_id, r.idx, r.crises, r.district, self.env.now, lat)
        self._next_call_id += 1
        dsp = self.cfg.dispatch
        mix = dsp.risk_by_severity[SEVERITIES[r.severity]]
        u = lat[C.U_RISK]
        call.risk = 0 if u < mix.low else (1 if u < mix.low + mix.medium else 2)
        call.assessed_risk = self.dispatcher.assess_risk(call.risk, lat[C.U_RISK_ASSESS])
        call.identified = self.dispatcher.identify(lat[C.U_IDENTIFY])
        call.weapon = lat[C.U_WEAPON] < dsp.weapon_share
        call.substance_use = r.substance_use
        self.mh_calls.append(call)
        self.open_mh[call.call_id] = call
        return call

    def _mh_call(self, call: C.Call):
        for program in self.programs:
            if program.triage(call):
                call.disposition = PHONE
                call.responder = call.responder or program.key
                self._close(call)
                return
        handler = None
        for program in self.programs:
            handler = program.route(call)
            if handler is not None:
                break
        yield from (handler or self.patrol_response)(call)
        self._close(call)

    def patrol_response(self, call: C.Call, responder: str = "patrol"):
        """Police as usual: wait for a district unit, travel, on scene, disposition, hand-off."""
        pool = self.patrol[call.district]
        officer = pool.take_idle()
        if officer is None:
            officer = yield pool.request()
        yield from self.attend_with_officer(call, officer, responder)

    def attend_with_officer(self, call: C.Call, officer: PatrolOfficer, responder: str):
        """Travel, on scene and hand-off with a patrol officer already assigned; the officer is released."""
        env = self.env
        call.t_dispatched = env.now
        call.unit = officer.unique_id
        call.responder = responder
        lat = call.latents
        travel = self.travel[call.district](lat[C.U_TRAVEL])
        call.t_arrived = env.now + travel
        yield env.timeout(travel + self.mh_scene(lat[C.U_SCENE]))
        self.resolve_on_scene(call, responder)
        yield from self.handoff(call)
        busy = env.now - call.t_dispatched
        call.officer_min += busy * self.cfg.police.officers_per_unit
        self.patrol[officer.district].release(officer, busy)

    def resolve_on_scene(self, call: C.Call, responder: str) -> None:
        """Exactly one disposition, plus force and injuries, for the responder type that attended."""
        lat = call.latents
        dm = self.dispositions
        disp = dm.draw(responder, call.risk, call.substance_use, call.identified, lat[C.U_DISPOSITION])
        call.disposition = disp
        cfg = self.cfg.dispositions
        call.force = lat[C.U_FORCE] < dm.force_probability(responder, call.risk, disp, call.weapon)
        if call.force:
            call.subject_injury = lat[C.U_SUBJECT_INJURY] < cfg.subject_injury_given_force
            call.officer_injury = lat[C.U_OFFICER_INJURY] < cfg.officer_injury_given_force

    def handoff(self, call: C.Call):
        """Transport to a destination (a program's, else the ED) or book an arrest; the unit waits throughout."""
        env = self.env
        lat = call.latents
        if call.disposition in (VOLUNTARY, INVOLUNTARY):
            yield env.timeout(self.travel[call.district](lat[C.U_TRANSPORT]))
            for program in self.programs:
                gen = program.handoff(call)
                if gen is not None:
                    call.destination = program.key
                    yield from gen
                    return
            call.destination = "ed"
            req, assess = self.ed.admit(lat[C.U_ED_ASSESS])
            t0 = env.now
            yield req
            call.ed_wait = env.now - t0
            self.ed.start_assessment(req, assess)
            yield env.timeout(self.ed.handover(0.5))
        elif call.disposition == ARREST:
            call.destination = "jail"
            with self.jail.slots.request() as req:
                yield req
                yield env.timeout(self.jail.booking(lat[C.U_BOOKING]))

    def _close(self, call: C.Call) -> None:
        """Encounter over: consequences for the person, referrals, follow-up, counters."""
        self.open_mh.pop(call.call_id, None)
        call.t_cleared = self.env.now
        r = self.residents[call.resident]
        lat = call.latents
        cfg = self.cfg.dispositions
        disp = call.disposition
        if disp in COERCIVE or call.force:
            loss = cfg.coercion_trust_loss
            self.adjust_trust(r, police=-loss, services=-loss / 2 if disp == INVOLUNTARY else 0.0)
            if r.engaged and lat[C.U_DISENGAGE] < cfg.coercion_disengage:
                self.set_engaged(r, False, call.t_received)
        if disp == INVOLUNTARY:
            call.admitted = lat[C.U_ADMIT] < cfg.hold_admission_share
        cs = self.cfg.destinations.community_services
        if disp == REFERRAL or (
            disp in (VOLUNTARY, INVOLUNTARY) and lat[C.U_DISCHARGE_REFERRAL] < cs.ed_discharge_referral_share
        ):
            self.refer(call, priority=1, source="encounter")
        for program in self.programs:
            program.after_disposition(call)
        self._count(call)

    def refer(self, call: C.Call, priority: int, source: str) -> bool:
        """Put the person on the services waitlist unless already waiting or engaged."""
        r = self.residents[call.resident]
        if r.waitlisted or r.engaged:
            return False
        r.waitlisted = True
        call.referred = True
        lag = self.waitlist.lag_min
        self.waitlist.refer(
            Referral(r.idx, call.crisis, call.call_id, call.t_received + lag, priority, source, call.latents)
        )
        return True

    def _intake(self, ref: Referral) -> None:
        r = self.residents[ref.resident]
        r.waitlisted = False
        for program in self.programs:
            program.at_intake(ref)
        lat = ref.latents
        pop = self.cfg.population
        cs = self.cfg.destinations.community_services
        p_attend = min(
            1.0, cs.attendance_at_mean_trust * r.trust_services / max(pop.trust_services_mean, 1e-9)
        )
        if lat[C.U_ATTEND] < p_attend:
            ref.attended = True
            self.counters["connected_to_services"] += 1
            duration = -pop.engagement_mean_days * DAY_MIN * math.log1p(-min(lat[C.U_ENGAGEMENT], 1 - 1e-12))
            self.set_engaged(r, True, self.env.now, duration)

    def _count(self, call: C.Call) -> None:
        c = self.counters
        c["calls"] += 1
        c["mh_calls"] += 1
        c["mh_identified"] += call.identified
        disp = call.disposition
        if disp == ARREST:
            c["arrests"] += 1
        elif disp == INVOLUNTARY:
            c["involuntary_holds"] += 1
        elif disp == RESOLVED:
            c["resolved_on_scene"] += 1
        elif disp == REPORT:
            c["reports"] += 1
        elif disp == PHONE:
            c["phone_resolved"] += 1
        c["ed_transports"] += call.destination == "ed"
        c["referrals"] += call.referred
        c["use_of_force"] += call.force
        c["injuries"] += call.subject_injury + call.officer_injury

    # ------------------------------------------------------------------------------------------------------
    # other police calls: the competing workload, on callbacks (the hot path)
    # ------------------------------------------------------------------------------------------------------
    def _start_other_calls(self) -> None:
        sc = self.cfg
        # Columns indexed by the call's position in the non-MH stream, extended a chunk at a time ahead of the
        # arrivals (flat arrays: no object per call, nothing for the garbage collector to walk). Only the first
        # ``_oc_n`` entries have arrived.
        self._oc_n = 0
        self._oc_id = array("q")  # call id (-1 until the call arrives)
        self._oc_district = array("q")
        self._oc_t = array("d")  # planned arrival; the actual arrival time once it has arrived
        self._oc_travel = array("d")
        self._oc_service = array("d")  # travel + on scene
        self._oc_dispatched = array("d")
        self._oc_cleared = array("d")
        self._oc_unit: list[PatrolOfficer | None] = []
        # Demand events on non-MH calls (crisis_sim.scenario.timeline, ``non_mh = true``) change the rate by a time change:
        # the pre-drawn stream's cumulative operational times D_k stay the same and call k arrives when the
        # scaled clock D(t) = D_c + (op(t) - op_c) x factor reaches D_k, so every call keeps its draws (district,
        # travel, on scene) and every call before the change keeps its time. None: factor 1 since the start.
        self._oc_map: tuple[float, float, float] | None = None  # (D_c, op_c, factor) from the last change
        self._oc_chunk_start = 0  # index of the last pre-drawn chunk's first call, and its D values
        self._oc_chunk_ops: np.ndarray | None = None
        self._oc_next_ev: simpy.Event | None = None  # the pending arrival event (re-timed at a change)
        self.other_rate = (
            sc.city.population
            / 1000
            * sc.demand.police_calls_per_1000_per_day
            * (1 - sc.demand.mh_share)
            / DAY_MIN
        )
        if self.other_rate <= 0:
            return
        self._other_rng = rngmod.stream(self.root_seed, self.replication, "other_calls")
        self._other_profile = WeeklyProfile(sc.demand.other_hourly_profile, sc.demand.other_weekday_profile)
        self._other_scene = vector_sampler(sc.demand.other_on_scene)
        self._other_travel = [vector_sampler(d.travel_time) for d in sc.city.districts]
        self._other_cum_share = np.cumsum([d.population_share for d in sc.city.districts])
        self._other_op = 0.0
        self._refill_other()
        ev = self._oc_next_ev = self.env.timeout(self._oc_t[0])
        ev.callbacks.append(self._other_arrival)

    def _refill_other(self, n: int = 8192) -> None:
        g = self._other_rng
        gaps = g.standard_exponential(n) / self.other_rate
        ops = self._other_op + np.cumsum(gaps)
        self._other_op = float(ops[-1])
        self._oc_chunk_start = len(self._oc_t)
        self._oc_chunk_ops = ops
        if (
            self._oc_map is not None
        ):  # a demand event changed the rate: map the scaled clock to operational time
            d_c, op_c, factor = self._oc_map
            ops = op_c + (ops - d_c) / factor
        u = g.random((n, 3))
        district = np.minimum(
            np.searchsorted(self._other_cum_share, u[:, 0], side="right"), len(self._other_travel) - 1
        )
        travel = np.zeros(n)
        for d, sampler in enumerate(self._other_travel):
            mask = district == d
            travel[mask] = sampler(u[mask, 1])
        self._oc_t.frombytes(self._other_profile.from_op_many(ops).astype(np.float64).tobytes())
        self._oc_district.frombytes(district.astype(np.int64).tobytes())
        self._oc_travel.frombytes(travel.tobytes())
        self._oc_service.frombytes((travel + self._other_scene(u[:, 2])).astype(np.float64).tobytes())
        self._oc_id.frombytes(np.full(n, -1, np.int64).tobytes())
        nan = np.full(n, np.nan).tobytes()
        self._oc_dispatched.frombytes(nan)
        self._oc_cleared.frombytes(nan)
        self._oc_unit.extend([None] * n)

    def _other_arrival(self, _ev) -> None:
        k = self._oc_n
        self._oc_n = k + 1
        env = self.env
        now = env.now
        self._oc_t[k] = now
        self._oc_id[k] = self._next_call_id
        self._next_call_id += 1
        pool = self.patrol[self._oc_district[k]]
        officer = pool.take_idle()
        if officer is None:  # wait in the district's queue
            pool.request().callbacks.append(partial(self._other_dispatched, k))
        else:  # dispatched at once: the next event of this call is its end
            self._oc_unit[k] = officer
            self._oc_dispatched[k] = now
            env.timeout(self._oc_service[k], k).callbacks.append(self._other_done)
        k += 1
        if k == len(self._oc_t):
            self._refill_other()
        ev = self._oc_next_ev = env.timeout(self._oc_t[k] - now)
        ev.callbacks.append(self._other_arrival)

    def set_mh_rate_factors(self, factors: dict[int, float]) -> None:
        """MH crises in district ``d`` arrive at ``factors[d]`` x the base hazard from now (demand events): the
        residents of every district whose factor changed get their crisis clock re-rated at the current time."""
        changed = set()
        for d, new in factors.items():
            if new != self.mh_rate_factor[d]:
                self.mh_rate_factor[d] = new
                changed.add(d)
        if changed:
            now = self.env.now
            for r in self.residents:
                if r.district in changed:
                    self._set_rate(r, now)

    def set_other_rate_factor(self, factor: float) -> None:
        """Non-MH calls arrive at ``factor`` x the base rate from now (timeline demand events with ``non_mh``).

        A time change of the pre-drawn stream (see ``_oc_map``): the calls not yet arrived are re-timed, none is
        added, dropped or redrawn, and nothing is drawn, so runs stay paired by call index."""
        if self.other_rate <= 0 or self._oc_next_ev is None:
            return
        d_c, op_c, old = self._oc_map or (0.0, 0.0, 1.0)
        if factor == old:
            return
        env = self.env
        now = env.now
        op_now = self._other_profile.to_op(now)
        d_now = d_c + (op_now - op_c) * old
        self._oc_map = (d_now, op_now, factor)
        k = self._oc_n  # first call not yet arrived; all of them are in the last chunk
        raw = self._oc_chunk_ops[k - self._oc_chunk_start :]
        t = np.maximum(self._other_profile.from_op_many(op_now + (raw - d_now) / factor), now)
        self._oc_t[k:] = array("d", t.astype(np.float64).tobytes())
        self._oc_next_ev.callbacks.remove(self._other_arrival)
        ev = self._oc_next_ev = env.timeout(self._oc_t[k] - now)
        ev.callbacks.append(self._other_arrival)

    def _other_dispatched(self, k: int, ev) -> None:
        self._oc_unit[k] = ev.value
        self._oc_dispatched[k] = self.env.now
        self.env.timeout(self._oc_service[k], k).callbacks.append(self._other_done)

    def _other_done(self, ev) -> None:
        k = ev.value
        now = self.env.now
        self._oc_cleared[k] = now
        self.counters["calls"] += 1
        self.patrol[self._oc_district[k]].release(self._oc_unit[k], now - self._oc_dispatched[k])

    def other_call_columns(self) -> dict[str, np.ndarray]:
        """The non-MH calls that have arrived, as arrays (times in minutes; ``unit`` -1 while undispatched)."""
        n = self._oc_n
        dispatched = np.frombuffer(self._oc_dispatched, np.float64)[:n].copy()
        return {
            "call_id": np.frombuffer(self._oc_id, np.int64)[:n].copy(),
            "district": np.frombuffer(self._oc_district, np.int64)[:n].copy(),
            "t_received": np.frombuffer(self._oc_t, np.float64)[:n].copy(),
            "t_dispatched": dispatched,
            "t_arrived": dispatched + np.frombuffer(self._oc_travel, np.float64)[:n],
            "t_cleared": np.frombuffer(self._oc_cleared, np.float64)[:n].copy(),
            "unit": np.fromiter((-1 if o is None else o.unique_id for o in self._oc_unit[:n]), np.int64, n),
        }

    @property
    def other_calls(self) -> list[list]:
        """Non-MH calls as rows [call_id, district, t_received, t_dispatched, t_arrived, t_cleared, unit] (slow:
        for inspection; the ledger reads :meth:`other_call_columns`)."""
        cols = self.other_call_columns()
        return [list(row) for row in zip(*(cols[k].tolist() for k in cols), strict=True)]

    # ------------------------------------------------------------------------------------------------------
    # shifts and stepping
    # ------------------------------------------------------------------------------------------------------
    def _shifts(self):
        """Start and end shifts at their hours, every day, in every district."""
        windows = [
            (round(sh.start_hour * 60) % DAY_MIN, round(sh.hours * 60)) for sh in self.cfg.police.shifts
        ]
        on_at_start, boundaries = daily_boundaries(windows)
        for s in on_at_start:
            for pool in self.patrol:
                pool.start_shift(s)
        if boundaries:
            yield from run_boundaries(self.env, boundaries, self._shift_boundary)

    def _shift_boundary(self, s: int, is_start: bool) -> None:
        for pool in self.patrol:
            (pool.start_shift if is_start else pool.end_shift)(s)

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

    @property
    def events_processed(self) -> int | None:
        """SimPy events processed so far, when the model was built with ``count_events=True`` (else None)."""
        return getattr(self.env, "processed", None)


_AWARENESS = operator.attrgetter("awareness")


def _counter(model: CoreModel, name: str) -> int:
    return model.counters[name]
