"""CrisisModel: a Mesa model that owns a SimPy environment (one clock, in minutes) and records every call.

``step()`` advances the SimPy clock by one day and collects the daily counters with Mesa's DataCollector, so Mesa's
stepping and visualisation work while SimPy's event queue does the simulation. Everything random comes from named
streams keyed by (replication, stream), never by the scenario (see ``crisis_sim.rng``).
"""

from __future__ import annotations

import math
import time
from functools import partial

import mesa
import numpy as np
import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model import calls as C
from crisis_sim.model.agents import CommunityRelationsOfficer, Dispatcher, PatrolOfficer, Resident
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
from crisis_sim.programs import Program, build_programs
from crisis_sim.scenario.schema import SEVERITIES, Scenario

PRE_DRAWN_CRISES = 8  # latent rows drawn up front per resident; more come from per-resident substreams
COUNTERS = (
    "calls", "mh_calls", "mh_identified", "arrests", "use_of_force", "injuries", "ed_transports",
    "involuntary_holds", "resolved_on_scene", "reports", "referrals", "connected_to_services", "phone_resolved",
)  # fmt: skip


class CrisisModel(mesa.Model):
    """A city's police and mental-health crisis system under one scenario, replication and root seed."""

    def __init__(self, scenario: Scenario, replication: int = 0, root_seed: int = 0,
                 programs: list[Program] | None = None):  # fmt: skip
        super().__init__(rng=rngmod.stream(root_seed, replication, "staff"))
        self.cfg = scenario  # (Mesa reserves `scenario` for its own Scenario class)
        self.replication = replication
        self.root_seed = root_seed
        self.env = simpy.Environment()
        self.horizon_min = scenario.simulation.horizon_days * DAY_MIN
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.mh_calls: list[C.Call] = []
        self.other_calls: list[list] = []  # [call_id, district, t_received, t_dispatched, t_arrived, t_cleared, unit]
        self._next_call_id = 0
        self.open_mh: dict[int, C.Call] = {}
        self.wall_s = 0.0

        self.dispositions = DispositionModel(scenario.dispositions)
        self.dispatcher = Dispatcher(self, scenario.dispatch.mh_identification, scenario.dispatch.risk_assessment_accuracy)
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

        self.programs: list[Program] = build_programs(scenario) if programs is None else programs
        for program in self.programs:
            program.attach(self)
        self.env.process(self._shifts())

        reporters = {name: partial(_counter, name=name) for name in COUNTERS}
        reporters.update(
            engaged=lambda m: sum(1 for r in m.residents if r.engaged),
            waitlist_length=lambda m: m.waitlist.length,
            patrol_on_duty=lambda m: sum(p.on_duty for p in m.patrol),
            mean_trust_police=lambda m: float(np.mean([r.trust_police for r in m.residents])) if m.residents else 0.0,
            officer_awareness=lambda m: float(np.mean([o.awareness for o in m.officers])) if m.officers else 0.0,
        )
        for program in self.programs:
            reporters.update(program.reporters())
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
                team = [PatrolOfficer(self, d, s, sc.police.referral_awareness) for _ in range(district.patrol_units[name])]
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
        target_per_min = sc.city.population / 1000 * sc.demand.police_calls_per_1000_per_day * sc.demand.mh_share / DAY_MIN
        mean_state = (1 - p_elev) + p_elev * pop.distress_hazard
        mean_eng = (1 - pop.engaged_share) + pop.engaged_share * pop.engaged_hazard_ratio
        self.base_rate = target_per_min / (mult.sum() * mean_state * mean_eng) if n else 0.0

        self.mh_profile = WeeklyProfile(sc.demand.mh_hourly_profile, sc.demand.mh_weekday_profile)
        self.crisis_clocks = PerEntityDraws(self.root_seed, self.replication, "crisis_clocks", n, 16, 2, exp=True)
        self.crisis_latents = PerEntityDraws(
            self.root_seed, self.replication, "crisis_latents", n, PRE_DRAWN_CRISES, C.N_LATENTS, exp=False
        )
        eng_days = -pop.engagement_mean_days * np.log1p(-u[:, 9])
        self.residents: list[Resident] = []
        for i in range(n):
            r = Resident(self, i, int(district[i]), int(severity[i]), bool(substance[i]), bool(unhoused[i]),
                         bool(frequent[i]), float(trust_s[i]), float(trust_p[i]), float(mult[i]))  # fmt: skip
            r.elevated = bool(elevated[i])
            self.residents.append(r)
            clocks = self.crisis_clocks.next_row(i)
            r.e_left = float(clocks[0])
            self._schedule_distress(r, float(clocks[1]))
            if engaged[i]:
                self.set_engaged(r, True, 0.0, float(eng_days[i]) * DAY_MIN)
            else:
                self._set_rate(r, 0.0)

    # ------------------------------------------------------------------------------------------------------
    # residents: event-driven hazards
    # ------------------------------------------------------------------------------------------------------
    def crisis_rate(self, r: Resident) -> float:
        pop = self.cfg.population
        rate = self.base_rate * r.static_mult
        if r.elevated:
            rate *= pop.distress_hazard
        if r.engaged:
            rate *= pop.engaged_hazard_ratio
        return rate

    def _set_rate(self, r: Resident, t_eff: float) -> None:
        """Recompute the resident's hazard from ``t_eff`` (not before its last change) and reschedule."""
        t_eff = max(t_eff, r.last_change)
        op_eff = self.mh_profile.to_op(t_eff)
        if r.rate > 0:
            r.e_left = max(0.0, r.e_left - r.rate * (op_eff - r.last_op))
        r.last_op = op_eff
        r.last_change = t_eff
        r.rate = self.crisis_rate(r)
        r.clock_version += 1
        if r.rate <= 0:
            return
        self._schedule_crisis(r, self.mh_profile.from_op(op_eff + r.e_left / r.rate))

    def _schedule_crisis(self, r: Resident, t_next: float) -> None:
        if t_next >= self.horizon_min:  # beyond the run: nothing to schedule (keeps the event heap small)
            return
        ev = self.env.timeout(max(0.0, t_next - self.env.now))
        ev.callbacks.append(partial(self._crisis, r, r.clock_version))

    def _schedule_distress(self, r: Resident, e: float) -> None:
        rate = self.recovery_per_min if r.elevated else self.onset_per_min
        r.distress_version += 1
        if self.env.now + e / rate >= self.horizon_min:
            return
        ev = self.env.timeout(e / rate)
        ev.callbacks.append(partial(self._distress_flip, r, r.distress_version))

    def _distress_flip(self, r: Resident, version: int, _ev) -> None:
        if version != r.distress_version:
            return
        r.elevated = not r.elevated
        self._set_rate(r, self.env.now)
        self._schedule_distress(r, float(self.crisis_clocks.next_row(r.idx)[1]))

    def set_engaged(self, r: Resident, engaged: bool, t_eff: float, duration_min: float | None = None) -> None:
        """Start or end engagement in care (effective at ``t_eff``); programs call this too."""
        r.engaged = engaged
        r.engagement_version += 1
        if engaged and duration_min is not None:
            version = r.engagement_version
            ev = self.env.timeout(max(0.0, t_eff + duration_min - self.env.now))
            ev.callbacks.append(lambda _e: self._end_engagement(r, version))
        self._set_rate(r, t_eff)

    def _end_engagement(self, r: Resident, version: int) -> None:
        if version == r.engagement_version and r.engaged:
            self.set_engaged(r, False, self.env.now)

    def _crisis(self, r: Resident, version: int, _ev) -> None:
        if version != r.clock_version:
            return
        now = self.env.now
        r.e_left = float(self.crisis_clocks.next_row(r.idx)[0])
        r.last_op = self.mh_profile.to_op(now)
        r.last_change = now
        r.crises += 1
        self._schedule_crisis(r, self.mh_profile.from_op(r.last_op + r.e_left / r.rate))
        self.env.process(self._mh_call(self._new_mh_call(r)))

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
                    yield from gen
                    return
            req, assess = self.ed.admit(lat[C.U_ED_ASSESS])
            t0 = env.now
            yield req
            call.ed_wait = env.now - t0
            self.ed.start_assessment(req, assess)
            yield env.timeout(self.ed.handover(0.5))
        elif call.disposition == ARREST:
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
            r.trust_police = max(0.0, r.trust_police - cfg.coercion_trust_loss)
            if disp == INVOLUNTARY:
                r.trust_services = max(0.0, r.trust_services - cfg.coercion_trust_loss / 2)
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
        self.waitlist.refer(Referral(r.idx, call.crisis, call.call_id, call.t_received + lag, priority, source, call.latents))
        return True

    def _intake(self, ref: Referral) -> None:
        r = self.residents[ref.resident]
        r.waitlisted = False
        for program in self.programs:
            program.at_intake(ref)
        lat = ref.latents
        pop = self.cfg.population
        cs = self.cfg.destinations.community_services
        p_attend = min(1.0, cs.attendance_at_mean_trust * r.trust_services / max(pop.trust_services_mean, 1e-9))
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
            c["ed_transports"] += 1
        elif disp == VOLUNTARY:
            c["ed_transports"] += 1
        elif disp == RESOLVED:
            c["resolved_on_scene"] += 1
        elif disp == REPORT:
            c["reports"] += 1
        elif disp == PHONE:
            c["phone_resolved"] += 1
        c["referrals"] += call.referred
        c["use_of_force"] += call.force
        c["injuries"] += call.subject_injury + call.officer_injury

    # ------------------------------------------------------------------------------------------------------
    # other police calls: the competing workload, on callbacks (the hot path)
    # ------------------------------------------------------------------------------------------------------
    def _start_other_calls(self) -> None:
        sc = self.cfg
        self.other_rate = sc.city.population / 1000 * sc.demand.police_calls_per_1000_per_day * (1 - sc.demand.mh_share) / DAY_MIN
        if self.other_rate <= 0:
            return
        self._other_rng = rngmod.stream(self.root_seed, self.replication, "other_calls")
        self._other_profile = WeeklyProfile(sc.demand.other_hourly_profile, sc.demand.other_weekday_profile)
        self._other_scene = vector_sampler(sc.demand.other_on_scene)
        self._other_travel = [vector_sampler(d.travel_time) for d in sc.city.districts]
        self._other_cum_share = np.cumsum([d.population_share for d in sc.city.districts])
        self._other_op = 0.0
        self._refill_other()
        self._schedule_other()

    def _refill_other(self, n: int = 8192) -> None:
        g = self._other_rng
        gaps = g.standard_exponential(n) / self.other_rate
        ops = self._other_op + np.cumsum(gaps)
        self._other_op = float(ops[-1])
        u = g.random((n, 3))
        district = np.minimum(np.searchsorted(self._other_cum_share, u[:, 0], side="right"), len(self._other_travel) - 1)
        travel = np.zeros(n)
        for d, sampler in enumerate(self._other_travel):
            mask = district == d
            travel[mask] = sampler(u[mask, 1])
        self._o_t = self._other_profile.from_op_many(ops).tolist()
        self._o_d = district.tolist()
        self._o_travel = travel.tolist()
        self._o_service = (travel + self._other_scene(u[:, 2])).tolist()
        self._o_i = 0

    def _schedule_other(self) -> None:
        if self._o_i == len(self._o_t):
            self._refill_other()
        ev = self.env.timeout(self._o_t[self._o_i] - self.env.now)
        ev.callbacks.append(self._other_arrival)

    def _other_arrival(self, _ev) -> None:
        i = self._o_i
        self._o_i = i + 1
        d = self._o_d[i]
        row = [self._next_call_id, d, self.env.now, math.nan, math.nan, math.nan, -1, self._o_travel[i]]
        self._next_call_id += 1
        self.other_calls.append(row)
        req = self.patrol[d].request()
        req.callbacks.append(partial(self._other_dispatched, row, self._o_service[i]))
        self._schedule_other()

    def _other_dispatched(self, row: list, service: float, ev) -> None:
        officer = ev.value
        now = self.env.now
        row[3] = now
        row[4] = now + row[7]
        row[6] = officer.unique_id
        done = self.env.timeout(service)
        done.callbacks.append(partial(self._other_done, row, officer))

    def _other_done(self, row: list, officer: PatrolOfficer, _ev) -> None:
        now = self.env.now
        row[5] = now
        self.counters["calls"] += 1
        self.patrol[row[1]].release(officer, now - row[3])

    # ------------------------------------------------------------------------------------------------------
    # shifts and stepping
    # ------------------------------------------------------------------------------------------------------
    def _shifts(self):
        """Start and end shifts at their hours, every day, in every district."""
        shifts = self.cfg.police.shifts
        day_events = []  # (minute of day, order, shift, start?) — ends before starts at the same minute
        for s, sh in enumerate(shifts):
            start = round(sh.start_hour * 60) % DAY_MIN
            length = round(sh.hours * 60)
            if (0 - start) % DAY_MIN < length:
                for pool in self.patrol:
                    pool.start_shift(s)
            if length >= DAY_MIN:
                continue
            day_events.append((start, 1, s, True))
            day_events.append(((start + length) % DAY_MIN, 0, s, False))
        day_events.sort()
        if not day_events:
            return
        day = 0
        while True:
            for minute, _, s, is_start in day_events:
                t = day * DAY_MIN + minute
                if t <= 0:
                    continue
                yield self.env.timeout(t - self.env.now)
                for pool in self.patrol:
                    (pool.start_shift if is_start else pool.end_shift)(s)
            day += 1

    def step(self) -> None:
        """Advance one simulated day and record the day's counters."""
        until = min(self.steps * DAY_MIN, self.horizon_min)
        if until > self.env.now:
            self.env.run(until=until)
        self.datacollector.collect(self)
        if until >= self.horizon_min:
            self.running = False

    def run(self) -> CrisisModel:
        """Simulate the whole horizon."""
        t0 = time.perf_counter()
        while self.running:
            self.step()
        self.wall_s = time.perf_counter() - t0
        return self

    @property
    def events_processed(self) -> int:
        scheduled = next(self.env._eid)  # SimPy numbers every scheduled event; no public counter exists
        return scheduled - len(self.env._queue) - 1


def _counter(model: CrisisModel, name: str) -> int:
    return model.counters[name]

