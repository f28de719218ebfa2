"""Budget events: cut posts, cut a program's hours or units by a share, end a program, and funding sources that
end (a grant) so that blended funding can be compared with a single source ([echinops_study], [nyu_scn] in docs/references.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from crisis_sim.scenario.timeline.base import EventBase, Role, Share, check_program, check_role


class CutPost(EventBase):
    """``count`` posts of a role (absent: all of them in scope) are cut for good, e.g. the outreach nurse after
    three years ([echinops_study])."""

    type: Literal["cut_post"]
    role: Role
    program: str | None = None
    district: str | None = None
    count: Annotated[int, Field(ge=1)] | None = None

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_role(scenario, index, self.role, self.program, self.district)


class _ProgramEvent(EventBase):
    program: str

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        check_program(scenario, index, self.program)


class ScaleProgram(_ProgramEvent):
    """The program's hours or units are cut by ``cut_share`` of their current level (staff hours for outreach,
    teams for mobile crisis, beds for stabilisation)."""

    type: Literal["scale_program"]
    cut_share: Share


class EndProgram(_ProgramEvent):
    """Political change or lost funding: the program stops taking cases everywhere, for good."""

    type: Literal["end_program"]


class FundingEnds(_ProgramEvent):
    """A funding source that paid ``share`` of the program ends (a grant). The program keeps the share the
    other sources pay; when nothing is left it ends. Blended funding: several sources, one ending; single
    source: ``share = 1``."""

    type: Literal["funding_ends"]
    funder: str = Field(min_length=1, description="name of the funding source, e.g. 'state grant'")
    share: Annotated[float, Field(gt=0.0, le=1.0)]
