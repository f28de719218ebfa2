"""Where people go after an encounter: the ED's psychiatric assessment, jail booking, the services waitlist.

Each is a SimPy resource or store. The ED and jail keep the transporting unit out of service while it waits
(Hoffman 2021: 42-61 min of ED waiting per involuntary referral); the waitlist admits a fixed number of new
clients a week in priority order, so a program that puts its clients first makes everyone else wait longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model.durations import scalar_sampler, vector_sampler

if TYPE_CHECKING:
    from mesa import Model  # the running model (see crisis_sim.model.context)

DAY_MIN = 24 * 60
WEEK_MIN = 7 * DAY_MIN


class EmergencyDepartment:
    """Psychiatric assessment slots shared by police drop-offs and other arrivals."""

    def __init__(self, model: Model, background_offset_per_day: float = 0.0):
        cfg = model.cfg.destinations.ed
        self.env = model.env
        self.slots = simpy.Resource(model.env, capacity=cfg.assessment_slots)
        self.assess = scalar_sampler(cfg.assessment_time)
        self.handover = scalar_sampler(cfg.handover)
        self.assess_factor = 1.0  # assessment (boarding) time multiplier; timeline events raise it
        per_day = cfg.background_arrivals_per_day
        if background_offset_per_day > 0.0:  # arrivals the model now makes itself (health pathway)
            per_day = max(0.0, per_day - background_offset_per_day)
        self.background_per_min = per_day / DAY_MIN
        self._bg_vec = vector_sampler(cfg.assessment_time)
        self.background_arrivals = 0
        if self.background_per_min > 0:
            g = rngmod.stream(model.root_seed, model.replication, "ed_background")
            self._bg_rng = g
            self._bg_fill()
            self._schedule_background(0.0)

    def _bg_fill(self, n: int = 1024) -> None:
        self._bg_gaps = (self._bg_rng.standard_exponential(n) / self.background_per_min).tolist()
        self._bg_times = self._bg_vec(self._bg_rng.random(n)).tolist()
        self._bg_i = 0

    def _schedule_background(self, _now: float) -> None:
        if self._bg_i == len(self._bg_gaps):
            self._bg_fill()
        gap = self._bg_gaps[self._bg_i]
        ev = self.env.timeout(gap)
        ev.callbacks.append(self._background_arrival)

    def _background_arrival(self, _ev) -> None:
        self.background_arrivals += 1
        stay = self._bg_times[self._bg_i] * self.assess_factor
        self._bg_i += 1
        req = self.slots.request()
        req.callbacks.append(lambda e, r=req, s=stay: self._hold(r, s))
        self._schedule_background(self.env.now)

    def _hold(self, req, minutes: float) -> None:
        self.env.timeout(minutes).callbacks.append(lambda e: self.slots.release(req))

    def admit(self, assessment_u: float):
        """Request a slot; the caller waits on the returned request, then calls :meth:`start_assessment`."""
        req = self.slots.request()
        return req, self.assess(assessment_u) * self.assess_factor

    def start_assessment(self, req, minutes: float) -> None:
        self._hold(req, minutes)


class Jail:
    def __init__(self, model: Model):
        cfg = model.cfg.destinations.jail
        self.slots = simpy.Resource(model.env, capacity=cfg.booking_slots)
        self.booking = scalar_sampler(cfg.booking_time)


@dataclass(slots=True)
class Referral:
    """A person on the community-services waitlist."""

    resident: int
    crisis: int
    call_id: int
    t_referred: float
    priority: int  # lower goes first: 0 for program clients that bypass the queue, 1 for everyone else
    source: str
    latents: Any = None  # the crisis's latent row (attendance and engagement draws)
    t_intake: float = math.nan
    attended: bool = False
    attend_or: float = 1.0  # odds ratio on attending intake, set by a program's at_intake hook (1.0: none)


class Waitlist:
    """Weekly intake slots served in (priority, referral time) order from a SimPy PriorityStore."""

    def __init__(self, model: Model):
        cfg = model.cfg.destinations.community_services
        self.model = model
        self.env = model.env
        self.slots_per_week = cfg.intake_slots_per_week
        self.lag_min = cfg.admin_lag_days * DAY_MIN
        self.store = simpy.PriorityStore(model.env)
        self.referrals: list[Referral] = []
        self.intake_listeners: list = []  # callables(referral) run at intake (the model's engagement logic)
        model.env.process(self._intake())

    def refer(self, referral: Referral) -> None:
        """Place a referral on the list at ``t_referred`` (scheduled, so the order does not depend on how long
        the encounter took)."""
        self.referrals.append(referral)
        delay = max(0.0, referral.t_referred - self.env.now)
        item = simpy.PriorityItem(
            (referral.priority, referral.t_referred, referral.resident, referral.crisis), referral
        )
        self.env.timeout(delay).callbacks.append(lambda e: self.store.put(item))

    @property
    def length(self) -> int:
        return len(self.store.items)

    def _intake(self):
        while True:
            yield self.env.timeout(WEEK_MIN - self.env.now % WEEK_MIN)
            for _ in range(min(self.slots_per_week, len(self.store.items))):
                item = yield self.store.get()
                ref = item.item
                ref.t_intake = self.env.now
                for listener in self.intake_listeners:
                    listener(ref)
