"""What each timeline event does when its day comes: one effect per event type, registered in :data:`EFFECTS`.

The events themselves are data (:mod:`crisis_sim.scenario.timeline`); an effect is a function
``effect(timeline, event, index)`` run once, from the SimPy clock, at ``event.day * 1440`` minutes. Adding a stressor
is a data class (with its ``check_scenario``), an effect, and one line in :data:`EFFECTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crisis_sim.scenario.timeline.base import EventBase, Note
from crisis_sim.scenario.timeline.budget import CutPost, EndProgram, FundingEnds, ScaleProgram
from crisis_sim.scenario.timeline.champion import Champion, ChampionDeparts
from crisis_sim.scenario.timeline.consent import ConsentChange
from crisis_sim.scenario.timeline.demand import DemandSurge, DemandTrend, EDBoarding
from crisis_sim.scenario.timeline.launch import AddPost, ExpandProgram, LaunchProgram, RestorePost
from crisis_sim.scenario.timeline.staffing import Absence, CITTraining, LosePatrol, Turnover, Vacancy

Timeline = Any  # crisis_sim.timeline.runtime.Timeline (which imports this module)
Effect = Callable[[Timeline, Any, int], None]


def _nothing(tl: Timeline, ev: Note, index: int) -> None:
    """A note marks the timeline and changes nothing."""


def _ed_boarding(tl: Timeline, ev: EDBoarding, index: int) -> None:
    tl.model.ed.assess_factor = ev.factor


def _consent(tl: Timeline, ev: ConsentChange, index: int) -> None:
    tl.program(ev.program).set_consent(ev.consent_at_mean_trust, ev.consent_delay_days)


EFFECTS: dict[type[EventBase], Effect] = {
    Note: _nothing,
    Vacancy: lambda tl, ev, i: tl.set_vacancy(i, ev),
    Absence: lambda tl, ev, i: tl.start_absence(i, ev),
    Turnover: lambda tl, ev, i: tl.start_turnover(i, ev),
    LosePatrol: lambda tl, ev, i: tl.lose_patrol(i, ev),
    CITTraining: lambda tl, ev, i: tl.start_cit_training(i, ev),
    ChampionDeparts: lambda tl, ev, i: tl.champion_departs(i, ev),
    Champion: lambda tl, ev, i: tl.set_champion(ev),
    CutPost: lambda tl, ev, i: tl.cut_posts(i, ev),
    ScaleProgram: lambda tl, ev, i: tl.scale_program(ev.program, 1.0 - ev.cut_share),
    EndProgram: lambda tl, ev, i: tl.end_program(ev.program),
    FundingEnds: lambda tl, ev, i: tl.funding_ends(ev.program, ev.share),
    ConsentChange: _consent,
    DemandSurge: lambda tl, ev, i: tl.set_surge(ev.district, ev.factor, ev.non_mh),
    DemandTrend: lambda tl, ev, i: tl.start_trend(i, ev),
    EDBoarding: _ed_boarding,
    LaunchProgram: lambda tl, ev, i: tl.launch_program(ev),
    ExpandProgram: lambda tl, ev, i: tl.expand_program(ev),
    RestorePost: lambda tl, ev, i: tl.restore_posts(ev),
    AddPost: lambda tl, ev, i: tl.add_posts(ev),
}


def apply_event(tl: Timeline, event: EventBase, index: int) -> None:
    """Run the effect registered for the event's type."""
    EFFECTS[type(event)](tl, event, index)
