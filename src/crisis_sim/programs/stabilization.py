"""Crisis stabilisation centre: a destination that takes a transported person in minutes when it has a bed.

It replaces the ED hand-off (hours of waiting for the unit, Hoffman 2021) only while beds are free, so its value
depends on beds and length of stay; when full, the person goes to the ED as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim import rng
from crisis_sim.model.dispositions import INVOLUNTARY, VOLUNTARY
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.model.health import HEALTH_COLUMNS
from crisis_sim.programs.base import Program
from crisis_sim.scenario.program_sections.stabilization import StabilizationConfig

if TYPE_CHECKING:
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext

# Latent columns owned by this program (30-31).
U_STAY = rng.latent("stabilization", "stay")
U_DROP_OFF = rng.latent("stabilization", "drop_off")
DAY_MIN = 24 * 60
H_LINK = HEALTH_COLUMNS["stabilization_link"]  # the crisis's health row (stream "health"): linked before discharge


class Stabilization(Program):
    """Beds as a SimPy Resource; a bed is held for the length of stay, the unit only for the drop-off."""

    key = "stabilization"
    label = "a crisis stabilisation centre"
    config_class = StabilizationConfig
    stream_key = rng.PROGRAM_STREAMS["stabilization"]
    latents = rng.LATENTS["stabilization"]
    responders = ()
    series_defaults = {"stabilization_admissions": 0}
    settings = {"beds": "{} bed(s)"}
    launchable = True  # costs are funded bed-days: none before the launch (hold_for_launch)

    def __init__(self, config: StabilizationConfig):
        super().__init__(config)
        self.config: StabilizationConfig = config
        self.admissions = 0  # all, warm-up included (the monthly series is cumulative)
        self.admitted_calls: list[tuple[int, float, float]] = []  # (call id, admitted, discharged)
        self.full_calls: list[tuple[int, float, bool]] = []  # (call id, time, counted) sent on to the ED
        self.bed_min = 0.0  # occupied bed-minutes, accumulated at discharge (and at the horizon)
        self.links: list[bool] = []  # counted?, one per person linked to services before discharge

    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        self.env = model.env
        self.beds = simpy.Resource(model.env, capacity=self.config.beds)
        self.stay = scalar_sampler(self.config.length_of_stay)
        self.drop_off = scalar_sampler(self.config.drop_off)
        self.accepted = (VOLUNTARY, INVOLUNTARY) if self.config.accepts_involuntary else (VOLUNTARY,)
        self.warm_min = model.cfg.simulation.warmup_days * DAY_MIN
        self.horizon_min = model.horizon_min
        self._counted: list[bool] = []
        self.capacity = self.config.beds  # beds funded (budget cuts lower it; occupied beds are not emptied)
        self._cap_changes: list[tuple[float, int]] = []  # (time, beds funded from then)

    def handoff(self, call: Call):
        if call.disposition not in self.accepted:
            return None
        if self.is_suspended(call.district):
            return None  # ended: the ED takes the person
        if self.beds.count >= self.capacity:
            self.full_calls.append((call.call_id, self.env.now, call.t_received >= self.warm_min))
            return None  # full: the ED takes the person
        return self._admit(call)

    def _admit(self, call: Call):
        env = self.env
        req = self.beds.request()  # a bed is free (checked above): granted at once
        now = env.now
        stay = self.stay(float(call.latents[U_STAY]))
        self.admissions += 1
        self._counted.append(call.t_received >= self.warm_min)
        self.admitted_calls.append((call.call_id, now, now + stay))
        self.bed_min += min(stay, max(0.0, self.horizon_min - now))
        share = self.config.link_before_discharge_share
        # linked during the stay: a priority referral, made before the encounter's ordinary one
        if (share > 0.0 and self.model.health_uniforms(call.resident, call.crisis)[H_LINK] < share
                and self.model.refer(call, priority=0, source="stabilization_link")):  # fmt: skip
            self.links.append(call.t_received >= self.warm_min)
        env.timeout(stay).callbacks.append(lambda _ev: self.beds.release(req))
        yield req
        yield env.timeout(self.drop_off(float(call.latents[U_DROP_OFF])))

    def scale_capacity(self, share: float) -> None:
        super().scale_capacity(share)
        self.capacity = round(self.config.beds * share)
        self._cap_changes.append((self.env.now, self.capacity))

    def hold_for_launch(self) -> None:
        """Before a launch the centre is not open: no bed is funded (no fixed cost) and the timeline keeps the
        program suspended (no drop-off; the ED takes the person)."""
        self.capacity = 0
        self._cap_changes.append((0.0, 0))

    def launch(self) -> None:
        """The centre opens: the configured beds (times any budget share) are funded from today."""
        if not self.ended:
            self.capacity = round(self.config.beds * self.capacity_share)
            self._cap_changes.append((self.env.now, self.capacity))

    def end_program(self) -> None:
        super().end_program()
        self.capacity = 0
        self._cap_changes.append((self.env.now, 0))

    def _funded_bed_days(self) -> float:
        """Funded bed-days in the counted period (capacity changes from budget events)."""
        total, t, beds = 0.0, 0.0, self.config.beds
        for t_next, beds_next in [*self._cap_changes, (self.horizon_min, 0)]:
            total += beds * max(0.0, min(t_next, self.horizon_min) - max(t, self.warm_min))
            t, beds = t_next, beds_next
        return total / DAY_MIN

    @property
    def occupied(self) -> int:
        return self.beds.count

    def summary(self) -> dict[str, Any]:
        cfg = self.config
        counted_days = (self.horizon_min - self.warm_min) / DAY_MIN
        capacity_min = cfg.beds * self.horizon_min
        bed_days = self._funded_bed_days() if self._cap_changes else cfg.beds * counted_days
        return {
            "cost": bed_days * cfg.bed_day_cost,
            "stabilization_admissions": sum(self._counted),
            "stabilization_full_to_ed": sum(1 for c in self.full_calls if c[2]),
            "stabilization_bed_occupancy": self.bed_min / capacity_min if capacity_min > 0 else 0.0,
        } | ({"stabilization_links": sum(self.links)} if cfg.link_before_discharge_share > 0.0 else {})

    def reporters(self) -> dict[str, Any]:
        return {
            "stabilization_admissions": lambda m: self.admissions,
            "stabilization_beds_occupied": lambda m: self.beds.count,
        }

    def cumulative(self) -> tuple[str, ...]:
        return ("stabilization_admissions",)
