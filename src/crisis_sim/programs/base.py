"""The one interface through which a response model (program) plugs into the core model.

A program is built from its scenario section, attached to a model once, and then consulted at fixed points of a
call's life. Every hook has a do-nothing default, so a program overrides only what it changes; the core calls
the hooks for every program in scenario order and never names a program.

Hook order for an MH call: ``triage`` (may change identification or resolve by phone) → ``route`` (first program
that returns a handler takes the call; else patrol) → on scene the handler calls ``model.resolve_on_scene`` →
``handoff`` (first program that returns a generator takes the person, e.g. a stabilisation centre; else ED or
jail) → ``after_disposition`` (follow-up: outreach referral, co-response follow-up contacts).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from crisis_sim.model.calls import Call
    from crisis_sim.model.crisis_model import CrisisModel
    from crisis_sim.model.destinations import Referral

Handler = Callable[["Call"], Generator[Any, Any, None]]


class Program:
    """Base class for response models; subclasses set ``key`` and override hooks."""

    key: ClassVar[str] = "program"
    stream_key: ClassVar[int] = 0  # stable id for the program's own random stream (rng.program_stream)

    def __init__(self, config: Any):
        self.config = config
        self.model: CrisisModel | None = None

    def attach(self, model: CrisisModel) -> None:
        """Create resources, agents and processes; register responder types with ``model.dispositions``."""
        self.model = model

    def triage(self, call: Call) -> bool:
        """Adjust the call at intake; return True if the call was resolved here (no unit is sent)."""
        return False

    def route(self, call: Call) -> Handler | None:
        """Return a handler generator function to take this call, or None to leave it to others."""
        return None

    def handoff(self, call: Call) -> Generator[Any, Any, None] | None:
        """Take a transported person somewhere other than the ED, or None."""
        return None

    def after_disposition(self, call: Call) -> None:
        """Follow-up after the encounter closed."""

    def at_intake(self, referral: Referral) -> None:
        """A referral reached community-services intake."""

    def summary(self) -> dict[str, Any]:
        """Program-specific figures added to the run summary.

        Reserved keys: ``cost`` (USD over the counted period) and ``staff_utilisation`` (0-1) are gathered into
        the summary's ``program_cost`` and ``program_staff_utilisation`` objects under this program's key; every
        other key is merged into the summary as is (e.g. ``outreach_visits``).
        """
        return {}

    def reporters(self) -> dict[str, Callable[[CrisisModel], float]]:
        """Extra DataCollector model reporters, collected daily. Names listed in :meth:`cumulative` are
        running totals (differenced into monthly counts); others are gauges (month-end values)."""
        return {}

    def cumulative(self) -> tuple[str, ...]:
        """Names of this program's reporters that are running totals."""
        return ()

    @staticmethod
    def mark_unserved(call: Call, reason: str) -> None:
        """Record that ``call`` was eligible for a specialised responder and why it did not get one.

        ``reason`` is one of busy, off_hours, out_of_area, misidentified; the first program to say so wins.
        """
        call.eligible = True
        if not call.unserved_reason:
            call.unserved_reason = reason
