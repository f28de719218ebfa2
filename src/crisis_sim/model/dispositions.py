"""On-scene outcomes: exactly one disposition per MH encounter, plus use of force and injuries.

Probabilities start from police-as-usual shares for a medium-risk call and are shifted by odds ratios (risk level,
substance use, a call the dispatcher did not flag as MH, the responder type). Programs register their responder
type with their own odds ratios; the core never special-cases a program. Tables are built once per responder so
that the per-call cost is a lookup and a short scan of a cumulative list.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping

from crisis_sim.scenario.schema import DISPOSITIONS, Dispositions

D_INDEX = {d: i for i, d in enumerate(DISPOSITIONS)}
ARREST = D_INDEX["arrest"]
INVOLUNTARY = D_INDEX["involuntary"]
VOLUNTARY = D_INDEX["voluntary_transport"]
REFERRAL = D_INDEX["referral"]
REPORT = D_INDEX["report"]
RESOLVED = D_INDEX["resolved"]
COERCIVE = frozenset({ARREST, INVOLUNTARY})
PHONE = len(DISPOSITIONS)  # resolved by phone in the dispatch centre (911/988 triage): no unit sent
DISPOSITION_LABELS = (*DISPOSITIONS, "phone_resolved")


def _shift(probs: list[float], odds: Mapping[int, float]) -> list[float]:
    """Multiply each outcome's odds against the rest (multinomial-logit style) and renormalise."""
    weights = [p * odds.get(i, 1.0) for i, p in enumerate(probs)]
    total = sum(weights)
    return [w / total for w in weights]


class DispositionModel:
    """Cumulative disposition tables and force probabilities per responder type."""

    def __init__(self, cfg: Dispositions):
        self.cfg = cfg
        self.base = [float(getattr(cfg.police_medium_risk, d)) for d in DISPOSITIONS]
        self.risk_odds = {
            0: {D_INDEX[k]: v for k, v in cfg.risk_odds.get("low", {}).items()},
            1: {},
            2: {D_INDEX[k]: v for k, v in cfg.risk_odds.get("high", {}).items()},
        }
        self._tables: dict[tuple, list[float]] = {}
        self._force: dict[tuple, float] = {}
        self.responders: dict[str, dict] = {}
        self.register("patrol", {}, force_or=1.0)

    def register(self, responder: str, odds: Mapping[str, float], force_or: float = 1.0) -> None:
        """Add a responder type whose disposition odds differ from patrol's by ``odds`` (name → ratio)."""
        unknown = set(odds) - set(DISPOSITIONS)
        if unknown:
            raise ValueError(f"unknown dispositions {sorted(unknown)}")
        r_odds = {D_INDEX[k]: float(v) for k, v in odds.items()}
        self.responders[responder] = {"odds": r_odds, "force_or": force_or}
        c = self.cfg
        for risk, sub, ident in itertools.product((0, 1, 2), (0, 1), (0, 1)):
            probs = _shift(self.base, self.risk_odds[risk])
            person = {ARREST: (c.substance_use_arrest_or if sub else 1.0) * (1.0 if ident else c.unidentified_arrest_or)}
            probs = _shift(probs, person)
            probs = _shift(probs, r_odds)
            self._tables[(responder, risk, sub, ident)] = list(itertools.accumulate(probs))
        for risk, arrest, weapon in itertools.product((0, 1, 2), (0, 1), (0, 1)):
            base = c.force_base
            odds = base / (1 - base)
            odds *= c.force_or_high_risk if risk == 2 else 1.0
            odds *= c.force_or_arrest if arrest else 1.0
            odds *= c.force_or_weapon if weapon else 1.0
            odds *= force_or
            self._force[(responder, risk, arrest, weapon)] = odds / (1 + odds)

    def probabilities(self, responder: str, risk: int, substance: bool, identified: bool) -> list[float]:
        cum = self._tables[(responder, risk, int(substance), int(identified))]
        return [b - a for a, b in zip([0.0, *cum[:-1]], cum, strict=True)]

    def draw(self, responder: str, risk: int, substance: bool, identified: bool, u: float) -> int:
        cum = self._tables[(responder, risk, int(substance), int(identified))]
        return min(bisect.bisect_right(cum, u), len(cum) - 1)

    def force_probability(self, responder: str, risk: int, disposition: int, weapon: bool) -> float:
        return self._force[(responder, risk, int(disposition == ARREST), int(weapon))]
