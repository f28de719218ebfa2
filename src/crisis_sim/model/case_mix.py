"""Case mix by hour and weekday: risk, weapons, substance use and identification of an MH call vary with the time
the call is received (``dispatch.case_mix_by_time``).

Each decision reads the call's own latent uniform against a probability shifted by the factor of the call's hour
of the week (168 bins, Monday 00:00 first), so common random numbers hold: the same crisis keeps its uniforms and
only the thresholds move. Risk uses an odds multiplier of medium-or-high against low (medium and high keep their
ratio); weapons, identification and substance involvement use probability multipliers capped at 1. Substance
involvement reads the risk uniform's position within the band of the call's risk level, which is uniform and
independent of the level (a conditional quantile), so the mechanism needs no latent column of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisis_sim.model import calls as C

if TYPE_CHECKING:
    from crisis_sim.model.agents import Dispatcher, Resident
    from crisis_sim.scenario.schema import CaseMixByTime, RiskMix

WEEK_MIN = 7 * 24 * 60


class CaseMix:
    """The week's factors, precomputed; :meth:`draw` fills a new call's risk, weapon, substance use and
    identification."""

    __slots__ = ("risk_odds", "identification", "weapon", "substance", "p_user", "p_other")

    def __init__(self, cfg: CaseMixByTime):
        self.risk_odds = cfg.week_profile("risk_odds")
        self.identification = cfg.week_profile("identification")
        self.weapon = cfg.week_profile("weapon")
        self.substance = cfg.week_profile("substance")
        self.p_user = cfg.substance_involvement_user
        self.p_other = cfg.substance_involvement_other

    @staticmethod
    def hour_of_week(t: float) -> int:
        h = int((t % WEEK_MIN) * (1.0 / 60.0))
        return 167 if h > 167 else h

    def risk_shares(self, mix: RiskMix, h: int) -> tuple[float, float]:
        """(P(low), P(medium)) at hour of week ``h``."""
        k = self.risk_odds[h]
        den = mix.low + k * (1.0 - mix.low)
        if den <= 0.0:
            return 0.0, 0.0
        return mix.low / den, mix.medium * k / den

    def draw(
        self, call: C.Call, r: Resident, mix: RiskMix, dispatcher: Dispatcher, weapon_share: float
    ) -> None:
        lat = call.latents
        h = self.hour_of_week(call.t_received)
        p_low, p_med = self.risk_shares(mix, h)
        u = lat[C.U_RISK]
        p_elev = p_low + p_med
        if u < p_low:
            call.risk, lo, hi = 0, 0.0, p_low
        elif u < p_elev:
            call.risk, lo, hi = 1, p_low, p_elev
        else:
            call.risk, lo, hi = 2, p_elev, 1.0
        # The risk uniform's position within its level's band: uniform and independent of the level, so it decides
        # substance involvement without a latent column of its own (conditional quantile).
        v = (u - lo) / (hi - lo) if hi > lo else 0.5
        call.assessed_risk = dispatcher.assess_risk(call.risk, lat[C.U_RISK_ASSESS])
        call.identified = lat[C.U_IDENTIFY] < min(1.0, dispatcher.identification * self.identification[h])
        call.weapon = lat[C.U_WEAPON] < min(1.0, weapon_share * self.weapon[h])
        p_sub = (self.p_user if r.substance_use else self.p_other) * self.substance[h]
        call.substance_use = bool(v < min(1.0, p_sub))
