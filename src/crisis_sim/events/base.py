"""Common ground of timeline events: the dated base class, scope checks against the scenario, and ``note``.

An event is plain data (a frozen pydantic model) with two methods: :meth:`TimelineEvent.check_scenario` (cross-checks
against the rest of the scenario at validation time) and :meth:`TimelineEvent.apply` (what happens at
``day * 1440`` minutes on the SimPy clock, given the run's :class:`~crisis_sim.events.runtime.Timeline`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from crisis_sim.scenario.params import Strict

if TYPE_CHECKING:
    from crisis_sim.events.runtime import Timeline
    from crisis_sim.scenario.schema import Scenario

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

CLINICIAN_ROLES = ("nurse", "psychiatrist", "social_worker", "peer", "emt")  # as model.agents.Clinician.ROLES
ROLES = ("patrol", "crpo", *CLINICIAN_ROLES)
PROGRAM_KEYS = (
    "triage",
    "mobile_crisis",
    "co_response",
    "cit",
    "outreach",
    "stabilization",
)  # programs.ORDER
Role = Literal["patrol", "crpo", "nurse", "psychiatrist", "social_worker", "peer", "emt"]


class EventBase(Strict):
    """A dated event; ``day`` counts from the start of the run (warm-up included)."""

    day: NonNegative = Field(description="day of the run on which the event takes effect (0 = start)")
    label: str = Field("", description="free text shown in the summary's list of fired events")

    def check_scenario(self, scenario: Scenario, index: int) -> None:
        """Cross-checks against the scenario (raise ValueError 'expected ..., found ...')."""
        horizon = scenario.simulation.horizon_days
        if self.day >= horizon:
            raise ValueError(
                f"timeline.{index}.day to be before the horizon ({horizon} days), found {self.day:g}"
            )

    def apply(self, tl: Timeline, index: int) -> None:
        """Take effect now (called once, from the SimPy clock at ``day * 1440`` minutes)."""


def check_district(scenario: Scenario, index: int, district: str | None) -> None:
    if district is None:
        return
    names = [d.name for d in scenario.city.districts]
    if district not in names:
        raise ValueError(
            f"timeline.{index}.district to name a district of the city {names}, found {district!r}"
        )


def enabled_programs(scenario: Scenario) -> list[str]:
    out = []
    for key in PROGRAM_KEYS:
        section = getattr(scenario.programs, key, None)
        if section is not None and getattr(section, "enabled", True):
            out.append(key)
    return out


def check_program(scenario: Scenario, index: int, program: str | None) -> None:
    if program is None:
        return
    on = enabled_programs(scenario)
    if program not in on:
        raise ValueError(
            f"timeline.{index}.program to name a program enabled in this scenario {on}, found {program!r}"
        )


def program_roles(scenario: Scenario, key: str) -> set[str] | None:
    """Clinician roles a program employs, where the schema tells (None: unknown, not checked)."""
    section = getattr(scenario.programs, key, None)
    if section is None:
        return None
    if key == "outreach":
        return {"nurse", "psychiatrist"} if section.psychiatrist_hours_per_week > 0 else {"nurse"}
    if key == "mobile_crisis":
        return {section.clinician_role, section.partner_role}
    return None


def check_role(scenario: Scenario, index: int, role: str, program: str | None, district: str | None) -> None:
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
