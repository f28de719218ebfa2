"""Champion events: a named key person (a district's CRPO, the outreach nurse or psychiatrist) leaves, with an
optional, possibly weaker, replacement after a lag; or a person's champion strength changes.

[echinops_study] (docs/references.md): the program "just falls apart" without champions; one CRPO's retirement suspended it in that area. A
champion's strength scales how much the nurse's station visits raise officers' referral awareness (outreach).
While the post is empty the program is suspended in that district (see the timeline's operational days).
"""

from __future__ import annotations

from typing import Any, Literal

from crisis_sim.scenario.params import param
from crisis_sim.scenario.timeline.base import EventBase, NonNegative, Share, check_role

ChampionRole = Literal["crpo", "nurse", "psychiatrist"]


class _Person(EventBase):
    role: ChampionRole
    district: str | None = None  # required for a CRPO
    program: str = "outreach"  # the program employing a nurse or psychiatrist

    def check_scenario(self, scenario: Any, index: int) -> None:
        super().check_scenario(scenario, index)
        if self.role == "crpo":
            if self.district is None:
                raise ValueError(f"timeline.{index}.district to name the CRPO's district, found nothing")
            check_role(scenario, index, "crpo", None, self.district)
        else:
            check_role(scenario, index, self.role, self.program, None)


class ChampionDeparts(_Person):
    """The person leaves (retirement, transfer); replaced after ``replacement_after_days`` (absent: never) by
    someone whose champion strength is ``replacement_strength`` times the leaver's."""

    type: Literal["champion_departs"]
    replacement_after_days: NonNegative | None = param(
        None,
        source="assumption: clinician/police hiring lags are unknown ([hiring_lags]); absent = post left empty",
        unit="days",
        range=(30.0, 365.0),
    )
    replacement_strength: Share = param(
        0.5,
        source="[echinops_study]: 'when people are less motivated or aren't champions of the project, it just falls "
        "apart'; size is an assumption (the size of the champion effect is unknown)",
        unit="multiplier of the leaver's strength",
        range=(0.0, 1.0),
    )


class Champion(_Person):
    """The person's champion strength becomes ``strength`` (e.g. a new coordinator wins officers over)."""

    type: Literal["champion"]
    strength: Share
