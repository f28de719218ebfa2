"""The health-system pathway around a crisis ([destinations.health_pathway]): EMS, self-presented ED visits, the
inpatient stay and the discharge follow-up.

With the switch on:

- a share of crises never reach police: the person goes straight to the ED, by ambulance or on their own
  (``self_presented_share``; ``self_presented_share_connected`` for people engaged in care, so connection to care
  moves later help-seeking from police to health services). The crisis hazard is scaled by 1/(1 - mean share) so
  police MH calls still match ``demand.mh_share``;
- a share of voluntary transports go by ambulance: the police unit waits for the ambulance and clears; a city-wide
  pool of ``ems_units`` (a SimPy resource) travels, hands over at the ED and is free again; the person takes an
  ED assessment slot like any arrival;
- an admitted person (a hold, or a self-presented visit) is away for the stay (``costs.inpatient_days_per_admission``):
  their crisis clock is paused (hazard 0, the remaining clock kept) and resumes at discharge;
- a share of discharges get a contact within 72 hours that links the person to services (a priority referral).

Every decision reads a row of uniforms tied to (resident, crisis number) from the ``health`` stream
(:meth:`HealthSystem.uniforms`), drawn in one block, so common random numbers hold across scenarios. Programs read
their own columns of the same row (mobile-team follow-up, stabilisation link) through ``health_uniforms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim.model import calls as C
from crisis_sim.model.destinations import DAY_MIN, Referral
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.durations import scalar_sampler

if TYPE_CHECKING:
    from mesa import Model  # the running model (CoreModel; see crisis_sim.model.context)

    from crisis_sim.model.agents import Resident
    from crisis_sim.model.calls import Call

# Columns of a crisis's health row (stream ``health``). Never renumber; append.
HEALTH_COLUMNS: dict[str, int] = {
    "self_present": 0, "self_ems": 1, "self_admit": 2, "ems_transport": 3, "discharge_follow_up": 4,
    "discharge_delay": 5, "ems_response": 6, "ems_offload": 7,
    "mobile_follow_up": 8, "mobile_follow_up_delay": 9, "mobile_follow_up_link": 10,  # programs/mobile_crisis.py
    "stabilization_link": 11,  # programs/stabilization.py
}  # fmt: skip
HEALTH_WIDTH = 12
HEALTH_ROWS = 4  # rows pre-drawn per resident; later crises come from per-resident overflow substreams
H = HEALTH_COLUMNS
FOLLOW_UP_WINDOW_MIN = 72 * 60.0

# Kinds of the health-event records (the run's ``health`` frame).
SELF_WALK_IN = "self_walk_in"  # a crisis that went straight to the ED, not by ambulance
SELF_EMS = "self_ems"  # a crisis that went straight to the ED by ambulance
EMS_TRANSPORT = "ems_transport"  # a police call's voluntary transport that went by ambulance
ADMISSION = "admission"  # start of an inpatient stay (after a hold or a self-presented visit)
DISCHARGE = "discharge"
DISCHARGE_LINK = "discharge_link"  # the 72-hour follow-up made a priority referral
EVENT_KINDS = (SELF_WALK_IN, SELF_EMS, EMS_TRANSPORT, ADMISSION, DISCHARGE, DISCHARGE_LINK)


def self_share_mean(model: Model) -> float:
    """Crisis-weighted mean share of crises that go straight to the ED at the start (engaged share and their
    hazard ratio weigh the connected share)."""
    hp = model.cfg.destinations.health_pathway
    pop = model.cfg.population
    w_eng = pop.engaged_share * pop.engaged_hazard_ratio
    w_not = 1.0 - pop.engaged_share
    return (w_not * hp.self_presented_share + w_eng * hp.self_presented_share_connected) / (w_not + w_eng)


def self_presented_per_day(model: Model) -> float:
    """Expected self-presented ED visits a day at the start (0 when the pathway is off or the ED's background is
    taken to exclude them): police MH calls a day x s/(1 - s)."""
    sc = model.cfg
    hp = sc.destinations.health_pathway
    if not hp.enabled or not hp.background_includes_self_presented or sc.demand.mh_share <= 0:
        return 0.0
    s = self_share_mean(model)
    mh_per_day = sc.city.population / 1000 * sc.demand.police_calls_per_1000_per_day * sc.demand.mh_share
    return mh_per_day * s / (1.0 - s)


class HealthDraws:
    """Rows of ``health`` uniforms by (resident, crisis number), random access (built on first use)."""

    def __init__(self, model: Model):
        self._draws = PerEntityDraws(
            model.root_seed, model.replication, "health", len(model.residents), HEALTH_ROWS, HEALTH_WIDTH, exp=False
        )

    def row(self, resident: int, crisis: int) -> list[float]:
        """The row of the resident's ``crisis``-th crisis (crises count from 1, as ``Call.crisis``)."""
        return self._draws.row(resident, crisis - 1)


class HealthSystem:
    """EMS units, self-presented ED visits, inpatient stays and discharge follow-up (switch on only)."""

    def __init__(self, model: Model):
        self.model = model
        self.cfg = hp = model.cfg.destinations.health_pathway
        self.env = model.env
        self.ems = simpy.Resource(model.env, capacity=hp.ems_units)
        self.ems_response = scalar_sampler(hp.ems_response)
        self.ems_offload = scalar_sampler(hp.ems_offload)
        self.stay_min = model.cfg.costs.inpatient_days_per_admission * DAY_MIN
        self.admission_share = model.cfg.dispositions.hold_admission_share
        self.records: list[tuple[str, int, int, int, float]] = []  # (kind, resident, crisis, call id, time)
        self.ems_busy_min = 0.0
        self.ems_wait_min: list[float] = []  # request to unit assigned, every EMS job
        self._away: dict[int, tuple[float, float]] = {}  # resident -> (static hazard multiplier, end of stay)

    # --- a crisis: police call or straight to the ED ----------------------------------------------------------
    def self_presents(self, r: Resident) -> bool:
        """Decide where the resident's new crisis (``r.crises``) goes; start the ED visit if it skips police."""
        m = self.model
        u = m.health_uniforms(r.idx, r.crises)
        hp = self.cfg
        share = hp.self_presented_share_connected if r.engaged else hp.self_presented_share
        if u[H["self_present"]] >= share:
            return False
        lat = m.crisis_latents.next_row(r.idx)  # the crisis's latent row is used here, as a call would use it
        self.env.process(self._self_presented(r, r.crises, lat, u))
        return True

    def _self_presented(self, r: Resident, crisis: int, lat: list[float], u: list[float]):
        env, m = self.env, self.model
        by_ems = u[H["self_ems"]] < self.cfg.self_presented_ems_share
        self.records.append((SELF_EMS if by_ems else SELF_WALK_IN, r.idx, crisis, -1, env.now))
        travel = m.travel[r.district](lat[C.U_TRANSPORT])
        if by_ems:
            yield from self._ambulance(travel, u)
        else:
            yield env.timeout(travel)
        self._ed_visit(lat[C.U_ED_ASSESS])
        if u[H["self_admit"]] < self.cfg.self_presented_admission_share:
            self.admit(r, crisis, -1, lat, u)

    # --- EMS ------------------------------------------------------------------------------------------------
    def by_ems(self, call: Call) -> bool:
        """Whether the call's voluntary transport goes by ambulance."""
        u = self.model.health_uniforms(call.resident, call.crisis)
        return u[H["ems_transport"]] < self.cfg.ems_voluntary_share

    def ems_transport(self, call: Call):
        """The police unit waits (this generator) until an ambulance reaches the scene, then clears; the ambulance
        takes the person to the ED in its own process."""
        env, m = self.env, self.model
        u = m.health_uniforms(call.resident, call.crisis)
        req = self.ems.request()
        t0 = env.now
        yield req
        self.ems_wait_min.append(env.now - t0)
        response = self.ems_response(u[H["ems_response"]])
        yield env.timeout(response)
        call.destination = "ed"
        self.records.append((EMS_TRANSPORT, call.resident, call.crisis, call.call_id, env.now))
        travel = m.travel[call.district](call.latents[C.U_TRANSPORT])
        env.process(self._carry(req, response, travel, u, call.latents))

    def _carry(self, req: Any, busy_so_far: float, travel: float, u: list[float], lat: list[float]):
        env = self.env
        t0 = env.now
        yield env.timeout(travel)
        offload = self.ems_offload(u[H["ems_offload"]])
        yield env.timeout(offload)
        self.ems.release(req)
        self.ems_busy_min += busy_so_far + env.now - t0
        self._ed_visit(lat[C.U_ED_ASSESS])

    def _ambulance(self, travel: float, u: list[float]):
        """An ambulance comes, carries and hands over (the person arrives at the ED at the end)."""
        env = self.env
        t0 = env.now
        with self.ems.request() as req:
            yield req
            t1 = env.now
            self.ems_wait_min.append(t1 - t0)
            yield env.timeout(self.ems_response(u[H["ems_response"]]) + travel)
            yield env.timeout(self.ems_offload(u[H["ems_offload"]]))
            self.ems_busy_min += env.now - t1

    def _ed_visit(self, u_assess: float) -> None:
        """The person takes an ED assessment slot when one frees (nobody waits with them)."""
        ed = self.model.ed
        req, minutes = ed.admit(u_assess)
        req.callbacks.append(lambda _e, r=req, s=minutes: ed.start_assessment(r, s))

    # --- inpatient stay and discharge ---------------------------------------------------------------------
    def admit(self, r: Resident, crisis: int, call_id: int, lat: list[float], u: list[float]) -> None:
        """The person is away for the stay: hazard 0 (the remaining clock is kept) until discharge."""
        now = self.env.now
        end = now + self.stay_min
        self.records.append((ADMISSION, r.idx, crisis, call_id, now))
        if r.idx in self._away:  # already in hospital (an overlapping call): the stay runs to the later end
            mult, old_end = self._away[r.idx]
            self._away[r.idx] = (mult, max(old_end, end))
        else:
            self._away[r.idx] = (r.static_mult, end)
            r.static_mult = 0.0
            self.model._set_rate(r, now)
        self.env.timeout(self.stay_min).callbacks.append(
            lambda _e: self._discharge(r, crisis, call_id, lat, u)
        )

    def _discharge(self, r: Resident, crisis: int, call_id: int, lat: list[float], u: list[float]) -> None:
        mult, end = self._away[r.idx]
        now = self.env.now
        if end > now:
            return  # a later stay is still running
        del self._away[r.idx]
        r.static_mult = mult
        self.model._set_rate(r, now)
        self.records.append((DISCHARGE, r.idx, crisis, call_id, now))
        if u[H["discharge_follow_up"]] < self.cfg.discharge_follow_up_share:
            delay = u[H["discharge_delay"]] * FOLLOW_UP_WINDOW_MIN
            self.env.timeout(delay).callbacks.append(lambda _e: self._link(r, crisis, call_id, lat))

    def _link(self, r: Resident, crisis: int, call_id: int, lat: list[float]) -> None:
        """The 72-hour contact: a priority referral to community services (unless already waiting or engaged)."""
        m = self.model
        if r.waitlisted or r.engaged:
            return
        r.waitlisted = True
        self.records.append((DISCHARGE_LINK, r.idx, crisis, call_id, self.env.now))
        m.waitlist.refer(Referral(r.idx, crisis, call_id, self.env.now, 0, "discharge_follow_up", lat))

    def away(self, resident: int) -> bool:
        """Whether the resident is in hospital now."""
        return resident in self._away

    # --- outputs -------------------------------------------------------------------------------------------
    def frame_columns(self) -> dict[str, Any]:
        """The health events as columns (kind, resident, crisis, call_id, t)."""
        recs = self.records
        return {
            "kind": [x[0] for x in recs],
            "resident": [x[1] for x in recs],
            "crisis": [x[2] for x in recs],
            "call_id": [x[3] for x in recs],
            "t": [x[4] for x in recs],
        }

    def summary(self, warm_min: float) -> dict[str, Any]:
        """Counts after warm-up, the ambulances' use and the pathway's extra costs (EMS, self-presented ED
        visits and their inpatient stays)."""
        n = dict.fromkeys(EVENT_KINDS, 0)
        self_admissions = 0
        for kind, _r, _c, call_id, t in self.records:
            if t >= warm_min:
                n[kind] += 1
                if kind == ADMISSION and call_id == -1:
                    self_admissions += 1
        c = self.model.cfg.costs
        horizon = self.model.horizon_min
        cost_ems = (n[EMS_TRANSPORT] + n[SELF_EMS]) * self.cfg.ems_transport_cost
        cost_self = (n[SELF_EMS] + n[SELF_WALK_IN]) * c.ed_visit
        cost_self += self_admissions * c.inpatient_days_per_admission * c.inpatient_day
        waits = self.ems_wait_min
        return {
            "ems_transports": n[EMS_TRANSPORT],
            "self_presented_ed": n[SELF_EMS] + n[SELF_WALK_IN],
            "self_presented_by_ems": n[SELF_EMS],
            "inpatient_admissions": n[ADMISSION],
            "discharges": n[DISCHARGE],
            "discharge_links": n[DISCHARGE_LINK],
            "ems_utilisation": float(self.ems_busy_min / (self.cfg.ems_units * horizon)) if horizon > 0 else 0.0,
            "ems_wait_min_mean": float(sum(waits) / len(waits)) if waits else None,
            "cost_ems": cost_ems,
            "cost_self_presented": cost_self,
        }
