"""The call record: one per police call, filled in as the call moves through triage, dispatch, scene, hand-off.

MH calls carry a row of latent uniforms tied to (resident, crisis number); every decision about the call reads its
own column, so a scenario change alters the outcome of a decision, never which random number it sees.
"""

from __future__ import annotations

import math

import numpy as np

from crisis_sim.rng import LATENTS, N_LATENTS  # noqa: F401  (N_LATENTS re-exported)

# Columns of a crisis's latent row: the core's, named from the one table in crisis_sim.rng.LATENTS.
_CORE = LATENTS["core"]
U_IDENTIFY = _CORE["identify"]
U_RISK = _CORE["risk"]
U_RISK_ASSESS = _CORE["risk_assess"]
U_WEAPON = _CORE["weapon"]
U_TRAVEL = _CORE["travel"]
U_SCENE = _CORE["scene"]
U_DISPOSITION = _CORE["disposition"]
U_FORCE = _CORE["force"]
U_SUBJECT_INJURY = _CORE["subject_injury"]
U_OFFICER_INJURY = _CORE["officer_injury"]
U_ATTEND = _CORE["attend"]
U_ENGAGEMENT = _CORE["engagement"]
U_DISENGAGE = _CORE["disengage"]
U_ADMIT = _CORE["admit"]
U_TRANSPORT = _CORE["transport"]
U_ED_ASSESS = _CORE["ed_assess"]
U_BOOKING = _CORE["booking"]
U_DISCHARGE_REFERRAL = _CORE["discharge_referral"]

NOT_SET = math.nan


class Call:
    """A mental-health call for service (non-MH calls are kept as plain rows by the model)."""

    __slots__ = (
        "call_id", "resident", "crisis", "district", "t_received", "t_dispatched", "t_arrived", "t_cleared",
        "identified", "risk", "assessed_risk", "weapon", "responder", "unit", "disposition", "force",
        "subject_injury", "officer_injury", "ed_wait", "officer_min", "referred", "admitted", "program",
        "latents", "substance_use", "eligible", "unserved_reason", "destination", "channel", "scene_consult",
    )  # fmt: skip

    def __init__(self, call_id: int, resident: int, crisis: int, district: int, t_received: float,
                 latents: np.ndarray):  # fmt: skip
        self.call_id = call_id
        self.resident = resident
        self.crisis = crisis
        self.district = district
        self.t_received = t_received
        self.t_dispatched = NOT_SET
        self.t_arrived = NOT_SET
        self.t_cleared = NOT_SET
        self.identified = False
        self.risk = 1
        self.assessed_risk = 1
        self.weapon = False
        self.substance_use = False
        self.responder = ""
        self.unit = -1
        self.disposition = -1  # index into DISPOSITIONS; -1 while open
        self.force = False
        self.subject_injury = False
        self.officer_injury = False
        self.ed_wait = NOT_SET
        self.officer_min = 0.0  # officer-minutes spent on the call (all officers, hand-off included)
        self.referred = False
        self.admitted = False
        self.program = ""  # the program that handled the call, if any
        self.destination = (
            ""  # where the person was taken: "ed", "jail" or the key of a program's destination
        )
        self.eligible = False  # some enabled specialised program's rules admit this call (availability aside)
        self.unserved_reason = ""  # eligible but not served by a specialised responder: busy, off_hours,
        # out_of_area or misidentified (the first program that found it eligible says why)
        self.latents = latents
        self.channel = "911"  # way in: "911", "988" or "988_to_911" (model/crisis_line.py)
        self.scene_consult = False  # the officers phoned a clinician from the scene (model/scene_consult.py)
