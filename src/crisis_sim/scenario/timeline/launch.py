"""Programs that launch and grow: ``launch_program`` (a program starts on a date, in listed districts, with a
ramp-up of dispatch routing), ``expand_program`` (more districts), ``restore_post`` (a post cut by ``cut_post``
comes back) and ``add_post`` (new posts: patrol units, mobile crisis teams, co-response units, triage seats).
Issue 13, item 10; docs/events.md.

Only programs whose cost and duty accounting follow their staff in post can start late without paying for the
time before: :data:`LAUNCHABLE` lists them (a test checks it against the programs' ``launchable`` fact).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from crisis_sim.scenario.params import param
from crisis_sim.scenario.timeline.base import (
    EventBase,
    NonNegative,
    Role,
    Share,
    check_district,
    check_program,
    check_role,
)

LAUNCHABLE = ("co_response", "mobile_crisis", "triage", "outreach", "stabilization", "cit")  # may start late
RAMPED = ("mobile_crisis", "outreach", "co_response", "triage")  # read the ramp-up (others: ramp_months = 0)
# programs whose posts add_post can add, and what one post is (the rest are refused in one line)
GROWABLE = {
    "mobile_crisis": "a team (its clinician_role and partner_role)",
    "co_response": "a unit in one of its shifts (clinician, and riding along its own officer)",
    "triage": "a social_worker seat in one of its shifts",
}
BUDGET_EVENTS = ("scale_program", "funding_ends", "end_program")  # must not precede the program's launch


def _check_districts(scenario: Any, index: int, program: str, districts: list[str] | None) -> None:
    names = [d.name for d in scenario.city.districts]
    section = getattr(scenario.programs, program, None)
    covered = getattr(section, "districts", None)
    allowed = names if covered is None else list(covered)
    for k, name in enumerate(districts or ()):
        if name not in allowed:
            where = "the city" if covered is None else f"programs.{program}.districts"
            raise ValueError(
                f"timeline.{index}.districts.{k} to name a district of {where} {allowed}, found {name!r}"
            )


class LaunchProgram(EventBase):
    """The program starts on ``day`` in ``districts`` (absent: every district it covers). Before, its staff are
    not in post: it takes no call and costs nothing. After, the share of eligible calls dispatch routes to it rises
    linearly from ``ramp_start_share`` to 1 over ``ramp_months`` (call-takers and referrers learn the new option)."""

    type: Literal["launch_program"]
    program: str
    districts: Annotated[list[str], Field(min_length=1)] | None = None
    ramp_months: NonNegative = param(
        0.0,
        source="assumption: months until dispatch routes every eligible call to a new team (0 = at once)",
        unit="months",
        range=(0.0, 12.0),
    )
    ramp_start_share: Share = param(
        1.0,
        source="assumption: share of eligible calls routed to the team on its first day",
        unit="share",
        range=(0.2, 1.0),
    )

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_program(scenario, index, self.program)
        if self.program not in LAUNCHABLE:
            raise ValueError(
                f"timeline.{index}.program to be a program that can launch late {list(LAUNCHABLE)} "
                f"(its costs follow its staff in post), found {self.program!r}"
            )
        if self.ramp_months > 0 and self.ramp_start_share < 1 and self.program not in RAMPED:
            raise ValueError(
                f"timeline.{index}.ramp_months to be 0 for {self.program!r} (only {list(RAMPED)} read a "
                f"ramp-up), found {self.ramp_months:g}"
            )
        _check_districts(scenario, index, self.program, self.districts)
        for j, other in enumerate(scenario.timeline):
            if j != index and isinstance(other, LaunchProgram) and other.program == self.program:
                raise ValueError(
                    f"timeline.{index}.program to be launched once, found another launch of "
                    f"{self.program!r} at timeline.{j}"
                )
            if other.type in BUDGET_EVENTS and other.program == self.program and other.day < self.day:
                raise ValueError(
                    f"timeline.{j}.day to be on or after the launch of {self.program!r} (day {self.day:g}) for "
                    f"a {other.type} event, found {other.day:g}"
                )


class ExpandProgram(EventBase):
    """A launched program starts working in more districts on ``day`` (a pilot grows)."""

    type: Literal["expand_program"]
    program: str
    districts: Annotated[list[str], Field(min_length=1)]

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_program(scenario, index, self.program)
        launches = [
            e for e in scenario.timeline if isinstance(e, LaunchProgram) and e.program == self.program
        ]
        if not launches:
            raise ValueError(
                f"timeline.{index}.program to have a launch_program event before it, found none for "
                f"{self.program!r}"
            )
        if self.day < launches[0].day:
            raise ValueError(
                f"timeline.{index}.day to be on or after the launch of {self.program!r} "
                f"(day {launches[0].day:g}), found {self.day:g}"
            )
        _check_districts(scenario, index, self.program, self.districts)


class RestorePost(EventBase):
    """``count`` posts of a role cut by an earlier ``cut_post`` (absent: all of them in scope) come back on
    ``day``, filled by newcomers (a patrol newcomer is not CIT-trained)."""

    type: Literal["restore_post"]
    role: Role
    program: str | None = None
    district: str | None = None
    count: Annotated[int, Field(ge=1)] | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_role(scenario, index, self.role, self.program, self.district)
        for other in scenario.timeline:
            if (
                getattr(other, "type", None) == "cut_post"
                and other.role == self.role
                and other.day <= self.day
                and (self.program is None or other.program in (None, self.program))
                and (self.district is None or other.district in (None, self.district))
            ):
                return
        raise ValueError(
            f"timeline.{index} (restore_post) to follow a cut_post of role {self.role!r} on or before day "
            f"{self.day:g}, found none"
        )


class AddPost(EventBase):
    """From ``day``, ``count`` new posts: patrol units of a district and shift (``role = "patrol"``), or posts of
    a program (:data:`GROWABLE`: a mobile crisis team, a co-response unit or a triage seat in the program's shift
    ``program_shift``). Each is filled by a newcomer (a patrol newcomer is not CIT-trained and has referral
    awareness ``new_awareness``); capacity and the program's costs grow from the day."""

    type: Literal["add_post"]
    role: Role = "patrol"
    program: str | None = None
    district: str | None = None  # patrol: the district of the new units (required)
    shift: str | None = None  # patrol: the police shift of the new units (required)
    program_shift: Annotated[int, Field(ge=0)] | None = None  # co_response/triage: index in the program's shifts
    count: Annotated[int, Field(ge=1, le=100)] = 1
    new_awareness: Share = param(
        0.05,
        source="[echinops_study] §2.2: a new officer does not know the referral path; assumption",
        unit="probability",
        range=(0.0, 0.2),
    )

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        at = f"timeline.{index}"
        if self.role == "patrol":
            if self.program is not None:
                raise ValueError(f"{at}.program to be absent for patrol posts, found {self.program!r}")
            if self.district is None or self.shift is None:
                raise ValueError(f"{at} (add_post of patrol) to name a district and a shift, found none")
            check_district(scenario, index, self.district)
            shifts = [s.name for s in scenario.police.shifts]
            if self.shift not in shifts:
                raise ValueError(f"{at}.shift to name a police shift {shifts}, found {self.shift!r}")
            return
        if self.program is None or self.program not in GROWABLE:
            raise ValueError(
                f"{at}.program to be a program whose posts add_post can add {list(GROWABLE)} (or role = "
                f"\"patrol\"), found {self.program!r} for role {self.role!r}"
            )
        check_program(scenario, index, self.program)
        section = getattr(scenario.programs, self.program)
        roles = {
            "mobile_crisis": lambda: {section.clinician_role, section.partner_role},
            "co_response": lambda: {section.clinician_role},
            "triage": lambda: {"social_worker"},
        }[self.program]()
        if self.role not in roles:
            raise ValueError(
                f"{at}.role to be {sorted(roles)} for a post of {self.program!r} ({GROWABLE[self.program]}), "
                f"found {self.role!r}"
            )
        if self.district is not None or self.shift is not None:
            raise ValueError(
                f"{at}.district and .shift to be absent for a post of {self.program!r} (use program_shift for "
                f"co_response and triage), found {self.district or self.shift!r}"
            )
        n_shifts = len(getattr(section, "shifts", ()) or ())
        if self.program == "mobile_crisis":
            if self.program_shift is not None:
                raise ValueError(f"{at}.program_shift to be absent for mobile_crisis, found {self.program_shift}")
        elif self.program_shift is None or self.program_shift >= n_shifts:
            raise ValueError(
                f"{at}.program_shift to be an index into programs.{self.program}.shifts (0-{n_shifts - 1}), "
                f"found {self.program_shift}"
            )
        for other in scenario.timeline:
            if isinstance(other, LaunchProgram) and other.program == self.program and other.day > self.day:
                raise ValueError(
                    f"{at}.day to be on or after the launch of {self.program!r} (day {other.day:g}), "
                    f"found {self.day:g}"
                )
