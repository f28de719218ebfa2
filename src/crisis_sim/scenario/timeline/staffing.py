"""Staffing events: vacancies, absence, turnover with a hiring lag and a training pipeline, lost patrol units,
CIT course seats.

A post (a patrol unit's officer, a CRPO, a program clinician) is an agent; the person in it may leave and a new one
arrive. A newcomer is not CIT-trained and does not know the referral path (awareness ``new_awareness``) until a
CIT course or a briefing (the training pipeline).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from crisis_sim.scenario.params import param
from crisis_sim.scenario.timeline.base import EventBase, NonNegative, Role, Share, check_role

_NEW_AWARENESS = dict(
    source="[echinops_study] §2.2: a new officer does not know the referral path; assumption",
    unit="probability",
    range=(0.0, 0.2),
)


class _Scoped(EventBase):
    role: Role = "patrol"
    district: str | None = None  # None: every district
    program: str | None = None  # for clinician roles: the program employing them (None: any)

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_role(scenario, index, self.role, self.program, self.district)


class Vacancy(_Scoped):
    """From ``day``, a share of the role's posts stands vacant (replaces any earlier vacancy share there)."""

    type: Literal["vacancy"]
    share: Share
    new_awareness: Share = param(0.05, **_NEW_AWARENESS)


class Absence(_Scoped):
    """From ``day``, each person of the role is absent (sick, leave) on a given day with probability ``share``;
    a later absence event for the same people replaces it (``share = 0`` ends it)."""

    type: Literal["absence"]
    share: Share = param(
        0.05,
        source="assumption: share of rostered days lost to sickness and leave",
        unit="share of days",
        range=(0.02, 0.15),
    )


class Turnover(_Scoped):
    """From ``day``, people leave the role at ``annual_rate``; each post is refilled after the hiring lag plus
    training (academy) time by a newcomer. A later turnover event for the same posts replaces this one."""

    type: Literal["turnover"]
    annual_rate: NonNegative = param(
        0.10,
        source="[perf_workforce] police resignations rose ~50% 2019-2022; [bhworkforce2020] behavioural-health "
        "turnover ~30%/yr; police default is an assumption",
        unit="/year",
        range=(0.05, 0.35),
    )
    hiring_lag_days: NonNegative = param(
        135.0,
        source="[hiring_lags] police hiring lag 3-6 months (weak)",
        unit="days",
        range=(90.0, 180.0),
    )
    training_days: NonNegative = param(
        140.0,
        source="[hiring_lags] 16-24 weeks of academy (weak); set 0 for clinicians",
        unit="days",
        range=(0.0, 170.0),
    )
    new_awareness: Share = param(0.05, **_NEW_AWARENESS)
    briefing_days: NonNegative | None = param(
        None,
        source="assumption: days until a newcomer is briefed on the referral path (awareness back to "
        "police.referral_awareness); absent = never briefed, only champions' visits raise it",
        unit="days",
        range=(14.0, 180.0),
    )


class LosePatrol(EventBase):
    """From ``day``, ``count`` patrol posts (of a district and/or shift) are lost, for ``duration_days`` or for
    good."""

    type: Literal["lose_patrol"]
    count: Annotated[int, Field(ge=1)]
    district: str | None = None
    shift: str | None = None
    duration_days: NonNegative | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_role(scenario, index, "patrol", None, self.district)
        shifts = [s.name for s in scenario.police.shifts]
        if self.shift is not None and self.shift not in shifts:
            raise ValueError(f"timeline.{index}.shift to name a shift {shifts}, found {self.shift!r}")


class CITTraining(EventBase):
    """From ``day``, a CIT course each quarter trains up to ``seats_per_quarter`` in-post officers who are not
    trained yet (the first course runs on ``day``)."""

    type: Literal["cit_training"]
    seats_per_quarter: Annotated[int, Field(ge=0)] = param(
        10,
        source="assumption: seats a quarterly 40-hour CIT course offers the department",
        unit="officers/quarter",
        range=(2, 40),
    )
    district: str | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_role(scenario, index, "patrol", None, self.district)
