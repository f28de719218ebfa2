"""911/988 clinician triage: clinicians in the dispatch centre screen MH calls while one of them is free.

Screening applies a structured protocol, so more MH calls are recognised (~85% instead of ~40%, [mhfr_blog], weak)
and the specialised responders consulted after triage get them; a share of recognised low-risk calls without a
weapon is resolved on the phone and no unit is sent (Durham HEART, [durham_heart]). The clinician's phone time is held
by a timeout on the token, so ``triage()`` decides at once and capacity still binds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim import rng
from crisis_sim.model.agents import Clinician
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.model.staffing import ShiftedStaff, StaffToken
from crisis_sim.programs.base import Program
from crisis_sim.scenario.program_sections.triage import TriageConfig

if TYPE_CHECKING:
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext

DAY_MIN = 24 * 60
U_IDENTIFY_SCREEN = rng.latent("triage", "identify_screen")
U_PHONE = rng.latent("triage", "phone")


class Triage(Program):
    """Dispatch-centre clinicians; see docs/programs/triage.md."""

    key = "triage"
    label = "911/988 clinician triage"
    config_class = TriageConfig
    stream_key = rng.PROGRAM_STREAMS["triage"]
    latents = rng.LATENTS["triage"]
    responders = ("phone_triage",)
    series_defaults: dict[str, int] = {}
    launchable = True  # costs are the funded rostered minutes: none before the launch (hold_for_launch)
    settings = {"clinicians": "{} clinician(s)"}

    def __init__(self, config: TriageConfig):
        super().__init__(config)
        self.config: TriageConfig = config
        self.screened = 0  # counted period (after warm-up)
        self.identified_added = 0
        self.phone_resolved = 0
        self.not_screened = 0
        self.screened_total = 0
        self.identified_added_total = 0
        self.records: list[
            tuple[int, int, float, float, bool]
        ] = []  # (call id, token, t_start, t_end, by phone)

    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        cfg = self.config
        sc = model.cfg
        self.warm = sc.simulation.warmup_days * DAY_MIN
        base = sc.dispatch.mh_identification
        # Screened calls the call-taker missed are recognised with this probability, so that a screened call is
        # recognised with probability ``identification`` overall (never below the call-taker's own rate).
        self.p_extra = max(0.0, (cfg.identification - base) / (1.0 - base)) if base < 1.0 else 0.0
        tokens: list[list[StaffToken]] = []
        idx = 0
        for s, shift in enumerate(cfg.shifts):
            team = []
            for _ in range(shift.clinicians):
                team.append(StaffToken(idx, s, (Clinician(model, "social_worker", self.key),)))
                idx += 1
            tokens.append(team)
        self.pool = ShiftedStaff(model.env, [(s.start_hour, s.hours) for s in cfg.shifts], tokens)
        self.screen_time = scalar_sampler(cfg.screen_time)
        self.phone_time = scalar_sampler(cfg.phone_time)

    # --- timeline hooks (crisis_sim.scenario.timeline; docs/events.md) --------------------------------------------------
    def staff(self) -> list[Any]:
        if self.model is None:
            return []
        return [p for token in self.pool.all_tokens() for p in token.people]

    def key_staff_in_post(self, district: int) -> bool:
        """Some clinician seat funded and in post (the dispatch centre serves the whole city)."""
        return not self.ended and any(self.pool.available(t) for t in self.pool.all_tokens())

    def staff_changed(self, agent: Any) -> None:
        if any(agent in t.people for t in self.pool.all_tokens()):
            self.pool.sync()

    def scale_capacity(self, share: float) -> None:
        """Clinician seats: ``round(configured seats x share)`` stay funded (ShiftedStaff.fund); the others'
        clinicians leave their posts, a seat on a call when the call ends."""
        super().scale_capacity(share)
        self.pool.fund(share)

    def unfunded_staff(self) -> list[Any]:
        return [p for t in self.pool.all_tokens() if not t.funded for p in t.people]

    def end_program(self) -> None:
        super().end_program()
        self.pool.unfund_all()

    def add_posts(self, count: int, role: str, program_shift: int | None) -> list[Any]:
        """add_post: ``count`` new funded clinician seats in shift ``program_shift`` (ShiftedStaff.add_token)."""
        s = program_shift or 0
        return [
            p
            for _ in range(count)
            for p in self.pool.add_token(s, (Clinician(self.model, "social_worker", self.key),)).people
        ]

    def hold_for_launch(self) -> None:
        """Before a launch no seats are funded: the rostered (costed) minutes start at the launch."""
        self.pool.unfund_all()

    def launch(self) -> None:
        if not self.ended:
            self.pool.refund(self.capacity_share)

    def triage(self, call: Call) -> bool:
        if self.suspended and self.is_suspended(call.district):
            return False  # no clinician seat funded and staffed, or ended: the call-taker alone, not screened
        counted = int(call.t_received >= self.warm)
        if self.ramp is not None and not self.ramp_admits(call):  # launched, call-takers still learning
            self.not_screened += counted
            return False
        token = self.pool.take()
        if token is None:
            self.not_screened += counted
            return False
        self.screened += counted
        self.screened_total += 1
        cfg = self.config
        u = float(call.latents[U_IDENTIFY_SCREEN])
        p = self.p_extra
        if call.identified:
            q = u
        elif u < p:
            call.identified = True
            self.identified_added += counted
            self.identified_added_total += 1
            q = u / p
        else:
            q = (u - p) / (1.0 - p)
        v = float(call.latents[U_PHONE])
        share = cfg.phone_resolution_share
        if call.identified and call.assessed_risk == 0 and not call.weapon and v < share:
            w = v / share
            ref = cfg.phone_referral_share
            refer = w < ref
            minutes = self.phone_time(w / ref if refer else (w - ref) / (1.0 - ref))
            call.responder = "phone_triage"
            call.program = self.key
            if refer:
                self.model.refer(call, priority=1, source="phone_triage")
            self.phone_resolved += counted
            self._hold(call, token, minutes, True)
            return True
        self._hold(call, token, self.screen_time(q), False)
        return False

    def _hold(self, call: Call, token: StaffToken, minutes: float, by_phone: bool) -> None:
        env = self.model.env
        t0 = env.now
        self.records.append((call.call_id, token.idx, t0, t0 + minutes, by_phone))
        env.timeout(minutes).callbacks.append(lambda _e: self.pool.release(token, minutes))

    # --- outputs -----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        m = self.model
        staffed_h = self.pool.funded_minutes(self.warm, m.horizon_min) / 60  # funded seats, from each cut
        return {
            "cost": staffed_h * self.config.clinician_hour,
            "staff_utilisation": self.pool.utilisation(),
            "triage_screened": self.screened,
            "triage_not_screened": self.not_screened,
            "triage_identified_added": self.identified_added,
            "triage_phone_resolved": self.phone_resolved,
        }

    def reporters(self):
        return {
            "triage_screened": lambda m: self.screened_total,
            "triage_identified_added": lambda m: self.identified_added_total,
        }

    def cumulative(self) -> tuple[str, ...]:
        return ("triage_screened", "triage_identified_added")
