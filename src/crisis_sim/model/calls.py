"""The call record: one per police call, filled in as the call moves through triage, dispatch, scene, hand-off.

MH calls carry a row of latent uniforms tied to (resident, crisis number); every decision about the call reads its
own column, so a scenario change alters the outcome of a decision, never which random number it sees.
"""

from __future__ import annotations

import math

import numpy as np

# Columns of a crisis's latent row. Never renumber; append new columns before N_LATENTS and raise it.
U_IDENTIFY = 0
U_RISK = 1
U_RISK_ASSESS = 2
U_WEAPON = 3
U_TRAVEL = 4
U_SCENE = 5
U_DISPOSITION = 6
U_FORCE = 7
U_SUBJECT_INJURY = 8
U_OFFICER_INJURY = 9
U_ATTEND = 10
U_ENGAGEMENT = 11
U_DISENGAGE = 12
U_ADMIT = 13
U_TRANSPORT = 14
U_ED_ASSESS = 15
U_BOOKING = 16
U_DISCHARGE_REFERRAL = 17
U_PROGRAM = 18  # first of the columns reserved for programs (18..31)
N_LATENTS = 32

NOT_SET = math.nan


class Call:
    """A mental-health call for service (non-MH calls are kept as plain rows by the model)."""

    __slots__ = (
        "call_id", "resident", "crisis", "district", "t_received", "t_dispatched", "t_arrived", "t_cleared",
        "identified", "risk", "assessed_risk", "weapon", "responder", "unit", "disposition", "force",
        "subject_injury", "officer_injury", "ed_wait", "officer_min", "referred", "admitted", "program",
        "latents", "substance_use", "eligible", "unserved_reason", "destination",
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
        self.destination = ""  # where the person was taken: "ed", "jail" or the key of a program's destination
        self.eligible = False  # some enabled specialised program's rules admit this call (availability aside)
        self.unserved_reason = ""  # eligible but not served by a specialised responder: busy, off_hours,
        # out_of_area or misidentified (the first program that found it eligible says why)
        self.latents = latents
