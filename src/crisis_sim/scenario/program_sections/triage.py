"""Scenario section ``[programs.triage]``: clinicians in the 911/988 dispatch centre.

They screen MH calls while one is free, recognise MH with a structured protocol (~85%, [mhfr_blog], weak) so that
routing improves, and resolve a share of low-risk calls by phone ([durham_heart]; size assumption).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.types import Duration, LogNormalDuration

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class TriageShift(Strict):
    """One daily shift of dispatch-centre clinicians; may wrap past midnight."""

    start_hour: Annotated[float, Field(ge=0.0, lt=24.0)]
    hours: Annotated[float, Field(gt=0.0, le=24.0)]
    clinicians: Annotated[int, Field(ge=1, le=100)] = 1


class TriageConfig(Strict):
    """Clinician triage in the dispatch centre: screening, identification, phone resolution."""

    key: ClassVar[str] = "triage"  # the scenario's [programs.triage] section

    enabled: bool = True
    shifts: list[TriageShift] = param(
        [
            TriageShift(start_hour=8.0, hours=12.0, clinicians=1),
            TriageShift(start_hour=20.0, hours=12.0, clinicians=1),
        ],
        source="assumption: one clinician on the dispatch floor around the clock in two 12-hour shifts "
        "(Durham HEART call-centre clinicians [durham_heart])",
        unit="shifts",
        range=(1, 4),
        min_length=1,
    )
    identification: Share = param(
        0.85,
        source="[mhfr_blog] (weak): a structured screening protocol recognises ~85% of MH calls",
        unit="probability for a screened call",
        range=(0.6, 0.95),
    )
    phone_resolution_share: Share = param(
        0.2,
        source="[durham_heart] some calls resolved by the clinician on the phone; size assumption",
        unit="share of screened, recognised, low-risk calls without a weapon",
        range=(0.05, 0.4),
    )
    phone_referral_share: Share = param(
        0.3,
        source="assumption: phone-resolved callers linked to community services",
        unit="share",
        range=(0.1, 0.6),
    )
    screen_time: Duration = param(
        LogNormalDuration(median_min=6.0, p90_min=15.0),
        source="assumption: clinician time to screen a call that is then dispatched",
        unit="min",
        range=(3.0, 20.0),
    )
    phone_time: Duration = param(
        LogNormalDuration(median_min=25.0, p90_min=60.0),
        source="assumption: clinician time on a call resolved by phone",
        unit="min",
        range=(10.0, 90.0),
    )
    clinician_hour: NonNegative = param(
        50.0,
        source="assumption: loaded cost of a dispatch-centre clinician hour, USD",
        unit="USD/h",
        range=(35.0, 80.0),
    )
