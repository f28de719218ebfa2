"""Trust that moves and matters ([population.trust_dynamics]; issue 13, item 5).

Every resident starts with trust in police and in services drawn at build time (model/residents.py). Coercion
(arrest, force, an involuntary hold) lowers trust in police by ``dispositions.coercion_trust_loss`` (and trust in
services by half of it after a hold) whether this switch is on or not. With the switch on:

- trust rises slowly after helpful contacts: a police responder's contact resolved on scene or referred without
  force closes ``police_gain`` of the gap to 1; a referral, a connection to care at intake, and any non-coercive
  contact by a responder in ``services_responders`` close ``services_gain`` of the gap in trust in services;
- the trust in police a person has *lost since the start* (initial minus current, never below 0) changes
  (a) whether a later crisis is called in at all: with probability ``min(uncalled_max, uncalled_per_lost_trust x
  lost)`` nobody calls (counted as ``crises_uncalled``); with the crisis line on, the share of crises reaching the
  line rises by ``line_per_lost_police_trust x lost + line_per_gained_services_trust x gained services trust``
  first, so some of those crises go to the line rather than 911 or nobody;
  (c) the odds of force in an encounter, multiplied by ``force_or_per_lost_trust ** lost``;
- (b) outreach consent and attendance at intake read trust in services as they always did, so the moved trust
  flows there.

Trust is measured against each person's own starting value because the calibrated call rates already carry the
population's baseline trust: the switch changes nothing until someone's trust has moved, and a run's first
crises are the same with it on or off. The only new random numbers are the ``trust`` stream's rows, one per
(resident, crisis number), drawn in one block (random access: the same crisis sees the same uniform whoever asks).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.dispositions import COERCIVE, REFERRAL, RESOLVED
from crisis_sim.model.draws import PerEntityDraws

if TYPE_CHECKING:
    from mesa import Model  # the running model (CoreModel)

    from crisis_sim.model.agents import Resident
    from crisis_sim.model.calls import Call

# Columns of a crisis's row in the ``trust`` stream. Never renumber; append.
TRUST_COLUMNS: dict[str, int] = {"uncalled": 0}
TRUST_WIDTH = 2  # one spare column for later decisions (appending one changes no existing draw)
TRUST_ROWS = 4  # rows pre-drawn per resident; later crises come from per-resident overflow substreams


class TrustDynamics:
    """Gains after helpful contacts; lost trust's effect on calling and on force (switch on only)."""

    def __init__(self, model: Model):
        self.model = model
        self.cfg = cfg = model.cfg.population.trust_dynamics
        self.police0 = [r.trust_police for r in model.residents]
        self.services0 = [r.trust_services for r in model.residents]
        self.police_responders = frozenset(cfg.police_responders)
        self.services_responders = frozenset(cfg.services_responders)
        self.coerced: set[int] = set()  # residents who had a coercive contact during the run
        self.uncalled: list[tuple[int, int, float]] = []  # (resident, crisis number, time)
        self._draws: PerEntityDraws | None = None
        self.warm = model.cfg.simulation.warmup_days * DAY_MIN

    def lost_police(self, r: Resident) -> float:
        """Trust in police lost since the start of the run (0 if it has not fallen)."""
        lost = self.police0[r.idx] - r.trust_police
        return lost if lost > 0.0 else 0.0

    def uniforms(self, resident: int, crisis: int) -> list[float]:
        """The ``trust`` stream's row for the resident's ``crisis``-th crisis (columns: TRUST_COLUMNS)."""
        draws = self._draws
        if draws is None:
            m = self.model
            draws = self._draws = PerEntityDraws(
                m.root_seed, m.replication, "trust", len(m.residents), TRUST_ROWS, TRUST_WIDTH, exp=False
            )
        return draws.row(resident, crisis - 1)

    # --- (a) who calls ------------------------------------------------------------------------------------
    def line_extra(self, r: Resident) -> float:
        """Added share of the resident's crises that reach the crisis line (low police, higher services trust)."""
        cfg = self.cfg
        gained = r.trust_services - self.services0[r.idx]
        return cfg.line_per_lost_police_trust * self.lost_police(r) + cfg.line_per_gained_services_trust * (
            gained if gained > 0.0 else 0.0
        )

    def goes_uncalled(self, r: Resident) -> bool:
        """Whether nobody calls 911 for the resident's new crisis (``r.crises``); if so it is recorded."""
        lost = self.lost_police(r)
        if lost <= 0.0:
            return False
        p = min(self.cfg.uncalled_max, self.cfg.uncalled_per_lost_trust * lost)
        if self.uniforms(r.idx, r.crises)[TRUST_COLUMNS["uncalled"]] >= p:
            return False
        m = self.model
        m.crisis_latents.next_row(r.idx)  # the crisis's latent row is used up, as a call would use it (CRN)
        self.uncalled.append((r.idx, r.crises, float(m.env.now)))
        return True

    # --- (c) force ----------------------------------------------------------------------------------------
    def force_probability(self, p: float, r: Resident) -> float:
        """The encounter's force probability ``p`` with its odds times ``force_or_per_lost_trust ** lost``."""
        lost = self.lost_police(r)
        if lost <= 0.0 or p <= 0.0 or p >= 1.0:
            return p
        odds = p / (1.0 - p) * math.pow(self.cfg.force_or_per_lost_trust, lost)
        return odds / (1.0 + odds)

    # --- gains and coercion -------------------------------------------------------------------------------
    def after_encounter(self, call: Call, r: Resident) -> None:
        """After the encounter's own coercion loss: record coercion, or raise trust after a helpful contact."""
        disp = call.disposition
        if disp in COERCIVE or call.force:
            self.coerced.add(r.idx)
            return
        cfg, m = self.cfg, self.model
        police = services = 0.0
        if call.responder in self.police_responders and disp in (RESOLVED, REFERRAL):
            police = cfg.police_gain * (1.0 - r.trust_police)
        if disp == REFERRAL or call.responder in self.services_responders:
            services = cfg.services_gain * (1.0 - r.trust_services)
        if police or services:
            m.adjust_trust(r, police=police, services=services)

    def after_connection(self, r: Resident) -> None:
        """A referral that became a connection to care at intake."""
        m = self.model
        m.adjust_trust(r, services=self.cfg.services_gain * (1.0 - r.trust_services))

    # --- outputs ------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Uncalled crises after warm-up; mean trust at the end, overall and by whether the person was coerced."""
        residents = self.model.residents
        out: dict[str, Any] = {"crises_uncalled": sum(1 for _i, _k, t in self.uncalled if t >= self.warm)}
        n = len(residents)
        out["trust_police_mean_end"] = math.fsum(r.trust_police for r in residents) / n if n else None
        out["trust_services_mean_end"] = math.fsum(r.trust_services for r in residents) / n if n else None
        coerced = self.coerced
        for label, members in (
            ("coerced", [r for r in residents if r.idx in coerced]),
            ("not_coerced", [r for r in residents if r.idx not in coerced]),
        ):
            k = len(members)
            out[f"residents_{label}"] = k
            out[f"trust_police_mean_end_{label}"] = (
                math.fsum(r.trust_police for r in members) / k if k else None
            )
            out[f"trust_services_mean_end_{label}"] = (
                math.fsum(r.trust_services for r in members) / k if k else None
            )
        return out
