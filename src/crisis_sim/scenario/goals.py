"""Goals and milestones a scenario file may carry (``[[goals]]``): data only; the report evaluates them
(:mod:`crisis_sim.report.goals`). A goal never changes a run; the experiment store ignores it when it compares
specs, so the same runs serve a scenario with other goals.

Each goal is one of

- ``metric`` + ``change`` (relative change against the report's first option, e.g. ``-0.10`` = 10% fewer) +
  ``by_month`` (required);
- ``metric`` + ``at_least`` or ``at_most`` (a level, e.g. ``specialized_coverage`` at least ``0.8``) + optional
  ``by_month``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict


class GoalSpec(Strict):
    """One goal of a scenario file (``[[goals]]``); see docs/report.md."""

    metric: str = Field(min_length=1, description="a monthly series or summary metric, e.g. arrests")
    change: Annotated[float, Field(ge=-1.0, le=10.0, allow_inf_nan=False)] | None = None
    at_least: Annotated[float, Field(allow_inf_nan=False)] | None = None
    at_most: Annotated[float, Field(allow_inf_nan=False)] | None = None
    by_month: Annotated[int, Field(ge=1)] | None = None
    label: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> GoalSpec:
        kinds = [k for k in ("change", "at_least", "at_most") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"expected exactly one of change, at_least, at_most, found {kinds or 'none'}")
        if self.change is not None and self.by_month is None:
            raise ValueError("a change goal needs by_month (e.g. 12)")
        return self
