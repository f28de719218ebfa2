"""Common ground of timeline events: the dated base class, scope checks against the scenario, and ``note``.

An event is plain data (a frozen pydantic model) with one method, :meth:`EventBase.check_scenario` (cross-checks
against the rest of the scenario at validation time). What an event does at ``day * 1440`` minutes on the SimPy
clock is its *effect*, registered by event type in :mod:`crisis_sim.timeline.effects`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from crisis_sim.scenario.params import Strict

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

CLINICIAN_ROLES = ("nurse", "psychiatrist", "social_worker", "peer", "emt")  # staff roles programs employ
ROLES = ("patrol", "crpo", *CLINICIAN_ROLES)
Role = Literal["patrol", "crpo", "nurse", "psychiatrist", "social_worker", "peer", "emt"]


class EventBase(Strict):
    """A dated event; ``day`` counts from the start of the run (warm-up included)."""

    day: NonNegative = Field(description="day of the run on which the event takes effect (0 = start)")
    label: str = Field("", description="free text shown in the summary's list of fired events")

    def check_scenario(self, scenario: Any, index: int) -> None:
        """Cross-checks against the scenario (raise ValueError 'expected ..., found ...')."""
        horizon = scenario.simulation.horizon_days
        if self.day >= horizon:
            raise ValueError(
                f"timeline.{index}.day to be before the horizon ({horizon} days), found {self.day:g}"
            )


def check_district(scenario: Any, index: int, district: str | None) -> None:
    if district is None:
        return
    names = [d.name for d in scenario.city.districts]
    if district not in names:
        raise ValueError(
            f"timeline.{index}.district to name a district of the city {names}, found {district!r}"
        )


def enabled_programs(scenario: Any) -> list[str]:
    """Keys of the program sections present and enabled in the scenario."""
    out = []
    for key in type(scenario.programs).model_fields:
        section = getattr(scenario.programs, key, None)
        if section is not None and getattr(section, "enabled", True):
            out.append(key)
    return out


def check_program(scenario: Any, index: int, program: str | None) -> None:
    if program is None:
        return
    on = enabled_programs(scenario)
    if program not in on:
        raise ValueError(
            f"timeline.{index}.program to name a program enabled in this scenario {on}, found {program!r}"
        )


def program_roles(scenario: Any, key: str) -> set[str] | None:
    """Clinician roles a program employs, where the schema tells (None: unknown, not checked)."""
    section = getattr(scenario.programs, key, None)
    roles = getattr(
        section, "roles", None
    )  # a config that knows its staff says so (e.g. outreach, mobile_crisis)
    return None if roles is None else set(roles())


def check_role(scenario: Any, index: int, role: str, program: str | None, district: str | None) -> None:
    """A clinician role must belong to a program (given, or any enabled one that employs it)."""
    check_district(scenario, index, district)
    check_program(scenario, index, program)
    if role in CLINICIAN_ROLES:
        keys = [program] if program else enabled_programs(scenario)
        known = [program_roles(scenario, k) for k in keys]
        if all(k is not None for k in known) and not any(role in k for k in known):
            where = f"program {program!r}" if program else "the enabled programs"
            have = sorted(set().union(*known)) if known else []
            raise ValueError(f"timeline.{index}.role to be a role employed by {where} {have}, found {role!r}")


class Note(EventBase):
    """Does nothing: a marker in the timeline (and the no-op of the common-random-numbers test)."""

    type: Literal["note"]
