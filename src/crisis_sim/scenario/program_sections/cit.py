"""Scenario section ``[programs.cit]``: Crisis Intervention Team training for a share of patrol officers.

Defaults keep the evidence's near-null effects on arrest and force (Taheri 2016) and make the referral gain depend
on community-services capacity (Watson 2011), so a city without services gains nothing from training.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from crisis_sim.scenario.params import Strict, param

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class CITConfig(Strict):
    """CIT-trained patrol officers and the dispatch preference for them on identified MH calls."""

    key: ClassVar[str] = "cit"  # the scenario's [programs.cit] section

    enabled: bool = True
    trained_share: Share = param(
        0.25,
        source="assumption: Memphis-model guidance [memphis_cit] trains 20-25% of patrol; departments range from a few to all "
        "officers",
        unit="share of patrol officers (each district and shift)",
        range=(0.05, 1.0),
    )
    course_hours: NonNegative = param(
        40.0, source="[nyu_scn] [bailey2022] the CIT course is 40 hours", unit="h per trained officer", range=(24.0, 40.0)
    )
    refresher_hours_per_year: NonNegative = param(
        8.0, source="assumption: annual in-service refresher", unit="h/officer/year", range=(0.0, 16.0)
    )
    wait_tolerance_min: NonNegative = param(
        10.0,
        source="assumption: how long dispatch holds an identified MH call for a CIT officer before sending any unit",
        unit="min",
        range=(0.0, 30.0),
        le=240.0,
    )
    arrest_or: Positive = param(
        1.0,
        source="[taheri2016] meta-analysis: no significant effect of CIT on arrest (near-null)",
        unit="odds ratio vs patrol",
        range=(0.8, 1.1),
    )
    force_or: Positive = param(
        1.0,
        source="[taheri2016] meta-analysis: no significant effect of CIT on arrest (d=0.18, p=.50) or officer "
        "safety; force kept near-null",
        unit="odds ratio vs patrol",
        range=(0.8, 1.1),
    )
    referral_or_max: Annotated[float, Field(ge=1.0)] = param(
        1.6,
        source="[watson2011] CIT officers refer/transport to services more where service availability is high; "
        "size assumption",
        unit="odds ratio vs patrol at ample capacity",
        range=(1.0, 2.5),
    )
    capacity_half_per_100k: Positive = param(
        8.0,
        source="assumption: community-services intakes per week per 100,000 residents at which half of the "
        "referral gain is realised ([watson2011]: the gain depends on availability)",
        unit="intakes/week/100k",
        range=(2.0, 30.0),
    )
