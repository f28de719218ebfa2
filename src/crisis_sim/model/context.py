"""The model's declared contract: what programs and timeline effects may use of a running model.

Programs (:mod:`crisis_sim.programs`) and timeline effects (:mod:`crisis_sim.timeline`) are handed the running
model and see it only as a :class:`ModelContext`: the attributes and methods below, nothing else (no private
attribute, no SimPy internals). The model (:class:`crisis_sim.model.crisis_model.CoreModel`) satisfies it
structurally; ``tests/test_model_context.py`` checks that every name listed here exists on a built model and that
the programs and effects use no attribute of the model outside this list.

The other direction is declared too: :class:`ProgramHooks` is what the model calls on each program, and
:class:`TimelineHooks` what it reads of the run's timeline. The model imports neither programs nor the timeline;
the assembler (:mod:`crisis_sim.sim`) builds them and hands them in.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import simpy
    from mesa.agent import AgentSet

    from crisis_sim.model.agents import CommunityRelationsOfficer, PatrolOfficer, Resident
    from crisis_sim.model.calls import Call
    from crisis_sim.model.destinations import EmergencyDepartment, Referral
    from crisis_sim.model.dispositions import DispositionModel
    from crisis_sim.model.patrol import PatrolPool
    from crisis_sim.scenario.schema import Scenario


class ModelContext(Protocol):
    """What a program or a timeline effect may use of the running model."""

    # --- identity and clock ----------------------------------------------------------------------------------
    cfg: Scenario  # the scenario (read only)
    env: simpy.Environment  # the one clock (minutes); programs start processes and timeouts on it
    replication: int  # with root_seed: keys of the program's own random streams (crisis_sim.rng)
    root_seed: int
    horizon_min: float  # end of the run, minutes

    # --- people and places -----------------------------------------------------------------------------------
    residents: list[Resident]  # at-risk residents, indexed by Call.resident
    mh_calls: list[Call]  # every MH call so far, in order of receipt (read only; frequent-contact lists)
    officers: list[PatrolOfficer]  # patrol officers (every district and shift)
    patrol: list[PatrolPool]  # one pool of patrol units per district
    crpos: list[CommunityRelationsOfficer]  # one community-relations officer per district
    ed: EmergencyDepartment
    dispositions: DispositionModel  # responder types register their disposition odds here
    agents_by_type: dict[type, AgentSet]  # Mesa's index of agents (e.g. a program's Clinician staff)
    programs: list[ProgramHooks]  # the attached programs, in registry order
    travel: list[Callable[[float], float]]  # per district: latent uniform -> travel minutes
    mh_scene: Callable[[float], float]  # latent uniform -> patrol on-scene minutes for an MH call

    # --- the encounter pipeline a program can hand a call to --------------------------------------------------
    def patrol_response(self, call: Call, responder: str = "patrol") -> Generator[Any, Any, None]:
        """Police as usual: wait for a district unit, travel, on scene, disposition, hand-off."""
        ...

    def attend_with_officer(
        self, call: Call, officer: PatrolOfficer, responder: str
    ) -> Generator[Any, Any, None]:
        """Travel, on scene and hand-off with a patrol officer already assigned; the officer is released."""
        ...

    def resolve_on_scene(self, call: Call, responder: str) -> None:
        """Exactly one disposition, plus force and injuries, for the responder type that attended."""
        ...

    def handoff(self, call: Call) -> Generator[Any, Any, None]:
        """Transport to a destination (a program's, else the ED) or book an arrest."""
        ...

    def refer(self, call: Call, priority: int, source: str) -> bool:
        """Put the person on the community-services waitlist unless already waiting or engaged."""
        ...

    def set_engaged(
        self, r: Resident, engaged: bool, t_eff: float, duration_min: float | None = None
    ) -> None:
        """Start or end a resident's engagement in care (effective at ``t_eff``)."""
        ...

    def adjust_trust(self, r: Resident, police: float = 0.0, services: float = 0.0) -> None:
        """Change a resident's trust in police and/or services (clipped to [0, 1])."""
        ...

    def health_uniforms(self, resident: int, crisis: int) -> list[float]:
        """The ``health`` stream's uniforms for a resident's crisis (columns in model/health.HEALTH_COLUMNS)."""
        ...

    # --- demand (timeline effects) ----------------------------------------------------------------------------
    def weapon_probability(self, t: float) -> float:
        """Probability that an MH call received at minute ``t`` involves a weapon (case mix by time applied)."""
        ...

    def set_mh_rate_factors(self, factors: dict[int, float]) -> None:
        """MH crises in district ``d`` arrive at ``factors[d]`` x the base hazard from now."""
        ...

    def set_other_rate_factor(self, factor: float) -> None:
        """Non-MH police calls arrive at ``factor`` x the base rate from now."""
        ...


class ProgramHooks(Protocol):
    """What the model calls on a program (:class:`crisis_sim.programs.base.Program` implements every hook)."""

    key: str

    def attach(self, model: ModelContext) -> None: ...
    def triage(self, call: Call) -> bool: ...
    def route(self, call: Call) -> Callable[[Call], Generator[Any, Any, None]] | None: ...
    def line_dispatch(self, call: Call) -> Callable[[Call], Generator[Any, Any, None]] | None: ...
    def takes_scene_requests(self) -> bool: ...
    def scene_request(
        self, call: Call, responder: str, travel: float, scene: float
    ) -> Callable[[Call, Callable[[], None]], Generator[Any, Any, bool]] | None: ...
    def ledger_flags(self) -> dict[str, set[int]]: ...
    def handoff(self, call: Call) -> Generator[Any, Any, None] | None: ...
    def after_disposition(self, call: Call) -> None: ...
    def at_intake(self, referral: Referral) -> None: ...
    def reporters(self) -> dict[str, Callable[[Any], float]]: ...


class TimelineHooks(Protocol):
    """What the model reads of the run's timeline."""

    def reporters(self) -> dict[str, Callable[[Any], float]]: ...
    def summary(self) -> dict[str, Any]: ...


CONTEXT_NAMES: tuple[str, ...] = tuple(
    name for name in (*ModelContext.__annotations__, *vars(ModelContext)) if not name.startswith("_")
)
"""Every name of the contract (attributes and methods), for the contract test."""

__all__ = ["CONTEXT_NAMES", "ModelContext", "ProgramHooks", "TimelineHooks"]
