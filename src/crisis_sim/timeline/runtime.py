"""The run-time side of the timeline: schedules each event on the SimPy clock and keeps staff and program state.

Staff out of post: a post (agent) is out while it has any reason to be (vacancy, absence, turnover, cut, lost,
departed); ``in_post`` is True exactly when it has none. Patrol officers leave through ``PatrolPool.withdraw`` and
come back at once if their shift is on. Programs are told through their hooks (``staff_changed``, ``suspend``,
``resume``, ``scale_capacity``, ``end``); a program whose key role in a district has nobody in post is suspended
there until someone is, and its operational days and suspensions per district are recorded.

An empty timeline schedules nothing and draws nothing: the run is the one without a timeline, bit for bit. Events
draw from the ``events`` stream, keyed by the event's index in the timeline (and by post for per-person clocks).
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from crisis_sim import rng as rngmod
from crisis_sim.model.agents import Clinician, PatrolOfficer
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.programs import program_keys
from crisis_sim.scenario.timeline.base import CLINICIAN_ROLES, ROLES
from crisis_sim.timeline.effects import apply_event

if TYPE_CHECKING:
    from crisis_sim.model.context import ModelContext
    from crisis_sim.programs.base import Program
    from crisis_sim.scenario.timeline.budget import CutPost
    from crisis_sim.scenario.timeline.champion import ChampionDeparts
    from crisis_sim.scenario.timeline.demand import DemandTrend
    from crisis_sim.scenario.timeline.launch import AddPost, ExpandProgram, LaunchProgram, RestorePost
    from crisis_sim.scenario.timeline.staffing import Absence, CITTraining, LosePatrol, Turnover, Vacancy

QUARTER_DAYS = 91.25
PERMANENT = ("cut", "unfunded")  # reasons a post never comes back from
VACANCY_KEY = 1_000_000  # events-stream key of vacancy orders (event indices are the other keys)


class Timeline:
    """One run's timeline: event scheduling, staff reasons, program operational state, outputs."""

    def __init__(self, model: ModelContext):
        self.model = model
        self.env = model.env
        cfg = model.cfg
        self.events = list(getattr(cfg, "timeline", ()) or ())
        self.district_names = [d.name for d in cfg.city.districts]
        self.n_districts = len(self.district_names)
        self.warm = cfg.simulation.warmup_days * DAY_MIN
        self.horizon = model.horizon_min
        self.fired: list[tuple[float, int, str]] = []  # (time, event index, type)
        self.out: dict[int, set[str]] = {}  # id(agent) -> reasons the post is empty
        self._absence_gen: dict[int, int] = {}  # id(agent) -> index of the absence event in force
        self._turnover_gen: dict[int, int] = {}  # id(agent) -> index of the turnover event in force
        self._vacancy_of: dict[int, int] = {}  # id(agent) -> index of the vacancy event that holds it
        self.hires: dict[str, int] = dict.fromkeys(ROLES, 0)
        self._patrol_in_post: int | None = None  # running count once known
        self.departures: dict[str, int] = dict.fromkeys(ROLES, 0)
        self.cit_trained_by_events = 0
        self.posts_added: list[tuple[float, str, str, int]] = []  # (time, role, program or district, count)
        self.surge = [1.0] * self.n_districts
        self.trend = [1.0] * self.n_districts
        self._trend_gen = [-1] * self.n_districts
        self.other_surge = 1.0  # non-MH police calls (city-wide; events with non_mh = true)
        self.other_trend = 1.0
        self._other_trend_gen = -1
        # patrol posts (a program's own officers, e.g. co-response ride-along, are not in the patrol pools)
        self._patrol_ids = {id(o) for o in model.officers}
        self.capacity: dict[str, float] = {}
        self.funded: dict[str, float] = {}
        self.programs: dict[str, Program] = {p.key: p for p in model.programs}
        # programs with a launch_program event: districts launched so far (nothing before the launch); their staff
        # are out of post ("prelaunch") until then, so they take no call and cost nothing
        self.launched: dict[str, set[int]] = {
            ev.program: set()
            for ev in self.events
            if ev.type == "launch_program" and ev.program in self.programs
        }
        for key in self.launched:
            for agent in self.programs[key].staff():
                self.set_out(agent, "prelaunch")
            self.programs[key].hold_for_launch()
        # operational state per (program, district): active now, since when, counted days, suspensions
        self.active: dict[str, list[bool]] = {}
        self.since: dict[str, list[float]] = {}
        self.op_min: dict[str, list[float]] = {}
        self.suspensions: dict[str, list[int]] = {}
        for key, p in self.programs.items():
            self.capacity[key] = 1.0
            self.funded[key] = 1.0
            covers = [p.covers(d) for d in range(self.n_districts)]
            self.active[key] = [
                c and p.key_staff_in_post(d) and self._launched_in(key, d) for d, c in enumerate(covers)
            ]
            self.since[key] = [0.0] * self.n_districts
            self.op_min[key] = [0.0] * self.n_districts
            self.suspensions[key] = [0] * self.n_districts
            for d, on in enumerate(self.active[key]):
                if covers[d] and not on:
                    p.suspend(d)
        for i, event in enumerate(self.events):
            self.env.timeout(event.day * DAY_MIN).callbacks.append(partial(self._fire, i))

    # ------------------------------------------------------------------------------------------------------
    # firing
    # ------------------------------------------------------------------------------------------------------
    def _fire(self, index: int, _ev: Any) -> None:
        event = self.events[index]
        self.fired.append((self.env.now, index, event.type))
        apply_event(self, event, index)
        self.refresh()

    def program(self, key: str) -> Program:
        return self.programs[key]

    def _stream(self, *keys: int) -> np.random.Generator:
        m = self.model
        return rngmod.stream(m.root_seed, m.replication, "events", *keys)

    # ------------------------------------------------------------------------------------------------------
    # staff registry
    # ------------------------------------------------------------------------------------------------------
    def clinicians(self) -> list[Clinician]:
        return list(self.model.agents_by_type.get(Clinician, ()))

    def posts(self, role: str, district: str | None = None, program: str | None = None) -> list[Any]:
        """The agents (posts) of a role, optionally of a district and of a program, in creation order."""
        d = None if district is None else self.district_names.index(district)
        if role == "patrol":
            return [o for o in self.model.officers if d is None or o.district == d]
        if role == "crpo":
            return [c for c in self.model.crpos if d is None or c.district == d]
        return [
            c
            for c in self.clinicians()
            if c.role == role
            and (program is None or c.program == program)
            and (d is None or c.district is None or c.district == d)
        ]

    def in_post_count(self, role: str) -> int:
        """People in post in a role now (patrol: kept as a running count, the daily reporter never scans)."""
        if role == "patrol":
            if self._patrol_in_post is None:
                self._patrol_in_post = sum(1 for o in self.model.officers if o.in_post)
            return self._patrol_in_post
        if role == "crpo":
            return sum(1 for c in self.model.crpos if c.in_post)
        return sum(1 for c in self.clinicians() if c.role == role and c.in_post)

    @staticmethod
    def role_of(agent: Any) -> str:
        if isinstance(agent, PatrolOfficer):
            return "patrol"
        if isinstance(agent, Clinician):
            return agent.role
        return "crpo"

    def set_out(self, agent: Any, reason: str) -> None:
        reasons = self.out.setdefault(id(agent), set())
        was_in = not reasons
        first = reason not in reasons
        reasons.add(reason)
        if was_in and agent.in_post:
            self._leave(agent)
        if first and reason in PERMANENT:
            for p in self.model.programs:
                p.staff_lost(agent)

    def set_back(self, agent: Any, reason: str) -> None:
        reasons = self.out.get(id(agent))
        if not reasons or reason not in reasons:
            return
        reasons.discard(reason)
        if not reasons and not agent.in_post:
            self._return(agent)

    def _leave(self, agent: Any) -> None:
        if id(agent) in self._patrol_ids:
            self.in_post_count("patrol")
            self._patrol_in_post -= 1
            self.model.patrol[agent.district].withdraw(agent)
        else:
            agent.in_post = False
        for p in self.model.programs:
            p.staff_changed(agent)

    def _shift_on(self, s: int) -> bool:
        sh = self.model.cfg.police.shifts[s]
        start, length = round(sh.start_hour * 60) % DAY_MIN, round(sh.hours * 60)
        return length >= DAY_MIN or (self.env.now % DAY_MIN - start) % DAY_MIN < length

    def _return(self, agent: Any) -> None:
        agent.in_post = True
        patrol = id(agent) in self._patrol_ids  # not a program's own officer (co-response ride-along)
        if patrol and self._patrol_in_post is not None:
            self._patrol_in_post += 1
        if patrol and self._shift_on(agent.shift):
            if agent.on_duty:
                agent.off_when_free = False  # withdrawn while busy and back before the call cleared
            else:
                self.model.patrol[agent.district].start_shift(agent.shift)
        for p in self.model.programs:
            p.staff_changed(agent)

    def newcomer(self, agent: Any, awareness: float | None, briefing_days: float | None = None) -> None:
        """A new person takes the post: not CIT-trained, referral awareness ``awareness``."""
        role = self.role_of(agent)
        self.hires[role] += 1
        if isinstance(agent, PatrolOfficer):
            agent.cit_trained = False
            if awareness is not None:
                agent.awareness = awareness
            for p in self.model.programs:
                p.officer_replaced(agent)
            if briefing_days is not None:
                self.env.timeout(briefing_days * DAY_MIN).callbacks.append(
                    partial(self._brief, agent, self.hires[role])
                )

    def _brief(self, agent: PatrolOfficer, _hire: int, _ev: Any) -> None:
        if agent.in_post:
            target = self.model.cfg.police.referral_awareness
            for p in self.model.programs:
                p.officer_replaced(agent)  # bring any lazily decayed awareness up to date first
            agent.awareness = max(agent.awareness, target)

    # ------------------------------------------------------------------------------------------------------
    # staffing events
    # ------------------------------------------------------------------------------------------------------
    def set_vacancy(self, index: int, ev: Vacancy) -> None:
        posts = self.posts(ev.role, ev.district, ev.program)
        if not posts:
            return
        # The same order for the same posts in every vacancy event, so a larger share keeps the posts already vacant.
        scope = (VACANCY_KEY, ROLES.index(ev.role), _scope_key(self.district_names, ev.district), len(posts))
        order = self._stream(*scope).permutation(len(posts)).tolist()
        n_vacant = round(ev.share * len(posts))
        vacant = {id(posts[k]) for k in order[:n_vacant]}
        for agent in posts:
            if id(agent) in vacant:
                self._vacancy_of[id(agent)] = index
                self.set_out(agent, "vacancy")
            elif "vacancy" in self.out.get(id(agent), ()):
                del self._vacancy_of[id(agent)]
                self.set_back(agent, "vacancy")
                self.newcomer(agent, ev.new_awareness)

    def start_absence(self, index: int, ev: Absence) -> None:
        posts = self.posts(ev.role, ev.district, ev.program)
        for agent in posts:
            self._absence_gen[id(agent)] = index
        self._absence_day(index, posts, ev.share, self._stream(index), None)

    def _absence_day(
        self, index: int, posts: list[Any], share: float, g: np.random.Generator, _ev: Any
    ) -> None:
        current = [a for a in posts if self._absence_gen.get(id(a)) == index]
        if not current:
            return
        u = g.random(
            len(posts)
        )  # one draw per post per day, whether or not still governed (fixed use of the stream)
        for k, agent in enumerate(posts):
            if self._absence_gen.get(id(agent)) != index:
                continue
            if u[k] < share:
                self.set_out(agent, "absent")
            else:
                self.set_back(agent, "absent")
        self.refresh()
        if share > 0:
            nxt = (math.floor(self.env.now / DAY_MIN) + 1) * DAY_MIN
            if nxt < self.horizon:
                self.env.timeout(nxt - self.env.now).callbacks.append(
                    partial(self._absence_day, index, posts, share, g)
                )

    def start_turnover(self, index: int, ev: Turnover) -> None:
        posts = self.posts(ev.role, ev.district, ev.program)
        for k, agent in enumerate(posts):
            self._turnover_gen[id(agent)] = index
            if ev.annual_rate > 0:
                g = self._stream(index, k)
                self._next_departure(index, ev, agent, g)

    def _next_departure(self, index: int, ev: Turnover, agent: Any, g: np.random.Generator) -> None:
        gap = g.standard_exponential() * 365.0 * DAY_MIN / ev.annual_rate
        if self.env.now + gap < self.horizon:
            self.env.timeout(gap).callbacks.append(partial(self._depart, index, ev, agent, g))

    def _depart(self, index: int, ev: Turnover, agent: Any, g: np.random.Generator, _ev: Any) -> None:
        if self._turnover_gen.get(id(agent)) != index:
            return  # a later turnover event governs this post now
        if "cut" in self.out.get(id(agent), ()) or "lost" in self.out.get(id(agent), ()):
            return  # the post no longer exists
        self.departures[self.role_of(agent)] += 1
        self.set_out(agent, "turnover")
        self.refresh()
        lag = (ev.hiring_lag_days + ev.training_days) * DAY_MIN
        self.env.timeout(lag).callbacks.append(partial(self._hired, index, ev, agent, g))

    def _hired(self, index: int, ev: Turnover, agent: Any, g: np.random.Generator, _ev: Any) -> None:
        self.set_back(agent, "turnover")
        self.newcomer(agent, ev.new_awareness if ev.role == "patrol" else None, ev.briefing_days)
        self.refresh()
        if self._turnover_gen.get(id(agent)) == index:
            self._next_departure(index, ev, agent, g)

    def lose_patrol(self, index: int, ev: LosePatrol) -> None:
        posts = [
            o
            for o in self.posts("patrol", ev.district)
            if o.in_post and (ev.shift is None or self.model.cfg.police.shifts[o.shift].name == ev.shift)
        ]
        order = self._stream(index).permutation(len(posts)).tolist()
        lost = [posts[k] for k in order[: ev.count]]
        for agent in lost:
            self.set_out(agent, "lost")
        if ev.duration_days is not None:
            self.env.timeout(ev.duration_days * DAY_MIN).callbacks.append(partial(self._restore, lost))

    def _restore(self, agents: list[Any], _ev: Any) -> None:
        for agent in agents:
            self.set_back(agent, "lost")
        self.refresh()

    def start_cit_training(self, index: int, ev: CITTraining) -> None:
        self._cit_course(ev, None)

    def _cit_course(self, ev: CITTraining, _ev: Any) -> None:
        cit = self.programs.get("cit")
        if cit is not None and cit.ended:
            return  # the CIT program ended: no more courses (trained officers keep their training)
        waiting = [o for o in self.posts("patrol", ev.district) if o.in_post and not o.cit_trained]
        for o in waiting[: ev.seats_per_quarter]:
            o.cit_trained = True
            self.cit_trained_by_events += 1
        nxt = self.env.now + QUARTER_DAYS * DAY_MIN
        if nxt < self.horizon:
            self.env.timeout(QUARTER_DAYS * DAY_MIN).callbacks.append(partial(self._cit_course, ev))

    # ------------------------------------------------------------------------------------------------------
    # champions
    # ------------------------------------------------------------------------------------------------------
    def _person(self, role: str, district: str | None, program: str) -> Any:
        posts = self.posts(role, district, None if role == "crpo" else program)
        return posts[0] if posts else None

    def champion_departs(self, index: int, ev: ChampionDeparts) -> None:
        agent = self._person(ev.role, ev.district, ev.program)
        if agent is None:
            return
        self.departures[ev.role] += 1
        self.set_out(agent, "departed")
        if ev.replacement_after_days is not None:
            self.env.timeout(ev.replacement_after_days * DAY_MIN).callbacks.append(
                partial(self._replace_champion, agent, ev.replacement_strength)
            )

    def _replace_champion(self, agent: Any, factor: float, _ev: Any) -> None:
        agent.champion_strength = getattr(agent, "champion_strength", 1.0) * factor
        self.hires[self.role_of(agent)] += 1
        self.set_back(agent, "departed")
        self.refresh()

    def set_champion(self, ev: Any) -> None:
        agent = self._person(ev.role, ev.district, ev.program)
        if agent is not None:
            agent.champion_strength = ev.strength

    # ------------------------------------------------------------------------------------------------------
    # budget
    # ------------------------------------------------------------------------------------------------------
    def cut_posts(self, index: int, ev: CutPost) -> None:
        posts = [
            a for a in self.posts(ev.role, ev.district, ev.program) if "cut" not in self.out.get(id(a), ())
        ]
        if ev.count is not None:
            posts = posts[-ev.count :]  # the last-created posts go first
        for agent in posts:
            self.set_out(agent, "cut")

    def scale_program(self, key: str, factor: float) -> None:
        self.capacity[key] *= factor
        p = self.programs[key]
        if self.capacity[key] <= 1e-9:
            self.end_program(key)
            return
        p.scale_capacity(self.capacity[key])
        unfunded = {id(a) for a in p.unfunded_staff()}
        for agent in p.staff():
            if id(agent) in unfunded:
                self.set_out(agent, "unfunded")
            else:
                self.set_back(agent, "unfunded")

    def end_program(self, key: str) -> None:
        p = self.programs[key]
        p.end_program()
        for agent in p.staff():
            self.set_out(agent, "unfunded")

    def funding_ends(self, key: str, share: float) -> None:
        before = self.funded[key]
        after = max(0.0, before - share)
        self.funded[key] = after
        if after <= 1e-9:
            self.end_program(key)
        else:
            self.scale_program(key, after / before)

    # ------------------------------------------------------------------------------------------------------
    # demand
    # ------------------------------------------------------------------------------------------------------
    def _districts(self, district: str | None) -> list[int]:
        return list(range(self.n_districts)) if district is None else [self.district_names.index(district)]

    def set_surge(self, district: str | None, factor: float, non_mh: bool = False) -> None:
        ds = self._districts(district)
        for d in ds:
            self.surge[d] = factor
        self._apply_demand(ds)
        if non_mh:
            self.other_surge = factor
            self._apply_other()

    def start_trend(self, index: int, ev: DemandTrend) -> None:
        ds = self._districts(ev.district)
        for d in ds:
            self._trend_gen[d] = index
        if ev.non_mh:
            self._other_trend_gen = index
        self._trend_step(index, ev, ds, self.env.now, None)

    def _trend_step(self, index: int, ev: DemandTrend, ds: list[int], t0: float, _ev: Any) -> None:
        ds = [d for d in ds if self._trend_gen[d] == index]
        other = self._other_trend_gen == index
        if not ds and not other:
            return
        years = (self.env.now - t0) / (365.0 * DAY_MIN)
        for d in ds:
            self.trend[d] = (1.0 + ev.annual_change) ** years
        self._apply_demand(ds)
        if other:
            self.other_trend = (1.0 + ev.annual_change) ** years
            self._apply_other()
        step = self.model.cfg.simulation.month_days * DAY_MIN
        if self.env.now + step < self.horizon:
            self.env.timeout(step).callbacks.append(partial(self._trend_step, index, ev, ds, t0))

    def _apply_other(self) -> None:
        """Non-MH police calls arrive at surge x trend times the base rate (a time change of their stream)."""
        self.model.set_other_rate_factor(self.other_surge * self.other_trend)

    def _apply_demand(self, ds: list[int]) -> None:
        self.model.set_mh_rate_factors({d: self.surge[d] * self.trend[d] for d in ds})

    # ------------------------------------------------------------------------------------------------------
    # programs' operational state
    # ------------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Suspend or resume each program in each district it covers, from who is in post now."""
        now = self.env.now
        for key, p in self.programs.items():
            active, since = self.active[key], self.since[key]
            for d in range(self.n_districts):
                if not p.covers(d):
                    continue
                want = not p.ended and p.key_staff_in_post(d) and self._launched_in(key, d)
                if want == active[d]:
                    continue
                if active[d]:
                    self.op_min[key][d] += _overlap(since[d], now, self.warm, self.horizon)
                    if now >= self.warm:
                        self.suspensions[key][d] += 1
                    p.suspend(d)
                else:
                    p.resume(d)
                active[d] = want
                since[d] = now

    def _launched_in(self, key: str, d: int) -> bool:
        launched = self.launched.get(key)
        return launched is None or d in launched

    # ------------------------------------------------------------------------------------------------------
    # programs that launch and grow (scenario.timeline.launch)
    # ------------------------------------------------------------------------------------------------------
    def launch_program(self, ev: LaunchProgram) -> None:
        """Staff take their posts, the listed districts open, and dispatch routing starts its ramp-up."""
        p = self.programs[ev.program]
        names = ev.districts
        ds = range(self.n_districts) if names is None else (self.district_names.index(n) for n in names)
        self.launched[ev.program].update(d for d in ds if p.covers(d))
        for agent in p.staff():
            self.set_back(agent, "prelaunch")
        p.launch()
        month = self.model.cfg.simulation.month_days * DAY_MIN
        p.start_ramp(self.env.now, ev.ramp_start_share, ev.ramp_months * month)

    def expand_program(self, ev: ExpandProgram) -> None:
        p = self.programs[ev.program]
        self.launched[ev.program].update(
            d for d in (self.district_names.index(n) for n in ev.districts) if p.covers(d)
        )

    def restore_posts(self, ev: RestorePost) -> None:
        """Posts cut for good come back (the first cut first), each filled by a newcomer."""
        posts = [a for a in self.posts(ev.role, ev.district, ev.program) if "cut" in self.out.get(id(a), ())]
        if ev.count is not None:
            posts = posts[: ev.count]
        for agent in posts:
            self.set_back(agent, "cut")
            self.newcomer(agent, None)

    def add_posts(self, ev: AddPost) -> None:
        """New posts from today, each filled by a newcomer: patrol units join their district's roster (on duty
        at once if their shift is on); a program's posts come from its ``add_posts`` hook (funded, in post)."""
        if ev.role == "patrol":
            d = self.district_names.index(ev.district)
            s = [sh.name for sh in self.model.cfg.police.shifts].index(ev.shift)
            pool = self.model.patrol[d]
            for _ in range(ev.count):
                officer = PatrolOfficer(self.model, d, s, ev.new_awareness)
                self.model.officers.append(officer)
                pool.roster[s].append(officer)
                self._patrol_ids.add(id(officer))
                if self._patrol_in_post is not None:
                    self._patrol_in_post += 1
                self.newcomer(officer, ev.new_awareness)
            if self._shift_on(s):
                pool.start_shift(s)
            self.posts_added.append((self.env.now, "patrol", ev.district, ev.count))
            return
        for agent in self.programs[ev.program].add_posts(ev.count, ev.role, ev.program_shift):
            self.hires[self.role_of(agent)] += 1
        self.posts_added.append((self.env.now, ev.role, ev.program, ev.count))

    def operational_days(self) -> dict[str, dict[str, float]]:
        now = self.env.now
        out: dict[str, dict[str, float]] = {}
        for key, p in self.programs.items():
            row = {}
            for d, name in enumerate(self.district_names):
                if not p.covers(d):
                    continue
                total = self.op_min[key][d]
                if self.active[key][d]:
                    total += _overlap(self.since[key][d], now, self.warm, self.horizon)
                row[name] = round(total / DAY_MIN, 6)
            out[key] = row
        return out

    def active_share(self, key: str) -> float:
        p = self.programs.get(key)
        if p is None:
            return 0.0
        covered = [d for d in range(self.n_districts) if p.covers(d)]
        if not covered:
            return 0.0
        return sum(1 for d in covered if self.active[key][d]) / len(covered)

    # ------------------------------------------------------------------------------------------------------
    # outputs
    # ------------------------------------------------------------------------------------------------------
    def mean_awareness(self) -> float:
        """Mean referral awareness of in-post patrol officers now (read-only: lazily decayed values as a program
        that keeps them would report, without updating them)."""
        now = self.env.now
        officers = [o for o in self.model.officers if o.in_post]
        if not officers:
            return 0.0
        reader = next((p.awareness_now for p in self.model.programs if hasattr(p, "awareness_now")), None)
        if reader is None:
            return math.fsum(o.awareness for o in officers) / len(officers)
        return math.fsum(reader(o, now) for o in officers) / len(officers)

    def reporters(self) -> dict[str, Any]:
        rep: dict[str, Any] = {}
        for role in ROLES:
            rep[f"staff_in_post_{role}"] = partial(_in_post, self, role)
        for key in program_keys():
            rep[f"program_active_{key}"] = partial(_active, self, key)
        rep["mean_officer_awareness"] = lambda m: self.mean_awareness()
        if "outreach" not in self.programs:  # present in every run, so series compare across scenarios
            rep["outreach_visits"] = _zero
            rep["outreach_referrals"] = _zero
        return rep

    def summary(self) -> dict[str, Any]:
        names = self.district_names
        return {
            "program_operational_days": self.operational_days(),
            "program_suspensions": {
                key: {names[d]: n for d, n in enumerate(row) if self.programs[key].covers(d)}
                for key, row in self.suspensions.items()
            },
            "timeline_events_fired": [
                {"day": t / DAY_MIN, "index": i, "type": kind} for t, i, kind in self.fired
            ],
            "staff_in_post_end": {role: self.in_post_count(role) for role in ROLES},
            "staff_departures": dict(self.departures),
            "staff_hires": dict(self.hires),
        } | (
            {
                "posts_added": [
                    {"day": t / DAY_MIN, "role": role, "where": where, "count": n}
                    for t, role, where, n in self.posts_added
                ]
            }
            if self.posts_added
            else {}
        )


def _scope_key(names: list[str], district: str | None) -> int:
    return 0 if district is None else names.index(district) + 1


def _overlap(a: float, b: float, lo: float, hi: float) -> float:
    return max(0.0, min(b, hi) - max(a, lo))


def _in_post(tl: Timeline, role: str, _m: Any) -> int:
    return tl.in_post_count(role)


def _active(tl: Timeline, key: str, _m: Any) -> float:
    return tl.active_share(key)


def _zero(_m: Any) -> int:
    return 0


def attach_timeline(model: ModelContext) -> Timeline:
    """Build the run's timeline (after the programs are attached): schedules the scenario's events, if any."""
    return Timeline(model)


__all__ = ["CLINICIAN_ROLES", "Timeline", "attach_timeline"]
