"""Demand events: an MH call surge (rate x factor from a date), a yearly trend, and ED boarding getting worse.

Common random numbers are kept: a surge scales residents' crisis hazards, so the unit-exponential clocks each
resident draws stay the same and every crisis before the date happens exactly as without the surge; ED boarding
scales the assessment time drawn from the same quantile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from crisis_sim.events.base import EventBase, Positive, check_district
from crisis_sim.scenario.params import param

if TYPE_CHECKING:
    from crisis_sim.events.runtime import Timeline
    from crisis_sim.scenario.schema import Scenario


class _Districted(EventBase):
    district: str | None = None

    def check_scenario(self, scenario: Scenario, index: int) -> None:
        super().check_scenario(scenario, index)
        check_district(scenario, index, self.district)


class DemandSurge(_Districted):
    """From ``day``, MH crises (hence MH calls) arrive ``factor`` times as often as the scenario's base rate
    (replaces an earlier surge factor; ``factor = 1`` ends it)."""

    type: Literal["demand_surge"]
    factor: Positive = param(
        1.2,
        source="seed 002: 84% of senior police officials report more MH calls; size is an assumption",
        unit="multiplier of the MH call rate",
        range=(1.0, 2.0),
    )

    def apply(self, tl: Timeline, index: int) -> None:
        tl.set_surge(self.district, self.factor)


class DemandTrend(_Districted):
    """From ``day``, the MH call rate changes by ``annual_change`` a year (compounded, updated every month)."""

    type: Literal["demand_trend"]
    annual_change: Annotated[float, Field(gt=-1.0, le=5.0)] = param(
        0.05,
        source="seed 002: 84% of senior police officials report more MH calls; yearly size is an assumption",
        unit="share per year",
        range=(-0.1, 0.2),
    )

    def apply(self, tl: Timeline, index: int) -> None:
        tl.start_trend(index, self)


class EDBoarding(EventBase):
    """From ``day``, psychiatric assessments in the ED take ``factor`` times as long (boarding gets worse)."""

    type: Literal["ed_boarding"]
    factor: Positive = param(
        1.5,
        source="DOMAIN.md: psychiatric patients stay long in the ED (mean 7.77 h, Florida); worsening is an "
        "assumption",
        unit="multiplier of assessment time",
        range=(1.0, 3.0),
    )

    def apply(self, tl: Timeline, index: int) -> None:
        tl.model.ed.assess_factor = self.factor
