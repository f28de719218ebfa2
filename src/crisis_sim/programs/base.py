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

from crisis_sim.rng import program_stream

if TYPE_CHECKING:
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext
    from crisis_sim.model.destinations import Referral

Handler = Callable[["Call"], Generator[Any, Any, None]]
SceneHandover = Callable[["Call", Callable[[], None]], Generator[Any, Any, bool]]
RAMP_KEY = 2_000_000  # program-stream key of the ramp-up uniforms (blocks keyed by call id; see ramp_admits)
RAMP_BLOCK = 4096  # calls per block of ramp-up uniforms


class Program:
    """Base class for response models; subclasses set ``key`` and override hooks."""

    # Facts each program carries (the registry, crisis_sim.programs.PROGRAMS, reads them; nothing else lists them)
    key: ClassVar[str] = "program"  # the scenario's [programs.<key>] section and the ledger's `program` value
    label: ClassVar[str] = "a program"  # plain words for reports and the dashboard
    config_class: ClassVar[type | None] = None  # its scenario section (a config class with the same key)
    stream_key: ClassVar[int] = (
        0  # id of its own random stream (crisis_sim.rng.PROGRAM_STREAMS, program_stream)
    )
    latents: ClassVar[dict[str, int]] = {}  # latent columns it reads (crisis_sim.rng.LATENTS[key])
    responders: ClassVar[tuple[str, ...]] = ()  # responder types it puts in the ledger
    series_defaults: ClassVar[dict[str, int]] = {}  # summary keys it reports, with their value when it is off
    settings: ClassVar[
        dict[str, str]
    ] = {}  # config fields worth a mention in reports: field -> how to say it
    # whether a launch_program event may start it late: its costs and duty follow its staff in post, so the time
    # before the launch is unpaid (crisis_sim.scenario.timeline.launch.LAUNCHABLE must list the same programs)
    launchable: ClassVar[bool] = False

    def __init__(self, config: Any):
        self.config = config
        self.model: ModelContext | None = None
        self.ended = False  # end_program(): the program takes no more cases anywhere
        self.suspended: set[int] = set()  # districts where it takes no cases (its key staff are not in post)
        self.capacity_share = 1.0  # share of its configured hours/units left after budget cuts
        self.ramp: tuple[float, float, float] | None = None  # (launch minute, start share, ramp minutes)
        self._ramp_blocks: dict[int, list[float]] = {}  # ramp-up uniforms by block of call ids (ramp_admits)

    # --- staffing and budget hooks (timeline events, crisis_sim.scenario.timeline) ---------------------------------------
    def staff(self) -> list[Any]:
        """The program's own staff (Clinician agents it created)."""
        from crisis_sim.model.agents import Clinician

        if self.model is None:
            return []
        return [a for a in self.model.agents_by_type.get(Clinician, ()) if a.program == self.key]

    def covers(self, district: int) -> bool:
        """Whether the program works in this district (for operational days and suspensions)."""
        return True

    def key_staff_in_post(self, district: int) -> bool:
        """Whether someone holds each post the program cannot work without in this district (default: at least
        one of its staff, or True for a program without staff of its own)."""
        staff = [a for a in self.staff() if a.district is None or a.district == district]
        return not staff or any(a.in_post for a in staff)

    def is_suspended(self, district: int) -> bool:
        return self.ended or district in self.suspended

    def suspend(self, district: int | None = None) -> None:
        """Take no new cases in ``district`` (None: everywhere). Programs that route calls check
        :meth:`is_suspended`; the default only records it."""
        if district is None:
            self.suspended.update(range(len(self.model.cfg.city.districts)) if self.model else ())
        else:
            self.suspended.add(district)

    def resume(self, district: int | None = None) -> None:
        if district is None:
            self.suspended.clear()
        else:
            self.suspended.discard(district)

    def hold_for_launch(self) -> None:
        """A launch_program event will start the program later: pay for nothing until :meth:`launch` (the
        timeline has already taken its staff out of post). A launchable program whose costs are not its staff's
        time in post overrides it."""

    def launch(self) -> None:
        """The launch day: undo :meth:`hold_for_launch` (the timeline puts the staff back in post first)."""

    def start_ramp(self, now: float, start_share: float, ramp_min: float) -> None:
        """Launched at ``now``: dispatch routes ``routing_share`` of the eligible calls to the program, rising
        linearly from ``start_share`` to 1 over ``ramp_min`` minutes (a launchable program reads it)."""
        self.ramp = None if ramp_min <= 0 or start_share >= 1.0 else (now, start_share, ramp_min)

    def ramp_admits(self, call: Call) -> bool:
        """Whether a launch's ramp-up lets this call through now (True without a ramp): the call's own uniform,
        from the program's stream in blocks keyed by call id (drawn only while a ramp runs; a call has the same
        uniform whatever the share, so the calls let through at a lower share are a subset of those at a higher
        one), is below :meth:`routing_share`. For programs with no latent column their routing reads."""
        if self.ramp is None:
            return True
        block, i = divmod(call.call_id, RAMP_BLOCK)
        buf = self._ramp_blocks.get(block)
        if buf is None:
            m = self.model
            g = program_stream(m.root_seed, m.replication, self.stream_key, RAMP_KEY, block)
            buf = self._ramp_blocks[block] = g.random(RAMP_BLOCK).tolist()
        return buf[i] < self.routing_share(self.model.env.now)

    def routing_share(self, now: float) -> float:
        if self.ramp is None:
            return 1.0
        t0, start, length = self.ramp
        elapsed = max(0.0, now - t0)
        frac = 1.0 if elapsed >= length else elapsed / length  # (a tiny ramp must not overflow the division)
        return start + (1.0 - start) * frac

    def add_posts(self, count: int, role: str, program_shift: int | None) -> list[Any]:
        """An add_post event: create ``count`` new posts (in post, funded) and return their people. Only the
        programs listed in ``crisis_sim.scenario.timeline.launch.GROWABLE`` override it (validation refuses the
        others)."""
        raise NotImplementedError(f"add_post is not supported for {self.key}")

    def scale_capacity(self, share: float) -> None:
        """Hours or units become ``share`` of the configured level (default: recorded only)."""
        self.capacity_share = share

    def unfunded_staff(self) -> list[Any]:
        """Staff whose posts the current capacity share no longer pays for (they leave their posts)."""
        return []

    def end_program(self) -> None:
        """The program stops for good (funding gone, political decision)."""
        self.ended = True
        self.suspend(None)

    def staff_changed(self, agent: Any) -> None:
        """A person's ``in_post`` changed (vacancy, absence, departure, cut, return)."""

    def staff_lost(self, agent: Any) -> None:
        """A post of this program is gone for good (cut, unfunded, program ended): wind down what needs it."""

    def officer_replaced(self, officer: Any) -> None:
        """A new person took a patrol post (or was briefed): programs tracking officer state may reset it."""

    def attach(self, model: ModelContext) -> None:
        """Create resources, agents and processes; register responder types with ``model.dispositions``."""
        self.model = model

    def triage(self, call: Call) -> bool:
        """Adjust the call at intake; return True if the call was resolved here (no unit is sent)."""
        return False

    def route(self, call: Call) -> Handler | None:
        """Return a handler generator function to take this call, or None to leave it to others."""
        return None

    def line_dispatch(self, call: Call) -> Handler | None:
        """A 988/crisis-line counsellor asks for this program's responders (model/crisis_line.py): a handler if
        the program can go now, else None."""
        return None

    def takes_scene_requests(self) -> bool:
        """Whether officers on scene may ask this program for its responders (:meth:`scene_request`); read once
        after attach, so a program that never does costs the encounter pipeline nothing."""
        return False

    def scene_request(self, call: Call, responder: str, travel: float, scene: float) -> SceneHandover | None:
        """Officers (``responder``, e.g. patrol or cit) are dispatched to an MH call they will reach in ``travel``
        minutes and would stay on for ``scene`` minutes: return a hand-over generator function if they will ask
        this program to take over from the scene, else None. The generator is called with the call and a
        function that releases the officers; it runs the officers' time on scene and returns True if the program
        took the call over (it then gives the disposition and the hand-off and releases the officers), False if
        the officers carry on alone (they then decide as usual)."""
        return None

    def ledger_flags(self) -> dict[str, set[int]]:
        """Boolean ledger columns the program adds: column name -> ids of the MH calls that are True (add a
        column only while a switch of the program is on)."""
        return {}

    def case_columns(self) -> dict[str, list[Any]] | None:
        """One row per case the program opened, as columns (``RunResult.outreach``); None: the program keeps no
        cases (only outreach does)."""
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

    def reporters(self) -> dict[str, Callable[[ModelContext], float]]:
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
