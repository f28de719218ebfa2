"""Co-response: a police officer and a clinician answer identified MH calls together, on limited shifts.

Units are tokens in the program's own SimPy store, put in and taken out at shift boundaries, so both people on a
unit stay busy from dispatch until the hand-off ends (and during follow-up contacts). A call the unit would take
but cannot (no unit on duty, all busy, not recognised as MH) goes to patrol and is recorded as unserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim import rng
from crisis_sim.model.agents import Clinician, PatrolOfficer
from crisis_sim.model.calls import U_SCENE, U_TRAVEL
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.model.staffing import ShiftedStaff, StaffToken
from crisis_sim.programs.base import Program
from crisis_sim.scenario.program_sections.co_response import CoResponseConfig
from crisis_sim.scenario.schema import RISK_LEVELS

if TYPE_CHECKING:
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext

DAY_MIN = 24 * 60
U_CLINICIAN_TRAVEL = rng.latent("co_response", "clinician_travel")
U_FOLLOW_UP = rng.latent("co_response", "follow_up")


class CoResponse(Program):
    """Officer + clinician units on shifts in covered districts; see docs/programs/co_response.md."""

    key = "co_response"
    label = "co-response (a clinician rides with police)"
    config_class = CoResponseConfig
    stream_key = rng.PROGRAM_STREAMS["co_response"]
    latents = rng.LATENTS["co_response"]
    responders = ("co_response",)
    series_defaults: dict[str, int] = {}
    launchable = True  # costs are the funded rostered minutes: none before the launch (hold_for_launch)
    settings = {"units": "{} unit(s)"}

    def __init__(self, config: CoResponseConfig):
        super().__init__(config)
        self.config: CoResponseConfig = config
        # (kind, call id, unit token, t_start, t_end, officer agent id, officer's t_start): one per call or follow-up
        self.records: list[tuple[str, int, int, float, float, int, float]] = []
        self.served = 0  # counted period only (after warm-up), like the run summary
        self.calls_total = 0  # whole run, for the daily series
        self.follow_ups = 0
        self.follow_ups_total = 0
        self.follow_up_referrals = 0
        self.unserved = {"busy": 0, "off_hours": 0, "misidentified": 0, "dispatcher_bias": 0}
        self._counted_officer_min = 0.0

    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        cfg = self.config
        sc = model.cfg
        names = [d.name for d in sc.city.districts]
        self.covered = (
            frozenset(names.index(n) for n in cfg.districts)
            if cfg.districts
            else frozenset(range(len(names)))
        )
        self.max_risk = RISK_LEVELS.index(cfg.max_assessed_risk)
        self.warm = sc.simulation.warmup_days * DAY_MIN
        model.dispositions.register(
            "co_response",
            {
                "arrest": cfg.arrest_or,
                "voluntary_transport": cfg.voluntary_transport_or,
                "involuntary": cfg.involuntary_or,
                "referral": cfg.referral_or,
            },
            force_or=cfg.force_or,
        )
        # ride_along: a unit is a dedicated officer and a clinician in one car (the token carries both);
        # meet_at_scene: the token is the clinician, the officer is the district's next free patrol unit.
        self.meet_at_scene = cfg.mode == "meet_at_scene"
        home = min(self.covered)
        tokens: list[list[StaffToken]] = []
        idx = 0
        for s, shift in enumerate(cfg.shifts):
            team = []
            for _ in range(shift.units):
                clinician = Clinician(model, cfg.clinician_role, self.key, home)
                if self.meet_at_scene:
                    people: tuple[Any, ...] = (clinician,)
                else:
                    people = (PatrolOfficer(model, home, s, sc.police.referral_awareness), clinician)
                team.append(StaffToken(idx, s, people))
                idx += 1
            tokens.append(team)
        self.pool = ShiftedStaff(model.env, [(s.start_hour, s.hours) for s in cfg.shifts], tokens)
        self.clinician_travel = scalar_sampler(cfg.clinician_travel)
        self.follow_up_time = scalar_sampler(cfg.follow_up_time)
        self.follow_up_delay = cfg.follow_up_delay_days * DAY_MIN

    # --- timeline hooks (crisis_sim.scenario.timeline; docs/events.md) --------------------------------------------------
    def staff(self) -> list[Any]:
        """The units' people: riding along the dedicated officer and the clinician, else the clinician."""
        if self.model is None:
            return []
        return [p for token in self.pool.all_tokens() for p in token.people]

    def covers(self, district: int) -> bool:
        return district in self.covered

    def key_staff_in_post(self, district: int) -> bool:
        """Some unit funded with everyone on it in post (units serve all covered districts)."""
        return (
            district in self.covered
            and not self.ended
            and any(self.pool.available(t) for t in self.pool.all_tokens())
        )

    def staff_changed(self, agent: Any) -> None:
        if any(agent in t.people for t in self.pool.all_tokens()):
            self.pool.sync()

    def scale_capacity(self, share: float) -> None:
        """Units: ``round(configured units x share)`` stay funded (ShiftedStaff.fund); the others leave the store
        (a busy unit when it clears) and their people leave their posts (``unfunded_staff``)."""
        super().scale_capacity(share)
        self.pool.fund(share)

    def unfunded_staff(self) -> list[Any]:
        return [p for t in self.pool.all_tokens() if not t.funded for p in t.people]

    def end_program(self) -> None:
        super().end_program()
        self.pool.unfund_all()

    def add_posts(self, count: int, role: str, program_shift: int | None) -> list[Any]:
        """add_post: ``count`` new funded units in shift ``program_shift`` (ShiftedStaff.add_token)."""
        model, home, s = self.model, min(self.covered), program_shift or 0
        added: list[Any] = []
        for _ in range(count):
            clinician = Clinician(model, self.config.clinician_role, self.key, home)
            if self.meet_at_scene:
                people: tuple[Any, ...] = (clinician,)
            else:
                officer = PatrolOfficer(model, home, s, model.cfg.police.referral_awareness)
                people = (officer, clinician)
            added.extend(self.pool.add_token(s, people).people)
        return added

    def hold_for_launch(self) -> None:
        """Before a launch no units are funded: the rostered (costed) minutes start at the launch."""
        self.pool.unfund_all()

    def launch(self) -> None:
        if not self.ended:
            self.pool.refund(self.capacity_share)

    # --- dispatch ----------------------------------------------------------------------------------------
    def route(self, call: Call):
        if call.district not in self.covered:
            return None
        if call.assessed_risk > self.max_risk or (call.weapon and not self.config.weapon_calls):
            return None
        if self.suspended and self.is_suspended(call.district):  # no unit funded and staffed, or ended
            self.mark_unserved(call, "suspended")
            return None
        # Reasons in the same order as the mobile crisis team's: the binding cap first (hours, then recognition).
        if not self.pool.in_shift(call.t_received):
            self._unserved(call, "off_hours")
            return None
        if not call.identified:
            self._unserved(call, "misidentified")
            return None
        if self.ramp is not None and not self.ramp_admits(call):  # launched, dispatch still learning to use it
            self._unserved(call, "dispatcher_bias")
            return None
        if not self.pool.store.items:
            self._unserved(call, "busy")
            return None
        return self._respond

    def _unserved(self, call: Call, reason: str) -> None:
        self.mark_unserved(call, reason)
        if call.t_received >= self.warm:
            self.unserved[reason] += 1

    def _respond(self, call: Call):
        """Officer and clinician work the scene together and stay with the person through the hand-off; the
        clinician (and, riding along, the unit's officer) is released only then, a patrol officer likewise."""
        m = self.model
        env = m.env
        unit = self.pool.take()
        if unit is None:  # taken in the same instant by a follow-up: police as usual
            self._unserved(call, "busy")
            yield from m.patrol_response(call)
            return
        call.eligible = True
        call.responder = "co_response"
        call.program = self.key
        t0 = env.now
        lat = call.latents
        if self.meet_at_scene:
            pool = m.patrol[call.district]
            officer = pool.take_idle()
            if officer is None:
                officer = yield pool.request()
            clinician_on_scene = t0 + self.clinician_travel(float(lat[U_CLINICIAN_TRAVEL]))
        else:
            officer = unit.people[0]
        t_officer = call.t_dispatched = env.now
        call.unit = officer.unique_id
        call.t_arrived = t_officer + m.travel[call.district](float(lat[U_TRAVEL]))
        start = max(call.t_arrived, clinician_on_scene) if self.meet_at_scene else call.t_arrived
        yield env.timeout(start - env.now + m.mh_scene(float(lat[U_SCENE])) * self.config.on_scene_factor)
        m.resolve_on_scene(call, "co_response")
        yield from m.handoff(call)
        end = env.now
        officer_busy = end - t_officer
        self.pool.release(unit, end - t0)
        if self.meet_at_scene:
            call.officer_min += officer_busy * m.cfg.police.officers_per_unit
            m.patrol[call.district].release(officer, officer_busy)
        else:
            call.officer_min += officer_busy  # the unit's own officer
        self.records.append(("call", call.call_id, unit.idx, t0, end, officer.unique_id, t_officer))
        self.calls_total += 1
        if call.t_received >= self.warm:
            self.served += 1
            if not self.meet_at_scene:
                self._counted_officer_min += officer_busy

    # --- follow-up ---------------------------------------------------------------------------------------
    def after_disposition(self, call: Call) -> None:
        if call.program != self.key or self.ended:
            return
        u = float(call.latents[U_FOLLOW_UP])
        share = self.config.follow_up_share
        if u < share:
            self.model.env.process(self._follow_up(call, u / share))

    def _follow_up(self, call: Call, v: float):
        """A contact a few days later by the next free unit; it may end in a referral to services."""
        env = self.model.env
        yield env.timeout(self.follow_up_delay)
        if self.ended:
            return  # no unit will come back: the contact is dropped
        unit = yield self.pool.store.get()
        t0 = env.now
        ref = self.config.follow_up_referral_share
        refer = v < ref
        w = v / ref if refer else (v - ref) / (1.0 - ref)
        yield env.timeout(self.follow_up_time(w))
        self.pool.release(unit, env.now - t0)
        self.records.append(("follow_up", call.call_id, unit.idx, t0, env.now, -1, t0))
        self.follow_ups_total += 1
        counted = int(call.t_received >= self.warm)
        self.follow_ups += counted
        if refer and self.model.refer(call, priority=1, source="co_response_follow_up"):
            self.follow_up_referrals += counted

    # --- outputs -----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        m = self.model
        sc = m.cfg
        staffed_h = (
            self.pool.funded_minutes(self.warm, m.horizon_min) / 60
        )  # funded units only, from each cut
        # A dedicated officer's time on calls is already in the run's police cost (ledger officer_min): not counted
        # twice. Meeting at the scene, the officer is a patrol unit, costed by the core.
        cost = staffed_h * self.config.clinician_hour
        if not self.meet_at_scene:
            cost += staffed_h * sc.costs.officer_hour - self._counted_officer_min / 60 * sc.costs.officer_hour
        return {
            "cost": max(cost, 0.0),
            "staff_utilisation": self.pool.utilisation(),
            "co_response_calls": self.served,
            "co_response_follow_ups": self.follow_ups,
            "co_response_follow_up_referrals": self.follow_up_referrals,
            "co_response_unserved_busy": self.unserved["busy"],
            "co_response_unserved_off_hours": self.unserved["off_hours"],
            "co_response_unserved_misidentified": self.unserved["misidentified"],
        } | ({"co_response_unserved_dispatcher_bias": self.unserved["dispatcher_bias"]} if self.ramp else {})

    def reporters(self):
        return {
            "co_response_calls": lambda m: self.calls_total,
            "co_response_follow_ups": lambda m: self.follow_ups_total,
        }

    def cumulative(self) -> tuple[str, ...]:
        return ("co_response_calls", "co_response_follow_ups")
