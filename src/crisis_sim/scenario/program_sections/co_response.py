"""Scenario section ``[programs.co_response]``: police officer + clinician units on limited shifts.

Disposition defaults follow the two evaluations the domain model anchors on: Bailey 2022 (Indianapolis, immediate
arrest OR ~0.48) and Blais 2020 (Quebec, fewer hospital transports, more community referrals); sizes not reported
there are assumptions with ranges.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.program_sections import check_districts_exist
from crisis_sim.scenario.types import Duration, LogNormalDuration

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class CoResponseShift(Strict):
    """One daily shift of co-response units; may wrap past midnight (e.g. start 22, 10 hours)."""

    start_hour: Annotated[float, Field(ge=0.0, lt=24.0)]
    hours: Annotated[float, Field(gt=0.0, le=24.0)]
    units: Annotated[int, Field(ge=1, le=100)] = 1


class CoResponseConfig(Strict):
    """Co-response units, where and when they work, which calls they take and what they change."""

    key: ClassVar[str] = "co_response"  # the scenario's [programs.co_response] section

    enabled: bool = True
    mode: Literal["ride_along", "meet_at_scene"] = param(
        "ride_along",
        source="[bailey2022] [blais2020] officer and clinician in one car, or the clinician meeting at the scene",
        unit="-",
    )
    shifts: list[CoResponseShift] = param(
        [CoResponseShift(start_hour=14.0, hours=8.0, units=1)],
        source="assumption: one unit 14:00-22:00, the MH-call peak ([wuschke2018], [vaughan2019])",
        unit="shifts",
        range=(1, 4),
        min_length=1,
    )
    districts: list[str] = param(
        [],
        source="scenario choice (an assumption, not evidence): an empty list covers the whole city; list district names to restrict",
        unit="district names",
    )
    max_assessed_risk: Literal["low", "medium", "high"] = param(
        "high",
        source="[bailey2022] [blais2020] co-response units take MH calls including higher-risk ones",
        unit="risk level",
    )
    weapon_calls: bool = param(
        True,
        source="[bailey2022] co-response takes MH calls including risky ones (an armed officer is on the unit)",
        unit="-",
    )
    clinician_role: Literal["nurse", "social_worker", "psychiatrist", "peer", "emt"] = param(
        "social_worker",
        source="[bailey2022] [blais2020] co-response pairs an officer with a clinician; role choice is an assumption",
        unit="-",
    )
    clinician_travel: Duration = param(
        LogNormalDuration(median_min=15.0, p90_min=35.0),
        source="assumption: clinician's own travel to the scene in meet_at_scene mode (from a central base)",
        unit="min",
        range=(8.0, 45.0),
    )
    on_scene_factor: Positive = param(
        1.25,
        source="assumption: co-response encounters last longer on scene than patrol's",
        unit="multiplier",
        range=(1.0, 1.75),
    )
    arrest_or: Positive = param(
        0.48,
        source="[bailey2022] Indianapolis co-response (quasi-experimental): immediate arrest OR 0.48 (95% CI 0.25-0.92)",
        unit="odds ratio vs patrol",
        range=(0.3, 0.8),
    )
    voluntary_transport_or: Positive = param(
        0.75,
        source="[blais2020] Quebec: fewer hospital transports; size assumption",
        unit="odds ratio vs patrol",
        range=(0.5, 1.0),
    )
    involuntary_or: Positive = param(
        0.7,
        source="[blais2020] Quebec: fewer hospital transports; size assumption",
        unit="odds ratio vs patrol",
        range=(0.5, 1.0),
    )
    referral_or: Positive = param(
        2.0,
        source="[blais2020] Quebec: more referrals to community services; size assumption",
        unit="odds ratio vs patrol",
        range=(1.2, 3.0),
    )
    force_or: Positive = param(
        1.0,
        source="assumption: no robust evidence on force for co-response; kept null",
        unit="odds ratio vs patrol",
        range=(0.6, 1.1),
    )
    follow_up_share: Share = param(
        0.5,
        source="assumption: share of co-response encounters that get a follow-up contact",
        unit="share",
        range=(0.2, 0.9),
    )
    follow_up_delay_days: NonNegative = param(
        2.0,
        source="assumption: days from the encounter to the follow-up contact",
        unit="days",
        range=(1.0, 7.0),
    )
    follow_up_time: Duration = param(
        LogNormalDuration(median_min=40.0, p90_min=90.0),
        source="assumption: unit time per follow-up contact",
        unit="min",
        range=(20.0, 120.0),
    )
    follow_up_referral_share: Share = param(
        0.4,
        source="assumption: follow-up contacts that end in a referral to services (if not already waitlisted "
        "or in care)",
        unit="share",
        range=(0.1, 0.7),
    )
    clinician_hour: NonNegative = param(
        55.0, source="assumption: loaded cost of a clinician hour, USD", unit="USD/h", range=(40.0, 90.0)
    )

    @model_validator(mode="after")
    def _distinct_districts(self) -> CoResponseConfig:
        dupes = sorted({d for d in self.districts if self.districts.count(d) > 1})
        if dupes:
            raise ValueError(f"distinct district names, found duplicates {dupes}")
        return self

    def check_scenario(self, scenario: Any) -> None:
        """Covered districts must exist in the city."""
        check_districts_exist("co_response", self.districts, scenario)
