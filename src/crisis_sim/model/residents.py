"""Residents' clocks: distress, engagement in care and crises as continuous-time hazards, never polled.

Each at-risk resident's distress moves between stable and elevated; crises come from a random-time-change hazard
that follows the hour-of-day and weekday profile and the resident's state (severity, substance use, housing,
frequent caller, distress, engagement). Each resident has at most one pending clock event (the earliest of next
crisis, distress flip and end of engagement); events due on a later day wait in that day's bucket and enter SimPy's
queue when the day starts. A crisis becomes an MH call through ``_new_mh_call`` (:mod:`crisis_sim.model.encounter`).
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model import calls as C
from crisis_sim.model.agents import Resident
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.health import self_share_mean
from crisis_sim.model.profile import WeeklyProfile
from crisis_sim.scenario.schema import SEVERITIES

PRE_DRAWN_CRISES = 8  # latent rows drawn up front per resident; more come from per-resident substreams


class ResidentClocks:
    """The at-risk residents and their hazard clocks (a part of :class:`~crisis_sim.model.crisis_model.CoreModel`)."""

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
        if self.health is not None:  # crises that go straight to the ED: police calls still match demand
            self.base_rate /= 1.0 - self_share_mean(self)
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
            self._start_crisis(r)
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
