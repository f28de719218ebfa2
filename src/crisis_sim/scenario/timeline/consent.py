"""Consent and information-sharing friction ([echinops_study]: a signed authorisation before CRPOs may share anything):
the probability and the delay of the signed consent change at a date."""

from __future__ import annotations

from typing import Any, Literal

from crisis_sim.scenario.timeline.base import EventBase, NonNegative, Share, check_program


class ConsentChange(EventBase):
    """From ``day``, outreach's consent probability at mean trust and/or the days for the signed form to come back
    take new values (absent fields keep theirs)."""

    type: Literal["consent_change"]
    program: Literal["outreach"] = "outreach"
    consent_at_mean_trust: Share | None = None
    consent_delay_days: NonNegative | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_program(scenario, index, self.program)
        if self.consent_at_mean_trust is None and self.consent_delay_days is None:
            raise ValueError(
                f"timeline.{index} to set consent_at_mean_trust and/or consent_delay_days, found neither"
            )
        if self.consent_at_mean_trust is not None and not 0.0 < self.consent_at_mean_trust < 1.0:
            raise ValueError(
                f"timeline.{index}.consent_at_mean_trust to be strictly between 0 and 1, "
                f"found {self.consent_at_mean_trust}"
            )
