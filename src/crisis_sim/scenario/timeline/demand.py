"""Demand events: an MH call surge (rate x factor from a date), a yearly trend, and ED boarding getting worse.

Common random numbers are kept: a surge scales residents' crisis hazards, so the unit-exponential clocks each
resident draws stay the same and every crisis before the date happens exactly as without the surge; ED boarding
scales the assessment time drawn from the same quantile. With ``non_mh = true`` a surge or trend also scales the
non-MH police-call rate by a time change of that pre-drawn stream (``CrisisModel.set_other_rate_factor``): the
same calls, in the same order, arrive sooner or later from the date.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from crisis_sim.scenario.params import param
from crisis_sim.scenario.timeline.base import EventBase, Positive, check_district


class _Districted(EventBase):
    district: str | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_district(scenario, index, self.district)


NON_MH_SOURCE = (
    "assumption: [ira2024] reports more MH calls, not more police calls overall; whether a surge or trend also "
    "moves other police work (e.g. a general rise in calls for service) is a scenario choice"
)


class _DemandChange(_Districted):
    non_mh: bool = param(
        False,
        source=NON_MH_SOURCE,
        unit="flag (true: the non-MH police-call rate changes by the same factor, city-wide)",
        range=(0, 1),
    )

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        if self.non_mh and self.district is not None:
            raise ValueError(
                f"timeline.{index}.district to be absent when non_mh = true (non-MH calls are one city-wide "
                f"stream), found {self.district!r}"
            )


class DemandSurge(_DemandChange):
    """From ``day``, MH crises (hence MH calls) arrive ``factor`` times as often as the scenario's base rate
    (replaces an earlier surge factor; ``factor = 1`` ends it). With ``non_mh``, non-MH police calls too (a
    later surge without ``non_mh`` leaves the non-MH factor as it is)."""

    type: Literal["demand_surge"]
    factor: Positive = param(
        1.2,
        source="[ira2024] 84% of senior police officials report more MH calls; size is an assumption",
        unit="multiplier of the MH call rate",
        range=(1.0, 2.0),
    )


class DemandTrend(_DemandChange):
    """From ``day``, the MH call rate changes by ``annual_change`` a year (compounded, updated every month).
    With ``non_mh``, the non-MH police-call rate too (until a later trend event with ``non_mh`` replaces it)."""

    type: Literal["demand_trend"]
    annual_change: Annotated[float, Field(gt=-1.0, le=5.0)] = param(
        0.05,
        source="[ira2024] 84% of senior police officials report more MH calls; yearly size is an assumption",
        unit="share per year",
        range=(-0.1, 0.2),
    )


class EDBoarding(EventBase):
    """From ``day``, psychiatric assessments in the ED take ``factor`` times as long (boarding gets worse)."""

    type: Literal["ed_boarding"]
    factor: Positive = param(
        1.5,
        source="[florida_ed] psychiatric patients stay long in the ED (mean 7.77 h, Florida, weak); worsening is an "
        "assumption",
        unit="multiplier of assessment time",
        range=(1.0, 3.0),
    )
