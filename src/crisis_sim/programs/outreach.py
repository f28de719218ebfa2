"""Outreach / case management after [echinops_study] (ÉCHINOPS): people the police keep meeting, but who do not seek care,
are offered home-based assessment and follow-up.

The pathway is the study's Figure 1 and Table 1, step by step: a patrol officer's report of disturbed mental state
→ referral to the district's CRPO (with the officer's awareness as probability) → offer and signed consent (without
it nothing is shared and the nurse never hears of the case) → nurse record review and assessment → weekly team
meeting → home visit by the nurse (plus the psychiatrist for a share) with at least two officers → follow-up visits
→ step-down to regular services ahead of the waitlist (the equity concern). Staff are SimPy resources (one task at
a time) with weekly time budgets, because CRPOs and the psychiatrist have other duties; the nurse's station visits
keep officers' awareness up, and awareness decays between them (computed lazily, never polled).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim import rng
from crisis_sim.model.agents import Clinician
from crisis_sim.model.destinations import DAY_MIN, WEEK_MIN
from crisis_sim.model.dispositions import REPORT
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.programs.base import Program
from crisis_sim.programs.outreach_referrals import CommunityReferralProcess
from crisis_sim.rng import ChunkedUniform, program_stream
from crisis_sim.scenario.program_sections.outreach import OutreachConfig

if TYPE_CHECKING:
    from crisis_sim.model.agents import PatrolOfficer
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext
    from crisis_sim.model.destinations import Referral

# Latent columns of a crisis row owned by this program (18..31 are for programs; outreach has 26-29).
LAT_REFER = rng.latent("outreach", "refer")
LAT_CONSENT = rng.latent("outreach", "consent")
LAT_PSYCH = rng.latent("outreach", "psychiatrist")
YEAR_MIN = 365 * DAY_MIN


class Staff:
    """One person's outreach time: a SimPy Resource (one task at a time) and a weekly budget (a Container refilled
    every Monday 00:00, less the weekly meeting's reserved time). ``agent.in_post`` False (a post cut, a departure)
    stops the refills: the week's remaining time is used up, then the person's tasks wait until back in post."""

    def __init__(self, env: simpy.Environment, name: str, minutes_per_week: float, reserved_min: float, agent: Any,
                 window: tuple[float, float]):  # fmt: skip
        self.name = name
        self.env = env
        self.agent = agent
        self.window = window  # counted period (warm-up end, horizon)
        self.person = simpy.Resource(env, capacity=1)
        self.minutes_per_week = minutes_per_week
        self.reserved_min = reserved_min
        self.allotment = max(0.0, minutes_per_week - reserved_min)
        self.budget = simpy.Container(env, capacity=max(self.allotment, 1e-9), init=self.allotment)
        self.week = 0
        self.no_hours = False  # budget cut to nothing: no refills, tasks wait (set by scale_capacity)
        # minutes charged to each week's budget (tasks, not meetings)
        self.used_by_week: dict[int, float] = {}
        self.busy_min = 0.0  # tasks + meetings, all run
        self.busy_counted = 0.0  # the same after warm-up
        self.paid_counted = 0.0  # minutes paid in the counted period (weeks in post)
        self._pay(0.0)

    def charge(self, minutes: float) -> float:
        """Budget to take for a task of ``minutes`` (a task longer than a week's allotment takes all of it)."""
        return min(minutes, self.allotment)

    def account(self, minutes: float, counted: bool) -> None:
        self.used_by_week[self.week] = self.used_by_week.get(self.week, 0.0) + minutes
        self.busy_min += minutes
        if counted:
            self.busy_counted += minutes

    def _pay(self, t: float) -> None:
        if self.agent.in_post:
            lo, hi = self.window
            overlap = max(0.0, min(t + WEEK_MIN, hi) - max(t, lo))
            self.paid_counted += self.minutes_per_week * overlap / WEEK_MIN

    def refill(self) -> None:
        self.week += 1
        self._pay(self.env.now)
        top_up = self.allotment - self.budget.level
        if top_up > 1e-9 and self.agent.in_post and not self.no_hours:
            self.budget.put(top_up)

    def free_now(self, minutes: float) -> bool:
        """Idle, nobody queued, and enough of this week's budget left: can join a visit without waiting."""
        return (
            self.person.count == 0
            and not self.person.queue
            and not self.budget.get_queue
            and self.budget.level >= self.charge(minutes)
        )


@dataclass(slots=True)
class OutreachCase:
    """One referral from a police report, followed until it stops or steps down."""

    case_id: int
    resident: int
    district: int
    call_id: int
    crisis: int
    officer: int
    t_report: float
    latents: Any
    offers: int = 0
    consented: bool = False
    t_consent: float = math.nan
    shared: bool = False  # information shared with the care team (only ever after consent)
    status: str = "referred"
    psychiatrist: bool = False
    engagement_version: int | None = None
    visits: list[int] = field(default_factory=list)
    req: Any = None  # the caseload request (a wind-down releases it)
    in_caseload: bool = False
    source: str = "patrol"  # way in: "patrol" (report), "list" (frequent contact), "family", "provider"


class _StepDownReferral:
    """What ``model.refer`` needs from a call, dated at step-down (not at the original report)."""

    __slots__ = ("resident", "crisis", "call_id", "t_received", "latents", "referred")

    def __init__(self, case: OutreachCase, now: float):
        self.resident = case.resident
        self.crisis = case.crisis
        self.call_id = case.call_id
        self.t_received = now
        self.latents = case.latents  # the report's attendance/engagement columns are otherwise unused
        self.referred = False


class OutreachProgram(Program):
    key = "outreach"
    label = "proactive outreach (nurse-led, with community-relations officers)"
    config_class = OutreachConfig
    stream_key = rng.PROGRAM_STREAMS["outreach"]
    latents = rng.LATENTS["outreach"]
    responders = ()
    series_defaults = {
        "outreach_referrals": 0,
        "outreach_consents": 0,
        "outreach_visits": 0,
        "outreach_active_caseload": 0,
    }
    settings = {
        "nurse_fte": "{:g} nurse FTE",
        "caseload_cap": "caseload cap {}",
        "psychiatrist_hours_per_week": "{:g} psychiatrist hours a week",
    }
    launchable = True  # staff are paid week by week in post; a launch holds pay and work until its day
    held = False  # launch_program: before the launch day nobody is paid or works (hold_for_launch / launch)
    paid_from = 0.0  # minute from which peers' FTE is paid (the launch day when launched late)

    def __init__(self, config: OutreachConfig):
        super().__init__(config)
        self.cases: list[OutreachCase] = []
        self.log: list[tuple[float, int, str]] = []  # (time, case id, step) for audit and tests
        self.visits: list[dict[str, Any]] = []
        self.station_visits: list[tuple[float, int]] = []
        self.totals = dict.fromkeys(
            ("referrals", "consents", "visits"), 0
        )  # whole run, for the daily reporters
        self.counted = dict.fromkeys(
            ("referrals", "consents", "declined", "visits", "psychiatrist_visits", "step_downs", "already_in_care",
             "dropped_waiting", "intakes", "no_crpo", "stepdown_not_referred", "meetings", "suspended",
             "wound_down"),
            0,
        )  # fmt: skip
        self.patrol_visit_min = 0.0
        self._stepdown_wait_min = 0.0
        self._cl_area = 0.0
        self._cl_last = 0.0

    # ------------------------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------------------------
    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        cfg = self.config
        env = model.env
        self.env = env
        self.warm = model.cfg.simulation.warmup_days * DAY_MIN
        self.horizon = model.horizon_min
        self._u = ChunkedUniform(
            program_stream(model.root_seed, model.replication, self.stream_key), chunk=512
        )
        self._visit_min = scalar_sampler(cfg.visit_duration)
        names = [d.name for d in model.cfg.city.districts]
        self.participating = [cfg.districts is None or name in cfg.districts for name in names]
        self._decay = math.log(2) / (cfg.awareness_half_life_days * DAY_MIN)
        self._work_start = cfg.work_start_hour * 60
        self._work_end = self._work_start + cfg.work_hours_per_day * 60
        mean_trust = model.cfg.population.trust_services_mean
        self._mean_trust = mean_trust
        # Mutable copies of the consent parameters: consent events change them (the config is frozen).
        self.consent_delay_days = cfg.consent_delay_days
        self.set_consent(cfg.consent_at_mean_trust, None)
        # Team composition: a peer specialist joins offers and first visits (peer_fte 0 = no peer: no change).
        self.peer = cfg.peer_fte > 0
        self._peer_logit = math.log(cfg.peer_consent_or) if self.peer else 0.0
        self.peer_min = 0.0  # peer minutes at offers and first visits, counted after warm-up

        meet = cfg.meeting_min
        window = (self.warm, self.horizon)
        self.nurse_agent = Clinician(model, "nurse", self.key)
        self.nurse_agent.champion_strength = 1.0  # scales station-visit gains (champion events)
        self.nurse = Staff(
            env, "nurse", cfg.nurse_fte * cfg.hours_per_fte_week * 60, meet, self.nurse_agent, window
        )
        self.psych: Staff | None = None
        if cfg.psychiatrist_hours_per_week > 0:
            self.psych_agent = Clinician(model, "psychiatrist", self.key)
            self.psych = Staff(env, "psychiatrist", cfg.psychiatrist_hours_per_week * 60, meet, self.psych_agent,
                               window)  # fmt: skip
        self.crpo: list[Staff | None] = []  # None where the district does not take part
        for d, agent in enumerate(model.crpos):
            if not self.participating[d]:
                self.crpo.append(None)
                continue
            agent.hours_per_week = cfg.crpo_hours_per_week
            agent.champion_strength = cfg.crpo_champion_strength
            self.crpo.append(Staff(env, f"crpo{d}", cfg.crpo_hours_per_week * 60, meet, agent, window))
        self.caseload = simpy.Resource(env, capacity=cfg.caseload_cap)
        self._base_minutes = {id(s): s.minutes_per_week for s in self._all_staff()}
        self._aw_t: dict[int, float] = {}
        self._index_officers()

        # No responder type is registered: outreach never attends a 911 call, it follows up police reports.
        self._meeting = env.event()
        env.process(self._weeks())
        env.process(self._meetings())
        self.frequent = cfg.selection == "frequent_contact"
        if self.frequent:
            env.process(self._contact_list())
        # --- community referrals (issue 13, item 6): family and providers refer without a police call ---------
        self.community: CommunityReferralProcess | None = None
        self._skipped = {"not_covered": 0, "already_open": 0}  # community referrals that opened no case
        self._intake_refs: list[tuple[str, Referral]] = []  # (case source, step-down referral) at intake
        self._stepdown_source: dict[int, str] = {}  # resident -> source of the case that stepped down last
        if cfg.community_referrals.enabled:
            self.community = CommunityReferralProcess(self, cfg.community_referrals)
            self.community.start()
        if cfg.station_visits_per_month > 0:
            stations = [d for d in range(len(model.crpos)) if self.participating[d]]
            for i, d in enumerate(stations):
                env.process(self._station_visits(d, i / len(stations)))

    def _index_officers(self) -> None:
        officers = self.model.officers
        self._n_officers = len(officers)
        self._officer_by_id = {o.unique_id: o for o in officers}
        self._district_officers: list[list[PatrolOfficer]] = [[] for _ in self.model.crpos]
        for o in officers:
            self._district_officers[o.district].append(o)

    def _officer(self, uid: int) -> PatrolOfficer | None:
        if len(self.model.officers) != self._n_officers:  # staffing events added officers
            self._index_officers()
        return self._officer_by_id.get(uid)

    # ------------------------------------------------------------------------------------------------------
    # awareness: decays towards the floor between station visits, computed when used
    # ------------------------------------------------------------------------------------------------------
    def awareness(self, officer: PatrolOfficer, now: float) -> float:
        """The officer's awareness now (exponential decay above the floor since its last update)."""
        uid = officer.unique_id
        t0 = self._aw_t.get(uid, 0.0)
        if now > t0:
            floor = self.config.awareness_floor
            a = officer.awareness
            if a > floor:
                officer.awareness = floor + (a - floor) * math.exp(-self._decay * (now - t0))
            self._aw_t[uid] = now
        return officer.awareness

    def _station_visits(self, d: int, phase: float):
        """The nurse visits district d's station N times a month; officers' awareness moves towards the ceiling."""
        cfg = self.config
        env = self.env
        interval = self.model.cfg.simulation.month_days * DAY_MIN / cfg.station_visits_per_month
        yield env.timeout(interval * phase)  # stagger the stations
        while True:
            t_plan = env.now
            yield from self._task(self.nurse, cfg.station_visit_min)
            now = env.now
            crpo = self.model.crpos[d]
            gain = cfg.station_visit_gain * (crpo.champion_strength if crpo.in_post else 0.0)
            gain *= self.nurse_agent.champion_strength
            if len(self.model.officers) != self._n_officers:
                self._index_officers()
            ceiling = cfg.awareness_ceiling
            for o in self._district_officers[d]:
                if o.in_post:
                    a = self.awareness(o, now)
                    if a < ceiling:
                        o.awareness = a + gain * (ceiling - a)
            self.station_visits.append((now, d))
            yield env.timeout(max(0.0, t_plan + interval - env.now))

    def mean_awareness(self) -> float:
        """Mean awareness of in-post officers of the participating districts, now."""
        now = self.env.now
        if len(self.model.officers) != self._n_officers:
            self._index_officers()
        officers = [
            o
            for d, team in enumerate(self._district_officers)
            if self.participating[d]
            for o in team
            if o.in_post
        ]
        return sum(self.awareness(o, now) for o in officers) / len(officers) if officers else 0.0

    # ------------------------------------------------------------------------------------------------------
    # working time and staff tasks
    # ------------------------------------------------------------------------------------------------------
    def next_work_time(self, t: float) -> float:
        """``t`` if within working hours (Monday-Friday), else the start of the next working day."""
        day, minute = divmod(t, DAY_MIN)
        day = int(day)
        if day % 7 < 5 and self._work_start <= minute < self._work_end:
            return t
        if minute >= self._work_start:
            day += 1
        while day % 7 >= 5:
            day += 1
        return day * DAY_MIN + self._work_start

    def _at_work(self):
        t = self.next_work_time(self.env.now)
        if t > self.env.now:
            yield self.env.timeout(t - self.env.now)

    def _charge(self, staff: Staff, minutes: float):
        amount = staff.charge(minutes)
        yield staff.budget.get(amount)
        staff.account(amount, self.env.now >= self.warm)

    def _task(self, staff: Staff, minutes: float):
        """One task: wait for the person, for this week's budget and for working hours, then work."""
        with staff.person.request() as req:
            yield req
            yield from self._charge(staff, minutes)
            yield from self._at_work()
            yield self.env.timeout(minutes)

    def _weeks(self):
        """Refill every staff budget each Monday 00:00 (unused time does not carry over)."""
        env = self.env
        while True:
            yield env.timeout(WEEK_MIN - env.now % WEEK_MIN)
            for s in self._all_staff():
                s.refill()

    def _all_staff(self) -> list[Staff]:
        return [self.nurse, *([self.psych] if self.psych else []), *(s for s in self.crpo if s is not None)]

    def _meetings(self):
        """The weekly team meeting: cases waiting for it are discussed and released to the visit schedule."""
        cfg = self.config
        env = self.env
        first = cfg.meeting_weekday * DAY_MIN + cfg.meeting_hour * 60
        yield env.timeout(first)
        while True:
            t_plan = env.now
            counted = env.now >= self.warm
            attending = [s for s in self._all_staff() if s.agent.in_post and not self.held]
            for s in attending:  # the meeting's time is reserved out of each weekly budget
                s.busy_min += cfg.meeting_min
                if counted:
                    s.busy_counted += cfg.meeting_min
            yield env.timeout(cfg.meeting_min)
            ev, self._meeting = self._meeting, env.event()
            if counted and not self.held:
                self.counted["meetings"] += 1
            ev.succeed()
            yield env.timeout(t_plan + WEEK_MIN - env.now)

    # ------------------------------------------------------------------------------------------------------
    # the pathway
    # ------------------------------------------------------------------------------------------------------
    def after_disposition(self, call: Call) -> None:
        """A report of disturbed mental state by a patrol officer may become a CRPO referral."""
        if call.disposition != REPORT or self.frequent:
            return
        officer = self._officer(call.unit)
        if officer is None:  # not attended by a patrol officer (e.g. a clinician-only team)
            return
        if not self.participating[call.district]:
            return
        r = self.model.residents[call.resident]
        if r.program_flags.get(self.key) is not None:  # already in the pathway
            return
        now = self.env.now
        if not self._can_open(call.district, now):
            return
        aware = self.awareness(officer, now)
        if self.ramp is not None:  # launched with a ramp-up: referrals nested in the same uniform (CRN)
            aware *= self.routing_share(now)
        if float(call.latents[LAT_REFER]) >= aware:
            return
        self._open_case(r, call, now)

    def _contact_list(self):
        """Frequent-contact selection ([houston_ccsi]): on the first refresh day and every ``refresh_days`` after,
        rank residents by MH calls received in the last ``lookback_days`` (ties: the more recent last call, then
        the lower resident index) and offer the pathway to the top ``list_size`` who have at least
        ``min_contacts`` and never had a case from the list. One SimPy process, woken once per refresh: the window
        slides over the model's calls (in order of receipt) without scanning residents."""
        cfg = self.config
        fc = cfg.frequent_contact
        env, model = self.env, self.model
        lookback = fc.lookback_days * DAY_MIN
        window: deque = deque()  # (t_received, resident) of the calls inside the window
        counts: dict[int, int] = {}
        last_call: dict[int, Call] = {}
        seen = 0  # calls of model.mh_calls already in the window
        selected: set[int] = set()
        yield env.timeout(cfg.first_refresh_day() * DAY_MIN)
        while True:
            now = env.now
            calls = model.mh_calls
            for call in calls[seen:]:
                window.append((call.t_received, call.resident))
                counts[call.resident] = counts.get(call.resident, 0) + 1
                last_call[call.resident] = call
            seen = len(calls)
            while window and window[0][0] < now - lookback:
                _, res = window.popleft()
                counts[res] -= 1
            ranked = sorted(
                (res for res, k in counts.items() if k >= fc.min_contacts),
                key=lambda res: (-counts[res], -last_call[res].t_received, res),
            )[: fc.list_size]
            for res in ranked:
                if res not in selected and self._select(last_call[res], now):
                    selected.add(res)
            yield env.timeout(fc.refresh_days * DAY_MIN)

    def _select(self, call: Call, now: float) -> bool:
        """Offer the pathway to a listed resident (as a referral; consent and the rest as for call-by-call).
        False when no case opens (district not taking part, an open case, no CRPO, program suspended there): the
        resident may be offered it on a later list."""
        d = call.district
        r = self.model.residents[call.resident]
        if not self.participating[d] or r.program_flags.get(self.key) is not None:
            return False
        if not self._can_open(d, now):
            return False
        self._open_case(r, call, now, "list")
        return True

    def _can_open(self, d: int, now: float) -> bool:
        """A case can open in district ``d`` now: its CRPO is in post and the program is not suspended there (key
        staff out, or ended). A refusal after the warm-up is counted by its reason."""
        if not self.model.crpos[d].in_post:
            if now >= self.warm:
                self.counted["no_crpo"] += 1
            return False
        if self.is_suspended(d):
            if now >= self.warm:
                self.counted["suspended"] += 1
            return False
        return True

    def _open_case(self, r: Any, call: Call, now: float, source: str = "patrol") -> None:
        case = OutreachCase(len(self.cases), r.idx, call.district, call.call_id, call.crisis, call.unit, now,
                            call.latents, source=source)  # fmt: skip
        self._register(case, r, now)

    def community_referral(self, r: Any, source: str, process: CommunityReferralProcess) -> None:
        """A family member or provider refers the resident (no police call): the case opens as a patrol
        referral's does, under the same conditions (district taking part, no open case, CRPO in post, program
        not suspended there). No call: ``call_id``, ``crisis`` and ``officer`` are -1."""
        now = self.env.now
        counted = now >= self.warm
        d = r.district
        if not self.participating[d] or r.program_flags.get(self.key) is not None:
            if counted:
                self._skipped["not_covered" if not self.participating[d] else "already_open"] += 1
            return
        if not self._can_open(d, now):
            return
        case = OutreachCase(len(self.cases), r.idx, d, -1, -1, -1, now, process.latent_row(), source=source)
        self._register(case, r, now)

    def _register(self, case: OutreachCase, r: Any, now: float) -> None:
        self.cases.append(case)
        r.program_flags[self.key] = case
        self.totals["referrals"] += 1
        if now >= self.warm:
            self.counted["referrals"] += 1
        self._log(case, "referral")
        self.env.process(self._case(case))

    def clients(self) -> list[tuple[int, float, float]]:
        """(resident, time selected, time of the first home visit or NaN) of every case opened, in order."""
        first = {}
        for v in self.visits:
            first.setdefault(v["case"], v["t_start"])
        return [(c.resident, c.t_report, first.get(c.case_id, math.nan)) for c in self.cases]

    def set_consent(self, at_mean_trust: float | None, delay_days: float | None) -> None:
        """Consent probability at the population's mean trust and/or days for the signed form (consent events)."""
        if at_mean_trust is not None:
            slope = self.config.consent_trust_slope
            self._consent_logit0 = math.log(at_mean_trust / (1 - at_mean_trust)) - slope * self._mean_trust
        if delay_days is not None:
            self.consent_delay_days = delay_days

    # --- timeline hooks (crisis_sim.scenario.timeline) -------------------------------------------------------------------
    def covers(self, district: int) -> bool:
        return self.participating[district]

    def key_staff_in_post(self, district: int) -> bool:
        """The district's CRPO (referrals and consent) and the nurse (assessments, visits) must be in post."""
        crpo = self.model.crpos[district]
        return self.participating[district] and crpo.in_post and self.nurse_agent.in_post

    def scale_capacity(self, share: float) -> None:
        """Every outreach person's weekly hours become ``share`` of the configured hours (from next Monday)."""
        super().scale_capacity(share)
        for s in self._all_staff():
            s.minutes_per_week = self._base_minutes[id(s)] * share
            allotment = s.minutes_per_week - s.reserved_min
            s.no_hours = allotment <= 1e-9
            # With no hours left a task asks for more than the budget can ever hold, so it waits.
            s.allotment = s.budget.capacity if s.no_hours else min(allotment, s.budget.capacity)

    def hold_for_launch(self) -> None:
        """Before a launch: no pay (the first week's pay, made at set-up, is taken back), no weekly hours, no
        meetings; the timeline keeps the program suspended (no referral opens) and its clinicians out of post."""
        self.held = True
        for s in self._all_staff():
            s.paid_counted = 0.0
            s.minutes_per_week = 0.0
            s.no_hours = True
            if s.budget.level > 0:
                s.budget.get(s.budget.level)  # a task waiting for time waits for the launch

    def launch(self) -> None:
        """The launch day: weekly hours come back, the rest of this week is paid pro rata and its time given."""
        if self.ended:
            return
        self.held = False
        now = self.env.now
        self.paid_from = now
        rest = WEEK_MIN - now % WEEK_MIN
        for s in self._all_staff():
            s.minutes_per_week = self._base_minutes[id(s)] * self.capacity_share
            s.no_hours = s.minutes_per_week - s.reserved_min <= 1e-9
            if s.agent.in_post:
                overlap = max(0.0, min(now + rest, self.horizon) - max(now, self.warm))
                s.paid_counted += s.minutes_per_week * overlap / WEEK_MIN
                top_up = s.allotment - s.budget.level
                if top_up > 1e-9 and not s.no_hours:
                    s.budget.put(top_up)

    def officer_replaced(self, officer: PatrolOfficer) -> None:
        self._aw_t[officer.unique_id] = self.env.now  # the awareness just set is current

    def awareness_now(self, officer: PatrolOfficer, now: float) -> float:
        """:meth:`awareness` without updating the officer (for reporters)."""
        t0 = self._aw_t.get(officer.unique_id, 0.0)
        floor, a = self.config.awareness_floor, officer.awareness
        if now > t0 and a > floor:
            return floor + (a - floor) * math.exp(-self._decay * (now - t0))
        return a

    def consent_probability(self, trust_services: float) -> float:
        """Logistic in trust in services, equal to ``consent_at_mean_trust`` at the population's mean trust."""
        x = self._consent_logit0 + self.config.consent_trust_slope * trust_services
        if self.peer:  # a peer joins the offer: consent odds x peer_consent_or
            x += self._peer_logit
        return 1.0 / (1.0 + math.exp(-x))

    def _case(self, case: OutreachCase):
        cfg = self.config
        env = self.env
        model = self.model
        r = model.residents[case.resident]
        crpo = self.crpo[case.district]
        # 1. The CRPO offers the service; without a signed consent nothing is shared.
        while True:
            case.offers += 1
            yield from self._task(crpo, cfg.offer_min)
            if self.peer and env.now >= self.warm:
                self.peer_min += cfg.offer_min
            self._log(case, "offer")
            u = float(case.latents[LAT_CONSENT]) if case.offers == 1 else self._u()
            if u < self.consent_probability(r.trust_services):
                yield env.timeout(self.consent_delay_days * DAY_MIN)  # the signed authorisation comes back
                case.consented = True
                case.t_consent = env.now
                self.totals["consents"] += 1
                if env.now >= self.warm:
                    self.counted["consents"] += 1
                self._log(case, "consent")
                break
            self._log(case, "decline")
            if case.offers >= cfg.max_offers:
                if env.now >= self.warm:
                    self.counted["declined"] += 1
                self._close(case, "declined")
                return
            yield env.timeout(cfg.reoffer_after_days * DAY_MIN)
        # 2. Information goes to the care team; the case waits for a caseload slot.
        if case.status != "referred":  # closed meanwhile (the program wound down)
            return
        self._share(case)
        req = case.req = self.caseload.request()
        got = yield req | env.timeout(cfg.max_wait_days * DAY_MIN)
        if case.status != "referred":  # wound down while waiting: the request was withdrawn then
            return
        if req not in got:
            req.cancel()
            if env.now >= self.warm:
                self.counted["dropped_waiting"] += 1
            self._close(case, "dropped_waiting")
            return
        case.in_caseload = True
        self._caseload_changed(+1)
        self._log(case, "caseload_in")
        # 3. Nurse: record review and assessment; someone already followed is linked back to their team.
        yield from self._task(self.nurse, cfg.assessment_min)
        self._log(case, "assessment")
        if r.engaged:
            if env.now >= self.warm:
                self.counted["already_in_care"] += 1
            self._leave_caseload(req, case, "already_in_care")
            return
        # 4. The weekly meeting discusses the case before anyone meets the person.
        yield self._meeting
        self._log(case, "meeting")
        # 5. First home visit (with the psychiatrist for a share), then follow-ups.
        case.psychiatrist = (
            self.psych is not None
            and float(case.latents[LAT_PSYCH]) < cfg.psychiatrist_share
            and self.psych_agent.in_post  # no psychiatrist in post: the nurse visits alone
        )
        yield from self._home_visit(case, case.psychiatrist, "first")
        if self.peer:  # the peer was on the first visit: trust in services rises (follow-through)
            model.adjust_trust(r, services=cfg.peer_trust_gain)
            if env.now >= self.warm:
                self.peer_min += self.visits[case.visits[-1]]["minutes"]
        if not r.engaged:  # treatment starts: engaged in care until step-down
            model.set_engaged(r, True, env.now)
            case.engagement_version = r.engagement_version
        for _ in range(cfg.follow_up_visits):
            yield env.timeout(cfg.follow_up_interval_days * DAY_MIN)
            if case.status != "referred":
                return
            yield from self._home_visit(case, False, "follow_up")
        if case.status != "referred":
            return
        # 6. Step-down to regular services, ahead of the waitlist (priority 0).
        if (
            case.engagement_version is not None
            and r.engaged
            and r.engagement_version == case.engagement_version
        ):
            model.set_engaged(r, False, env.now)
        counted = env.now >= self.warm
        self._stepdown_source[case.resident] = case.source
        if not model.refer(_StepDownReferral(case, env.now), priority=0, source=self.key) and counted:
            self.counted["stepdown_not_referred"] += 1  # already on the waitlist or engaged elsewhere
        if counted:
            self.counted["step_downs"] += 1
        self._leave_caseload(req, case, "stepped_down")

    def _home_visit(self, case: OutreachCase, psychiatrist: bool, kind: str):
        """Nurse (+ psychiatrist) with at least two officers: the CRPO if free, patrol units for the rest."""
        cfg = self.config
        env = self.env
        d = case.district
        minutes = self._visit_min(self._u())
        preq = None
        # The scarcer clinician is booked first, so the nurse is not held while the psychiatrist's hours are taken.
        if psychiatrist:
            preq = self.psych.person.request()
            yield preq
            yield from self._charge(self.psych, minutes)
        with self.nurse.person.request() as nreq:
            yield nreq
            yield from self._charge(self.nurse, minutes)
            yield from self._at_work()
            officers: list[tuple[str, int, int]] = []  # (kind, unit id, officers in it)
            crpo, crpo_req = self.crpo[d], None
            if cfg.crpo_attends_visits and self.model.crpos[d].in_post and crpo.free_now(minutes):
                crpo_req = crpo.person.request()
                yield crpo_req
                yield from self._charge(crpo, minutes)
                officers.append(("crpo", self.model.crpos[d].unique_id, 1))
            pool = self.model.patrol[d]
            per_unit = self.model.cfg.police.officers_per_unit
            patrol = []
            while sum(n for *_, n in officers) < cfg.officers_per_visit:  # units may carry two officers
                officer = yield pool.request()
                patrol.append((officer, env.now))
                officers.append(("patrol", officer.unique_id, per_unit))
            t0 = env.now
            yield env.timeout(minutes)
            for officer, t_got in patrol:
                busy = env.now - t_got
                pool.release(officer, busy)
                if t0 >= self.warm:
                    self.patrol_visit_min += busy * per_unit  # officer-minutes, as the ledger's officer_min
            if crpo_req is not None:
                crpo.person.release(crpo_req)
        if preq is not None:
            self.psych.person.release(preq)
        counted = t0 >= self.warm
        self.visits.append(
            {"case": case.case_id, "district": d, "kind": kind, "t_start": t0, "t_end": env.now, "minutes": minutes,
             "psychiatrist": psychiatrist, "officers": tuple(officers), "nurse_week": self.nurse.week}
        )  # fmt: skip
        case.visits.append(len(self.visits) - 1)
        self.totals["visits"] += 1
        if counted:
            self.counted["visits"] += 1
            self.counted["psychiatrist_visits"] += psychiatrist
        self._log(case, "visit")

    def _share(self, case: OutreachCase) -> None:
        if not case.consented:
            raise RuntimeError(f"outreach case {case.case_id}: information shared without signed consent")
        case.shared = True
        self._log(case, "shared")

    def _leave_caseload(self, req, case: OutreachCase, status: str) -> None:
        if case.status != "referred":  # already wound down
            return
        self.caseload.release(req)
        case.in_caseload = False
        self._caseload_changed(-1)
        self._close(case, status)

    def staff_lost(self, agent: Any) -> None:
        """A post is gone for good (cut, unfunded): without the nurse the pathway winds down. Open cases close;
        clients in treatment end it and are referred to regular services (the ordinary waitlist)."""
        if agent is not self.nurse_agent:
            return
        now = self.env.now
        counted = now >= self.warm
        for case in self.cases:
            if case.status != "referred":
                continue
            r = self.model.residents[case.resident]
            if (
                case.engagement_version is not None
                and r.engaged
                and r.engagement_version == case.engagement_version
            ):
                self.model.set_engaged(r, False, now)
                self.model.refer(_StepDownReferral(case, now), priority=1, source="outreach_wound_down")
            if case.in_caseload:
                self.caseload.release(case.req)
                case.in_caseload = False
                self._caseload_changed(-1)
            elif case.req is not None and not case.req.triggered:
                case.req.cancel()
            if counted:
                self.counted["wound_down"] += 1
            self._close(case, "wound_down")

    def _close(self, case: OutreachCase, status: str) -> None:
        case.status = status
        self._log(case, status)
        r = self.model.residents[case.resident]
        if r.program_flags.get(self.key) is case:
            del r.program_flags[self.key]

    def _caseload_changed(self, delta: int) -> None:
        """Time-integrate the caseload over the counted period (its count before this change)."""
        now = self.env.now
        start = max(self._cl_last, self.warm)
        if now > start:
            self._cl_area += (self.caseload.count - delta) * (now - start)
        self._cl_last = now

    def _log(self, case: OutreachCase, step: str) -> None:
        self.log.append((self.env.now, case.case_id, step))

    def at_intake(self, referral: Referral) -> None:
        if referral.source == self.key and self.env.now >= self.warm:
            self.counted["intakes"] += 1
            self._intake_refs.append((self._stepdown_source.get(referral.resident, "patrol"), referral))
            self._stepdown_wait_min += self.env.now - referral.t_referred

    # ------------------------------------------------------------------------------------------------------
    # outputs
    # ------------------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        cfg = self.config
        model = self.model
        now = self.env.now
        self._caseload_changed(0)
        counted_min = max(0.0, now - self.warm)
        paid_min_peer = max(0.0, now - max(self.warm, self.paid_from))  # peers paid from the launch, if late
        c = cfg.costs
        crpos = [s for s in self.crpo if s is not None]
        # Staff are paid for the weeks they are in post (allocated hours, used or not).
        nurse_hour = c.nurse_salary_per_year / (cfg.hours_per_fte_week * YEAR_MIN / WEEK_MIN)
        cost_nurse = self.nurse.paid_counted / 60 * nurse_hour
        cost_psych = self.psych.paid_counted / 60 * c.psychiatrist_hour if self.psych else 0.0
        cost_crpo = sum(s.paid_counted for s in crpos) / 60 * c.crpo_hour
        cost_officers = self.patrol_visit_min / 60 * model.cfg.costs.officer_hour
        cost = cost_nurse + cost_psych + cost_crpo + cost_officers
        peer: dict[str, Any] = {}
        if self.peer:  # peers are paid for their FTE over the counted period, used or not
            paid_min = cfg.peer_fte * cfg.hours_per_fte_week * 60 * paid_min_peer / WEEK_MIN
            cost_peer = cfg.peer_fte * c.peer_salary_per_year * paid_min_peer / YEAR_MIN
            cost += cost_peer
            peer = {"outreach_peer_hours": self.peer_min / 60, "outreach_peer_cost": cost_peer,
                    "outreach_peer_utilisation": self.peer_min / paid_min if paid_min > 0 else None}  # fmt: skip
        client_years = self._cl_area / YEAR_MIN

        def util(s: Staff | None) -> float | None:
            return s.busy_counted / s.paid_counted if s and s.paid_counted > 0 else None

        crpo_utils = [u for u in map(util, crpos) if u is not None]
        k = self.counted
        return {
            "outreach_referrals": k["referrals"],
            "outreach_consents": k["consents"],
            "outreach_declined": k["declined"],
            "outreach_visits": k["visits"],
            "outreach_psychiatrist_visits": k["psychiatrist_visits"],
            "outreach_active_caseload": self.caseload.count,  # at the horizon
            "outreach_mean_caseload": self._cl_area / counted_min if counted_min else 0.0,  # time-average
            "outreach_caseload_waiting": len(self.caseload.queue),
            "outreach_step_downs": k["step_downs"],
            "outreach_stepdown_intakes": k["intakes"],
            "outreach_stepdown_wait_days": self._stepdown_wait_min / DAY_MIN / k["intakes"]
            if k["intakes"]
            else None,
            "outreach_already_in_care": k["already_in_care"],
            "outreach_dropped_waiting": k["dropped_waiting"],
            "outreach_no_crpo": k["no_crpo"],
            "outreach_suspended_reports": k["suspended"],
            "outreach_cases_wound_down": k["wound_down"],
            "outreach_meetings": k["meetings"],
            "outreach_station_visits": sum(1 for t, _ in self.station_visits if t >= self.warm),
            "outreach_officer_hours_visits": self.patrol_visit_min / 60,  # patrol officer-hours
            "outreach_mean_awareness": self.mean_awareness(),
            "outreach_cost_per_client_year": cost / client_years if client_years > 0 else None,
            "outreach_cost_breakdown": {
                "nurse": cost_nurse,
                "psychiatrist": cost_psych,
                "crpo": cost_crpo,
                "patrol_officers": cost_officers,
            },  # fmt: skip
            "outreach_utilisation": {
                "nurse": util(self.nurse),
                "psychiatrist": util(self.psych),
                "crpo_mean": sum(crpo_utils) / len(crpo_utils) if crpo_utils else None,
            },
            "cost": cost,
            "staff_utilisation": util(self.nurse) or 0.0,
        } | peer | self.by_source()

    def by_source(self) -> dict[str, Any]:
        """Cases, consents, first home visits and connections (step-down intake attended) after warm-up, by the
        case's way in; with community referrals on, also the referrals made and those that opened no case."""
        warm = self.warm
        sources = ("patrol", "list", "family", "provider")
        cases = dict.fromkeys(sources, 0)
        consents = dict.fromkeys(sources, 0)
        for c in self.cases:
            if c.t_report >= warm:
                cases[c.source] += 1
            if c.consented and c.t_consent >= warm:
                consents[c.source] += 1
        first = dict.fromkeys(sources, 0)
        seen: set[int] = set()
        for v in self.visits:
            if v["case"] not in seen:
                seen.add(v["case"])
                if v["t_start"] >= warm:
                    first[self.cases[v["case"]].source] += 1
        connected = dict.fromkeys(sources, 0)
        for src, ref in self._intake_refs:
            connected[src] += ref.attended
        out: dict[str, Any] = {
            "outreach_cases_by_source": cases,
            "outreach_consents_by_source": consents,
            "outreach_first_visits_by_source": first,
            "outreach_connected_by_source": connected,
        }
        if self.community is not None:
            out["outreach_community_referrals"] = dict(self.community.made_counted)
            out["outreach_community_not_opened"] = dict(self._skipped)
        return out

    def case_columns(self) -> dict[str, list[Any]]:
        """One row per case (the run's ``outreach`` frame): its way in, consent, status and first home visit."""
        first: dict[int, float] = {}
        for v in self.visits:
            first.setdefault(v["case"], v["t_start"])
        cs = self.cases
        return {
            "case": [c.case_id for c in cs],
            "resident": [c.resident for c in cs],
            "district": [c.district for c in cs],
            "source": [c.source for c in cs],
            "call_id": [c.call_id for c in cs],
            "t_referred": [c.t_report for c in cs],
            "consented": [c.consented for c in cs],
            "t_consent": [c.t_consent for c in cs],
            "t_first_visit": [first.get(c.case_id, math.nan) for c in cs],
            "status": [c.status for c in cs],
        }

    def reporters(self) -> dict[str, Any]:
        return {
            "outreach_referrals": lambda m: self.totals["referrals"],
            "outreach_consents": lambda m: self.totals["consents"],
            "outreach_visits": lambda m: self.totals["visits"],
            "outreach_active_caseload": lambda m: self.caseload.count,
            "outreach_mean_awareness": lambda m: self.mean_awareness(),
        }

    def cumulative(self) -> tuple[str, ...]:
        return ("outreach_referrals", "outreach_consents", "outreach_visits")
