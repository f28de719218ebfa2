"""Building blocks shared by the schema, program sections and timeline events: names, numeric aliases, durations.

Kept apart from ``schema.py`` so that program sections and events can use them while ``schema.py`` imports those
sections (no import cycle).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict

DISPOSITIONS = ("resolved", "report", "referral", "voluntary_transport", "involuntary", "arrest")
RISK_LEVELS = ("low", "medium", "high")
SEVERITIES = ("mild", "moderate", "severe")

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Hour = Annotated[float, Field(ge=0.0, le=24.0)]  # an hour of the day (24 = midnight at the end)


def minute_mask(start_hour: float, end_hour: float) -> tuple[int, int]:
    """Opening hours as (start, end) minute of day; end <= start wraps past midnight, start == end is around the
    clock (so 0-24 and 24-0 both mean around the clock)."""
    return round(start_hour * 60) % 1440, round(end_hour * 60) % 1440


# --- durations -----------------------------------------------------------------------------------------------
class LogNormalDuration(Strict):
    """Right-skewed duration given by its median and 90th percentile (minutes)."""

    kind: Literal["lognormal"] = "lognormal"
    median_min: Positive
    p90_min: Positive

    @model_validator(mode="after")
    def _p90_above_median(self) -> LogNormalDuration:
        if self.p90_min <= self.median_min:
            raise ValueError(f"p90_min must be greater than median_min ({self.median_min}), found {self.p90_min}")
        return self

    @property
    def sigma(self) -> float:
        return math.log(self.p90_min / self.median_min) / 1.2815515655446004

    @property
    def mean_min(self) -> float:
        return self.median_min * math.exp(self.sigma**2 / 2)


class ExponentialDuration(Strict):
    """Memoryless duration (used for queueing checks)."""

    kind: Literal["exponential"]
    mean_min: Positive


class FixedDuration(Strict):
    """A constant duration; 0 means 'no time'."""

    kind: Literal["fixed"]
    minutes: NonNegative

    @property
    def mean_min(self) -> float:
        return self.minutes


Duration = Annotated[LogNormalDuration | ExponentialDuration | FixedDuration, Field(discriminator="kind")]
