"""Mobile crisis team: a clinician and a peer or EMT answer eligible low-risk MH calls without police.

Teams are tokens in a SimPy Store, on duty only during the program's hours. Every call the rules admit but no
team serves is marked with why (out of area, off hours, misidentified, dispatcher bias, busy), because the
evidence says reach, not effect size, is what limits these teams (STAR served 44-46% of eligible calls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim import rng
from crisis_sim.model import calls as C
from crisis_sim.model.agents import Clinician
from crisis_sim.model.dispositions import ARREST, INVOLUNTARY, RESOLVED, VOLUNTARY
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.model.health import FOLLOW_UP_WINDOW_MIN, HEALTH_COLUMNS
from crisis_sim.programs.base import Handler, Program, SceneHandover
from crisis_sim.rng import ChunkedUniform, program_stream
from crisis_sim.scenario.program_sections.mobile_crisis import MobileCrisisConfig

if TYPE_CHECKING:
    from crisis_sim.model.context import ModelContext

# Latent columns owned by this program (18..31 are reserved for programs; 23-25 and 29 are mobile crisis's).
U_BIAS = rng.latent("mobile_crisis", "bias")
U_BACKUP = rng.latent("mobile_crisis", "backup")
U_TEAM_SCENE = rng.latent("mobile_crisis", "team_scene")
U_CLINICIAN_INJURY = rng.latent("mobile_crisis", "clinician_injury")
DAY_MIN = 24 * 60
SECONDARY_KEY = 1  # substream of the program's stream for secondary responses from the scene (request, travel)
SECONDARY_FROM = ("patrol", "cit")  # officers who may ask for the team from the scene
RESPONDER = "mobile_crisis"
BACKUP_RESPONDER = "mobile_crisis_backup"  # disposition odds once police have joined (patrol's)
RISK_INDEX = {"low": 0, "medium": 1}
# Columns of the crisis's health row (stream "health") this program reads for its 72-hour follow-up.
H_FOLLOW_UP = HEALTH_COLUMNS["mobile_follow_up"]
H_FOLLOW_UP_DELAY = HEALTH_COLUMNS["mobile_follow_up_delay"]
H_FOLLOW_UP_LINK = HEALTH_COLUMNS["mobile_follow_up_link"]


class Team:
    """One team on a shift: two clinicians and their vehicle; the token that circulates through the store."""

    __slots__ = ("members", "unit", "on_duty", "off_when_free", "busy_min", "calls")

    def __init__(self, members: list[Clinician]):
        self.members = members
        self.unit = members[0].unique_id  # the ledger's unit id for calls the team attends
        self.on_duty = False
        self.off_when_free = False
        self.busy_min = 0.0
        self.calls = 0


class MobileCrisis(Program):
    """Alternative response: eligible low-risk MH calls go to a clinician team when one is on duty and free."""

    key = "mobile_crisis"
    label = "a mobile crisis team (clinician and partner, no police)"
    config_class = MobileCrisisConfig
    stream_key = rng.PROGRAM_STREAMS["mobile_crisis"]
    latents = rng.LATENTS["mobile_crisis"]
    responders = ("mobile_crisis",)
    series_defaults = {"backup_requests": 0}
    launchable = True  # duty minutes (the cost) follow the teams' members in post
    settings = {"teams": "{} team(s)", "start_hour": "from {:g}:00", "end_hour": "to {:g}:00"}

    def __init__(self, config: MobileCrisisConfig):
        super().__init__(config)
        self.config: MobileCrisisConfig = config
        self.backup_requests = 0  # all, warm-up included (the monthly series is cumulative)
        self.served = 0
        self.backups: list[dict[str, float]] = []  # one record per backup, for inspection and tests
        self.clinician_injuries = 0  # all, warm-up included (risk_based_safety only)
        self.on_duty = 0
        self.duty_min = 0.0
        self.partner_min = 0.0  # on-duty minutes of teams whose partner is in post
        self._partnered = 0
        self._partner_at_warmup = 0.0
        self.busy_min = 0.0
        self._last = 0.0
        self._duty_at_warmup = 0.0
        # 72-hour follow-up (follow_up_share > 0): (call id, counted, call cleared, team assigned, done, linked)
        self.follow_up_records: list[tuple[int, bool, float, float, float, bool]] = []
        # secondary response from the scene (secondary_response): one record per request made by officers:
        # (call id, counted, served, request time, officer scene minutes saved, team minutes); ids of calls handed
        # over to the team
        self.secondary_records: list[tuple[int, bool, bool, float, float, float]] = []
        self.secondary_calls: set[int] = set()
        self.secondary_requests = 0  # all, warm-up included (the monthly series is cumulative)
        # calls (team's own or taken over) attended with a peer partner in post (partner_role = "peer")
        self.peer_calls: set[int] = set()
        self.peer_counted = 0  # of them, received after the warm-up

    # --- setup -------------------------------------------------------------------------------------------
    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        cfg = self.config
        self.env = model.env
        self.store = simpy.Store(model.env)
        alone = cfg.without_partner == "clinician_alone"
        self.required = 1 if alone else 2  # members in post a team needs to go out (clinician first)
        self.peer_partner = cfg.partner_role == "peer"
        self.peer_or = cfg.peer_engagement_or if self.peer_partner else 1.0
        if cfg.secondary_response:
            self._sec_u = ChunkedUniform(
                program_stream(model.root_seed, model.replication, self.stream_key, SECONDARY_KEY), chunk=1024
            )
        self.teams = [
            Team(
                [Clinician(model, cfg.clinician_role, self.key), Clinician(model, cfg.partner_role, self.key)]
            )
            for _ in range(cfg.teams)
        ]
        names = [d.name for d in model.cfg.city.districts]
        self.covered = None if cfg.districts is None else frozenset(names.index(n) for n in cfg.districts)
        self.max_risk = RISK_INDEX[cfg.max_assessed_risk]
        self.n_active = len(self.teams)  # teams funded (budget cuts lower it)
        self.start, self.end = cfg.hours_mask()
        self.scene = scalar_sampler(cfg.on_scene)
        self.follow_up_time = scalar_sampler(cfg.follow_up_time)
        self.warm_min = model.cfg.simulation.warmup_days * DAY_MIN
        odds: dict[str, float] = dict(cfg.disposition_odds)
        odds["arrest"] = 0.0  # no police on scene: no arrest unless backup came
        model.dispositions.register(RESPONDER, odds, force_or=0.0)  # clinicians do not use police force
        model.dispositions.register(BACKUP_RESPONDER, {}, force_or=1.0)
        model.env.process(self._shifts())
        if self.warm_min > 0:
            model.env.timeout(self.warm_min).callbacks.append(self._snapshot_warmup)

    def in_hours(self, minute_of_day: float) -> bool:
        start, end = self.start, self.end
        if start == end:
            return True
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end

    # --- duty accounting ---------------------------------------------------------------------------------
    def _account(self) -> None:
        now = self.env.now
        self.duty_min += self.on_duty * (now - self._last)
        self.partner_min += self._partnered * (now - self._last)
        self._last = now

    def _recount(self) -> None:
        """Teams on duty with their partner in post (paid at ``partner_hour_cost`` when it is set)."""
        self._partnered = sum(1 for t in self.teams if t.on_duty and t.members[1].in_post)

    def _snapshot_warmup(self, _ev: Any) -> None:
        self._account()
        self._duty_at_warmup = self.duty_min
        self._partner_at_warmup = self.partner_min

    def _start_shift(self) -> None:
        self._account()
        for team in self.teams:
            if not self._available(team):
                continue
            if team.on_duty:
                team.off_when_free = False  # still busy from the last shift: carries on
            else:
                team.on_duty = True
                self.on_duty += 1
                self.store.put(team)
        self._recount()

    def _end_shift(self) -> None:
        self._account()
        idle = {id(t) for t in self.store.items}
        for team in self.teams:
            if not team.on_duty:
                continue
            if id(team) in idle:
                self.store.items.remove(team)
                team.on_duty = False
                self.on_duty -= 1
            else:
                team.off_when_free = True
        self._recount()

    def _shifts(self):
        if self.in_hours(0.0):
            self._start_shift()
        if self.start == self.end:
            return
        day = 0
        while True:
            base = day * DAY_MIN
            for minute, starts in sorted(((self.start, True), (self.end, False))):
                t = base + minute
                if t <= 0:
                    continue
                yield self.env.timeout(t - self.env.now)
                (self._start_shift if starts else self._end_shift)()
            day += 1

    # --- timeline hooks (crisis_sim.scenario.timeline) ----------------------------------------------------------------
    def _available(self, team: Team) -> bool:
        """Funded, program not ended, and every member in post (``without_partner = "clinician_alone"``: the
        clinician in post; the partner may be out)."""
        funded = not self.ended and self.teams.index(team) < self.n_active
        return funded and all(member.in_post for member in team.members[: self.required])

    def _note_peer(self, call: C.Call, team: Team) -> None:
        """Remember a call attended with a peer partner in post (the peer odds ratio acts on its referrals)."""
        if self.peer_partner and team.members[1].in_post:
            self.peer_calls.add(call.call_id)
            self.peer_counted += call.t_received >= self.warm_min

    def covers(self, district: int) -> bool:
        return self.covered is None or district in self.covered

    def key_staff_in_post(self, district: int) -> bool:
        return self.covers(district) and any(self._available(t) for t in self.teams)

    def _sync_teams(self) -> None:
        """Teams no longer available leave duty (when free); teams available again join if within hours."""
        self._account()
        idle = {id(t) for t in self.store.items}
        for team in self.teams:
            if not self._available(team) and team.on_duty:
                if id(team) in idle:
                    self.store.items.remove(team)
                    team.on_duty = False
                    self.on_duty -= 1
                else:
                    team.off_when_free = True
        self._recount()
        if self.in_hours(self.env.now % DAY_MIN):
            self._start_shift()

    def staff_changed(self, agent: Any) -> None:
        if any(agent in t.members for t in self.teams):
            self._sync_teams()

    def scale_capacity(self, share: float) -> None:
        super().scale_capacity(share)
        self.n_active = round(len(self.teams) * share)
        self._sync_teams()

    def unfunded_staff(self) -> list[Any]:
        return [m for team in self.teams[self.n_active :] for m in team.members]

    def add_posts(self, count: int, role: str, program_shift: int | None) -> list[Any]:
        """add_post: ``count`` new funded teams (placed after the funded ones), on duty now if within hours."""
        cfg, model = self.config, self.model
        new = [
            Team([Clinician(model, cfg.clinician_role, self.key), Clinician(model, cfg.partner_role, self.key)])
            for _ in range(count)
        ]
        self.teams[self.n_active : self.n_active] = new
        self.n_active += count
        self._sync_teams()
        return [m for team in new for m in team.members]

    def end_program(self) -> None:
        super().end_program()
        self._sync_teams()

    def _release(self, team: Team, busy: float) -> None:
        team.busy_min += busy
        self.busy_min += busy
        if team.off_when_free:
            self._account()
            team.on_duty = False
            team.off_when_free = False
            self.on_duty -= 1
            self._recount()
        else:
            self.store.put(team)

    # --- dispatch ----------------------------------------------------------------------------------------
    def route(self, call: C.Call) -> Handler | None:
        if self._weapon_reported(call) or call.assessed_risk > self.max_risk:
            return None  # not eligible under the team's rules
        if self.covered is not None and call.district not in self.covered:
            self.mark_unserved(call, "out_of_area")
            return None
        if self.is_suspended(call.district):  # no team staffed, or the program ended
            self.mark_unserved(call, "suspended")
            return None
        if not self.in_hours(self.env.now % DAY_MIN):
            self.mark_unserved(call, "off_hours")
            return None
        if not call.identified:
            self.mark_unserved(call, "misidentified")
            return None
        bias = self.config.police_bias
        # after a launch with a ramp-up, the calls dispatch does not route yet join the biased ones (nested in u)
        if self.ramp is not None:
            bias = 1.0 - (1.0 - bias) * self.routing_share(self.env.now)
        if float(call.latents[U_BIAS]) < bias:
            self.mark_unserved(call, "dispatcher_bias")
            return None
        call.eligible = True
        if self.store.items:
            return self._attend
        if self.config.wait_tolerance_min > 0:
            return self._wait_then_attend
        self.mark_unserved(call, "busy")
        return None

    def line_dispatch(self, call: C.Call) -> Handler | None:
        """A 988/crisis-line counsellor asks for a team ([channels.crisis_line]): the team's own rules (assessed
        risk, reported weapon, covered district, staffed, hours) and a free team; no dispatcher bias or ramp-up (the
        line sends the team itself) and no waiting (the counsellor decides otherwise when none is free)."""
        if self._weapon_reported(call) or call.assessed_risk > self.max_risk:
            return None
        if not self.covers(call.district) or self.is_suspended(call.district):
            return None
        if not self.in_hours(self.env.now % DAY_MIN) or not self.store.items:
            return None
        call.eligible = True
        return self._attend

    def _weapon_reported(self, call: C.Call) -> bool:
        """The weapon as dispatch knows it: every weapon, or (``risk_based_safety``) the reported share of them,
        decided by the weapon's own latent uniform (a weapon call's uniform is uniform below its probability)."""
        if not call.weapon or not self.config.risk_based_safety:
            return call.weapon
        p = self.model.weapon_probability(call.t_received)
        return float(call.latents[C.U_WEAPON]) < p * self.config.weapon_reported_share

    def _wait_then_attend(self, call: C.Call):
        """Hold the call for a busy team up to the tolerance, then send police."""
        req = self.store.get()
        yield req | self.env.timeout(self.config.wait_tolerance_min)
        if req.triggered:
            yield from self._serve(call, req.value)
            return
        req.cancel()
        self.mark_unserved(call, "busy")
        yield from self.model.patrol_response(call)

    def _attend(self, call: C.Call):
        team = yield self.store.get()  # a team is idle (checked in route): granted at once
        yield from self._serve(call, team)

    def _serve(self, call: C.Call, team: Team):
        model, env, cfg = self.model, self.env, self.config
        t0 = env.now
        team.calls += 1
        self.served += 1
        call.t_dispatched = t0
        call.responder = RESPONDER
        call.program = self.key
        call.unit = team.unit
        self._note_peer(call, team)
        lat = call.latents
        u_travel = float(lat[C.U_TRAVEL])  # same quantile a patrol car would have had (CRN)
        travel = model.travel[call.district](u_travel) * cfg.travel_factor
        call.t_arrived = t0 + travel
        yield env.timeout(travel)
        scene = self.scene(float(lat[U_TEAM_SCENE]))
        u_backup = float(lat[U_BACKUP])
        p_backup = cfg.backup_risk(call.risk, call.weapon) if cfg.risk_based_safety else cfg.backup_probability
        if u_backup < p_backup:
            yield from self._with_backup(call, team, scene, u_backup / p_backup, u_travel)
            return
        yield env.timeout(scene)
        yield from self._resolve_and_hand_off(call)
        self._release(team, env.now - t0)

    def _resolve_and_hand_off(self, call: C.Call):
        """The team's disposition (arrest has odds 0 for a team: reachable only through float rounding at u -> 1,
        so it reads as resolved), then the hand-off (transport, drop-off)."""
        self.model.resolve_on_scene(call, RESPONDER)
        if call.disposition == ARREST:
            call.disposition = RESOLVED
        yield from self.model.handoff(call)

    def _with_backup(self, call: C.Call, team: Team, scene: float, frac: float, u_travel: float):
        """Risk escalates ``frac`` of the way through the visit: a district patrol unit joins until the end."""
        model, env = self.model, self.env
        t0 = call.t_dispatched
        yield env.timeout(scene * frac)
        self.backup_requests += 1
        record = {"call_id": call.call_id, "t_request": env.now, "counted": call.t_received >= self.warm_min}
        if self.config.risk_based_safety:
            hurt = float(call.latents[U_CLINICIAN_INJURY]) < self.config.clinician_injury_given_backup
            record["clinician_injury"] = hurt
            self.clinician_injuries += hurt
        self.backups.append(record)
        pool = model.patrol[call.district]
        officer = yield pool.request()
        t_officer = env.now
        record.update(officer=officer.unique_id, t_officer_dispatched=t_officer)
        travel = model.travel[call.district](u_travel)
        yield env.timeout(travel)
        record["t_officer_arrived"] = env.now
        yield env.timeout(scene * (1.0 - frac))
        model.resolve_on_scene(call, BACKUP_RESPONDER)
        record["t_encounter_end"] = env.now
        if call.disposition in (ARREST, INVOLUNTARY, VOLUNTARY):
            self._release(team, env.now - t0)  # police take the person; the team is free
            team = None
        yield from model.handoff(call)
        busy = env.now - t_officer
        call.officer_min += busy * model.cfg.police.officers_per_unit
        record["t_officer_released"] = env.now
        pool.release(officer, busy)
        if team is not None:
            self._release(team, env.now - t0)

    # --- secondary response from the scene ---------------------------------------------------------------------
    def takes_scene_requests(self) -> bool:
        return self.config.secondary_response

    def scene_request(self, call: C.Call, responder: str, travel: float, scene: float) -> SceneHandover | None:
        """Officers dispatched to an MH call the team could take (covered district, staffed, within hours, and on
        scene: true risk within ``max_assessed_risk``, no weapon) ask for the team with probability
        ``secondary_request_share`` (times the routing share while a launch ramps up) once they have secured the
        scene (``secondary_secure_min`` after arrival). Two uniforms of the program's secondary substream per
        such encounter, drawn whatever happens next."""
        if responder not in SECONDARY_FROM or call.weapon or call.risk > self.max_risk:
            return None
        if not self.covers(call.district) or self.is_suspended(call.district):
            return None
        if not self.in_hours(self.env.now % DAY_MIN):
            return None
        u_request, u_travel = self._sec_u(), self._sec_u()
        secure = self.config.secondary_secure_min
        if scene <= secure or u_request >= self.config.secondary_request_share * self.routing_share(self.env.now):
            return None

        def handover(call: C.Call, release_officers):
            return self._secondary(call, release_officers, travel, scene, u_travel)

        return handover

    def _secondary(self, call: C.Call, release_officers, travel: float, scene: float, u_travel: float):
        """The officers' side: travel, secure the scene, ask; a free team on duty travels while they wait, then
        takes over (its own scene time, dispositions and hand-off). No team free (or the shift ended, or the
        program stopped): the officers carry on alone. Returns whether the team took over."""
        model, env, cfg = self.model, self.env, self.config
        secure = cfg.secondary_secure_min
        yield env.timeout(travel + secure)
        self.secondary_requests += 1
        counted = call.t_received >= self.warm_min
        if not self.store.items or self.is_suspended(call.district) or not self.in_hours(env.now % DAY_MIN):
            self.secondary_records.append((call.call_id, counted, False, float(env.now), 0.0, 0.0))
            yield env.timeout(scene - secure)
            return False
        team = yield self.store.get()  # idle: granted at once
        t0 = env.now
        team.calls += 1
        self.secondary_calls.add(call.call_id)
        self._note_peer(call, team)
        wait = model.travel[call.district](u_travel) * cfg.travel_factor
        yield env.timeout(wait)  # the officers wait for the team
        release_officers()
        saved = (scene - secure - wait) * model.cfg.police.officers_per_unit
        yield env.timeout(self.scene(float(call.latents[U_TEAM_SCENE])))
        yield from self._resolve_and_hand_off(call)
        busy = float(env.now - t0)
        self.secondary_records.append((call.call_id, counted, True, float(t0), float(saved), busy))
        self._release(team, busy)
        return True

    def ledger_flags(self) -> dict[str, set[int]]:
        return {"secondary_team": self.secondary_calls} if self.config.secondary_response else {}

    # --- peer partner: engagement ------------------------------------------------------------------------------
    def at_intake(self, referral: Any) -> None:
        """A referral made from a call attended with a peer partner: attendance odds x ``peer_engagement_or``."""
        if self.peer_or != 1.0 and referral.call_id in self.peer_calls:
            referral.attend_or = self.peer_or

    # --- 72-hour follow-up ---------------------------------------------------------------------------------
    def after_disposition(self, call: C.Call) -> None:
        share = self.config.follow_up_share
        if share <= 0.0 or self.ended or (call.program != self.key and call.call_id not in self.secondary_calls):
            return
        u = self.model.health_uniforms(call.resident, call.crisis)
        v = u[H_FOLLOW_UP]
        if v < share:
            self.env.process(self._follow_up(call, v / share, u))

    def _follow_up(self, call: C.Call, w: float, u: list[float]):
        """Due at a time within 72 hours of the call; the next team on duty and free makes the contact (its time
        counts against the team); the contact may link the person to services (a priority referral)."""
        env = self.env
        cleared = env.now
        yield env.timeout(u[H_FOLLOW_UP_DELAY] * FOLLOW_UP_WINDOW_MIN)
        if self.ended:
            return  # no team will come back: the contact is dropped
        team = yield self.store.get()
        t0 = env.now
        yield env.timeout(self.follow_up_time(w))
        self._release(team, env.now - t0)
        p_link = self.config.follow_up_link_share
        if self.peer_or != 1.0 and team.members[1].in_post:  # a peer partner: odds of linking x peer_engagement_or
            k = self.peer_or
            p_link = p_link * k / (1.0 - p_link + p_link * k)
        linked = u[H_FOLLOW_UP_LINK] < p_link
        linked = linked and self.model.refer(call, priority=0, source="mobile_crisis_follow_up")
        counted = call.t_received >= self.warm_min
        self.follow_up_records.append((call.call_id, counted, cleared, t0, env.now, linked))

    def _follow_up_summary(self) -> dict[str, Any]:
        recs = [r for r in self.follow_up_records if r[1]]
        within = sum(1 for r in recs if r[3] - r[2] <= FOLLOW_UP_WINDOW_MIN)
        return {
            "mobile_crisis_follow_ups": len(recs),
            "mobile_crisis_follow_up_links": sum(1 for r in recs if r[5]),
            "mobile_crisis_follow_up_hours": sum(r[4] - r[3] for r in recs) / 60.0,
            "mobile_crisis_follow_ups_within_72h": within,
        }

    # --- outputs -----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        self._account()
        counted_duty = self.duty_min - self._duty_at_warmup
        out = {
            "cost": counted_duty / 60.0 * self.config.team_hour_cost,
            "staff_utilisation": self.busy_min / self.duty_min if self.duty_min > 0 else 0.0,
            "backup_requests": sum(1 for b in self.backups if b["counted"]),
            "mobile_crisis_team_hours": counted_duty / 60.0,
        }
        if self.config.partner_hour_cost is not None:  # the partner paid apart from the team-hour
            partner_h = (self.partner_min - self._partner_at_warmup) / 60.0
            out["cost"] += partner_h * self.config.partner_hour_cost
            out["mobile_crisis_partner_hours"] = partner_h
        if self.config.follow_up_share > 0.0:
            out.update(self._follow_up_summary())
        if self.config.secondary_response:
            recs = [r for r in self.secondary_records if r[1]]
            served = [r for r in recs if r[2]]
            out.update(
                secondary_requests=len(recs),
                secondary_responses=len(served),
                secondary_officer_scene_hours_saved=sum(r[4] for r in served) / 60.0,
                secondary_team_hours=sum(r[5] for r in served) / 60.0,
            )
        if self.config.partner_role == "peer":
            out["mobile_crisis_peer_calls"] = self.peer_counted
        if self.config.risk_based_safety:
            out["clinician_injuries"] = sum(1 for b in self.backups if b["counted"] and b["clinician_injury"])
        return out

    def reporters(self) -> dict[str, Any]:
        out = {
            "mobile_crisis_calls": lambda m: self.served,
            "backup_requests": lambda m: self.backup_requests,
            "mobile_crisis_teams_on_duty": lambda m: self.on_duty,
        }
        if self.config.secondary_response:
            out["secondary_requests"] = lambda m: self.secondary_requests
            out["secondary_responses"] = lambda m: len(self.secondary_calls)
        return out

    def cumulative(self) -> tuple[str, ...]:
        if self.config.secondary_response:
            return ("mobile_crisis_calls", "backup_requests", "secondary_requests", "secondary_responses")
        return ("mobile_crisis_calls", "backup_requests")
