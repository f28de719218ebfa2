"""Mesa agents: residents at risk, patrol officers, community-relations officers, clinicians, the dispatcher.

Agents hold state; they are never stepped daily. A resident's distress and crisis clocks are SimPy events that
are rescheduled when the resident's hazard changes (random time change: the next crisis happens when the
integrated hazard since the last one reaches a unit exponential drawn for that crisis).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from crisis_sim.scenario.timeline.base import CLINICIAN_ROLES

if TYPE_CHECKING:
    from mesa import Model  # the running model (see crisis_sim.model.context)


class Resident(mesa.Agent):
    """A person at risk of mental-health crises who may come to police attention."""

    __slots__ = (
        "idx", "district", "severity", "substance_use", "unhoused", "frequent_caller",
        "trust_services", "trust_police", "engaged", "elevated", "static_mult",
        "crises", "rate", "e_left", "last_op", "last_change", "clock_version", "engagement_version",
        "distress_version", "waitlisted", "program_flags",
    )  # fmt: skip

    def __init__(self, model: Model, idx: int, district: int, severity: int, substance_use: bool,
                 unhoused: bool, frequent_caller: bool, trust_services: float, trust_police: float,
                 static_mult: float):  # fmt: skip
        super().__init__(model)
        self.idx = idx
        self.district = district
        self.severity = severity  # 0 mild, 1 moderate, 2 severe
        self.substance_use = substance_use
        self.unhoused = unhoused
        self.frequent_caller = frequent_caller
        self.trust_services = trust_services
        self.trust_police = trust_police
        self.static_mult = static_mult
        self.engaged = False
        self.elevated = False
        self.crises = 0  # crises so far: index of the next crisis's latent row
        self.rate = 0.0  # crisis hazard per operational minute
        self.e_left = 0.0  # unit-exponential mass left before the next crisis
        self.last_op = 0.0
        self.last_change = 0.0
        self.clock_version = 0
        self.engagement_version = 0
        self.distress_version = 0
        self.waitlisted = False
        self.program_flags: dict[str, object] = {}


class PatrolOfficer(mesa.Agent):
    """One patrol unit (car); the token that circulates through the district's dispatch store."""

    __slots__ = ("district", "shift", "in_post", "on_duty", "off_when_free", "cit_trained", "awareness", "busy_min",
                 "calls")  # fmt: skip

    def __init__(self, model: Model, district: int, shift: int, awareness: float):
        super().__init__(model)
        self.district = district
        self.shift = shift
        self.in_post = True  # False while the post is vacant or the officer has left
        self.on_duty = False
        self.off_when_free = False  # shift ended while busy: goes off duty when the call clears
        self.cit_trained = False
        self.awareness = (
            awareness  # probability of referring to a program that depends on officers (outreach)
        )
        self.busy_min = 0.0
        self.calls = 0


class CommunityRelationsOfficer(mesa.Agent):
    """A district's liaison officer (CRPO in [echinops_study]); outreach gives them referral and consent work."""

    def __init__(self, model: Model, district: int, hours_per_week: float = 0.0):
        super().__init__(model)
        self.district = district
        self.in_post = True
        self.hours_per_week = hours_per_week
        self.champion_strength = 0.0


class Clinician(mesa.Agent):
    """A nurse, psychiatrist, social worker, peer or EMT working in a program."""

    ROLES = CLINICIAN_ROLES

    def __init__(self, model: Model, role: str, program: str, district: int | None = None):
        if role not in self.ROLES:
            raise ValueError(f"unknown clinician role {role!r}; expected one of {self.ROLES}")
        super().__init__(model)
        self.role = role
        self.program = program
        self.district = district
        self.in_post = True
        self.busy_min = 0.0


class Dispatcher(mesa.Agent):
    """The call-taker: decides whether a call is recognised as MH and how risky it looks."""

    def __init__(self, model: Model, identification: float, risk_accuracy: float):
        super().__init__(model)
        self.identification = identification
        self.risk_accuracy = risk_accuracy

    def identify(self, u: float) -> bool:
        return u < self.identification

    def assess_risk(self, true_risk: int, u: float) -> int:
        """Correct with probability ``risk_accuracy``; otherwise one level off (towards the middle at the ends)."""
        if u < self.risk_accuracy:
            return true_risk
        if true_risk == 1:
            return 0 if (u - self.risk_accuracy) < (1.0 - self.risk_accuracy) / 2 else 2
        return 1
