"""Scenario section of the crisis stabilisation centre: "a place to go" that takes drop-offs in minutes.

Beds and length of stay decide how often the centre is full and the ED takes the person instead.
"""

from __future__ import annotations

from typing import ClassVar

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.types import Duration, LogNormalDuration, NonNegative, Share


class StabilizationConfig(Strict):
    """[programs.stabilization]: beds, length of stay, drop-off time, who is accepted, cost."""

    key: ClassVar[str] = "stabilization"  # the scenario's [programs.stabilization] section

    enabled: bool = True
    beds: int = param(
        12,
        source="assumption: beds/recliners of a city crisis stabilisation unit",
        unit="beds",
        range=(4, 40),
        ge=1,
        le=2000,
    )
    length_of_stay: Duration = param(
        LogNormalDuration(median_min=18 * 60.0, p90_min=60 * 60.0),
        source="assumption: 23-hour observation chairs to a few days of residential stabilisation",
        unit="min",
        range=(8 * 60.0, 96 * 60.0),
    )
    drop_off: Duration = param(
        LogNormalDuration(median_min=10.0, p90_min=20.0),
        source="a crisis stabilisation centre takes drop-offs in minutes (vs 113-123 min per ED referral, "
        "[hoffman2021]); exact figures assumption",
        unit="min",
        range=(5.0, 30.0),
    )
    accepts_involuntary: bool = param(
        False,
        source="assumption: many centres take only voluntary clients; some accept holds",
        range=(0, 1),
    )
    link_before_discharge_share: Share = param(
        0.0,
        source="assumption: share of admissions the centre links to community services before discharge (a "
        "priority referral made during the stay; 0 = no linkage, the default)",
        unit="share of admissions",
        range=(0.0, 0.8),
    )
    bed_day_cost: NonNegative = param(
        600.0,
        source="assumption: staffed bed-day of a crisis stabilisation unit, USD (below psychiatric inpatient "
        "~$770-830/day, [inpatientcost2012])",
        unit="USD/bed-day",
        range=(300.0, 1000.0),
    )
