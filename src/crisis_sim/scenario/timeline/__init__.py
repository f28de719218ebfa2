"""Timeline events: dated stressors and implementation dynamics (issue 4).

A scenario's ``[[timeline]]`` lists events, each ``day = N`` plus ``type = "..."``; the type picks the event class
(a pydantic discriminated union). One module per family: :mod:`staffing`, :mod:`champion`, :mod:`budget`,
:mod:`consent`, :mod:`demand`, :mod:`launch` (and ``note`` in :mod:`base`). The run-time side is
in :mod:`crisis_sim.timeline` (effects registered by event type); this package is data only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from crisis_sim.scenario.timeline.base import EventBase, Note
from crisis_sim.scenario.timeline.budget import CutPost, EndProgram, FundingEnds, ScaleProgram
from crisis_sim.scenario.timeline.champion import Champion, ChampionDeparts
from crisis_sim.scenario.timeline.consent import ConsentChange
from crisis_sim.scenario.timeline.demand import DemandSurge, DemandTrend, EDBoarding
from crisis_sim.scenario.timeline.launch import AddPost, ExpandProgram, LaunchProgram, RestorePost
from crisis_sim.scenario.timeline.staffing import Absence, CITTraining, LosePatrol, Turnover, Vacancy

EVENT_CLASSES: tuple[type[EventBase], ...] = (
    Note, Vacancy, Absence, Turnover, LosePatrol, CITTraining, ChampionDeparts, Champion, CutPost, ScaleProgram,
    EndProgram, FundingEnds, ConsentChange, DemandSurge, DemandTrend, EDBoarding, LaunchProgram, ExpandProgram,
    RestorePost, AddPost,
)  # fmt: skip
EVENT_TYPES: tuple[str, ...] = tuple(c.model_fields["type"].annotation.__args__[0] for c in EVENT_CLASSES)


def _known_types(value: Any) -> Any:
    """A clear one-line error for an event without a known ``type`` (before the union reports its own)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind not in EVENT_TYPES:
                raise ValueError(
                    f"timeline.{i}.type to be one of {', '.join(EVENT_TYPES)}, found "
                    f"{'nothing' if kind is None else repr(kind)}"
                )
    return value


AnyEvent = Annotated[
    Note
    | Vacancy
    | Absence
    | Turnover
    | LosePatrol
    | CITTraining
    | ChampionDeparts
    | Champion
    | CutPost
    | ScaleProgram
    | EndProgram
    | FundingEnds
    | ConsentChange
    | DemandSurge
    | DemandTrend
    | EDBoarding
    | LaunchProgram
    | ExpandProgram
    | RestorePost
    | AddPost,
    Field(discriminator="type"),
]
TimelineEvents = Annotated[list[AnyEvent], BeforeValidator(_known_types)]


def check_timeline(scenario: Any) -> None:
    """Cross-check every event against the scenario (called by the Scenario validator)."""
    funded: dict[str, float] = {}
    for i, event in enumerate(scenario.timeline):
        event.check_scenario(scenario, i)
        if isinstance(event, FundingEnds):
            funded[event.program] = funded.get(event.program, 0.0) + event.share
            if funded[event.program] > 1.0 + 1e-9:
                raise ValueError(
                    f"timeline.{i}.share to keep the ended funding shares of {event.program} at most 1, "
                    f"found a total of {funded[event.program]:g}"
                )


__all__ = ["EVENT_CLASSES", "EVENT_TYPES", "AnyEvent", "EventBase", "TimelineEvents", "check_timeline"]
