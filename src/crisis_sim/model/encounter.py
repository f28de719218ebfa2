"""One MH call, from the crisis to intake: triage -> route -> attend -> close -> refer -> intake.

``_mh_call`` is the pipeline: programs may resolve the call at triage or take it at routing (the first that returns a
handler); otherwise patrol responds (``patrol_response``: wait for a district unit, travel, on scene, disposition,
hand-off). ``resolve_on_scene`` gives exactly one disposition; ``handoff`` takes the person to a destination (a
program's, else the ED) or books an arrest; ``_close`` records and counts the call and consults ``after_disposition``;
``refer`` puts the person on the community-services waitlist, whose intake calls ``_intake``.
"""

from __future__ import annotations

import math

from crisis_sim.model import calls as C
from crisis_sim.model.agents import PatrolOfficer, Resident
from crisis_sim.model.destinations import DAY_MIN, Referral
from crisis_sim.model.dispositions import (
    ARREST,
    COERCIVE,
    INVOLUNTARY,
    PHONE,
    REFERRAL,
    REPORT,
    RESOLVED,
    VOLUNTARY,
)
from crisis_sim.scenario.schema import SEVERITIES


class Encounters:
    """The MH encounter pipeline (a part of :class:`~crisis_sim.model.crisis_model.CoreModel`)."""

    def _new_mh_call(self, r: Resident) -> C.Call:
        lat = self.crisis_latents.next_row(r.idx)
        groups = self.groups
        if groups is not None and groups.any_effect:  # assumed differences between groups ([population.groups])
            groups.shift_latents(lat, r.idx)
        call = C.Call(self._next_call_id, r.idx, r.crises, r.district, self.env.now, lat)
        self._next_call_id += 1
        dsp = self.cfg.dispatch
        mix = dsp.risk_by_severity[SEVERITIES[r.severity]]
        u = lat[C.U_RISK]
        cm = self.case_mix
        if cm is None:
            call.risk = 0 if u < mix.low else (1 if u < mix.low + mix.medium else 2)
            call.assessed_risk = self.dispatcher.assess_risk(call.risk, lat[C.U_RISK_ASSESS])
            call.identified = self.dispatcher.identify(lat[C.U_IDENTIFY])
            call.weapon = lat[C.U_WEAPON] < dsp.weapon_share
            call.substance_use = r.substance_use
        else:
            cm.draw(call, r, mix, self.dispatcher, dsp.weapon_share)
        if groups is not None and groups.any_effect:
            groups.overrate_risk(call, r.idx, self.dispatcher)
        self.mh_calls.append(call)
        self.open_mh[call.call_id] = call
        return call

    def _start_crisis(self, r: Resident) -> None:
        """A crisis: straight to the ED (health pathway), else an MH call to police."""
        if self.health is not None and self.health.self_presents(r):
            return
        trust = self.trust  # [population.trust_dynamics]; None when off
        # [channels.crisis_line]; lost trust in police (and gained trust in services) shifts crises to the line
        if self.crisis_line is not None and self.crisis_line.takes(r, trust.line_extra(r) if trust else 0.0):
            return
        if trust is not None and trust.goes_uncalled(r):  # ... or to nobody
            return
        self.env.process(self._mh_call(self._new_mh_call(r)))

    def weapon_probability(self, t: float) -> float:
        """Probability that an MH call received at ``t`` involves a weapon (after the case mix by time)."""
        p = self.cfg.dispatch.weapon_share
        if self.case_mix is not None:
            p = min(1.0, p * self.case_mix.weapon[self.case_mix.hour_of_week(t)])
        return p

    def _mh_call(self, call: C.Call):
        for program in self.programs:
            if program.triage(call):
                call.disposition = PHONE
                call.responder = call.responder or program.key
                self._close(call)
                return
        handler = None
        for program in self.programs:
            handler = program.route(call)
            if handler is not None:
                break
        yield from (handler or self.patrol_response)(call)
        self._close(call)

    def patrol_response(self, call: C.Call, responder: str = "patrol"):
        """Police as usual: wait for a district unit, travel, on scene, disposition, hand-off."""
        pool = self.patrol[call.district]
        officer = pool.take_idle()
        if officer is None:
            officer = yield pool.request()
        yield from self.attend_with_officer(call, officer, responder)

    def attend_with_officer(self, call: C.Call, officer: PatrolOfficer, responder: str):
        """Travel, on scene and hand-off with a patrol officer already assigned; the officer is released."""
        env = self.env
        call.t_dispatched = env.now
        call.unit = officer.unique_id
        call.responder = responder
        lat = call.latents
        travel = self.travel[call.district](lat[C.U_TRAVEL])
        call.t_arrived = env.now + travel
        scene = self.mh_scene(lat[C.U_SCENE])
        handover = None
        for program in self.scene_requesters:  # programs taking requests from the scene (none unless switched on)
            handover = program.scene_request(call, responder, travel, scene)
            if handover is not None:
                break
        if handover is None:
            yield env.timeout(travel + scene)
        elif (yield from handover(call, lambda: self._release_officer(call, officer))):
            return  # a team took the call over on scene; the officers were released at the hand-over
        if self.scene_consult is not None:  # [channels.scene_consult]: the officers may phone a clinician
            self.resolve_on_scene(call, (yield from self.scene_consult.consult(call, responder)))
        else:
            self.resolve_on_scene(call, responder)
        yield from self.handoff(call)
        self._release_officer(call, officer)

    def _release_officer(self, call: C.Call, officer: PatrolOfficer) -> None:
        """The officers clear (after the hand-off, or at a hand-over on scene): their time is counted and the unit
        released."""
        busy = self.env.now - call.t_dispatched
        call.officer_min += busy * self.cfg.police.officers_per_unit
        self.patrol[officer.district].release(officer, busy)

    def resolve_on_scene(self, call: C.Call, responder: str) -> None:
        """Exactly one disposition, plus force and injuries, for the responder type that attended."""
        lat = call.latents
        dm = self.dispositions
        disp = dm.draw(responder, call.risk, call.substance_use, call.identified, lat[C.U_DISPOSITION])
        call.disposition = disp
        cfg = self.cfg.dispositions
        p_force = dm.force_probability(responder, call.risk, disp, call.weapon)
        if self.trust is not None:  # lost trust in police raises the odds of escalation
            p_force = self.trust.force_probability(p_force, self.residents[call.resident])
        call.force = lat[C.U_FORCE] < p_force
        if call.force:
            call.subject_injury = lat[C.U_SUBJECT_INJURY] < cfg.subject_injury_given_force
            call.officer_injury = lat[C.U_OFFICER_INJURY] < cfg.officer_injury_given_force

    def handoff(self, call: C.Call):
        """Transport to a destination (a program's, else the ED) or book an arrest; the unit waits throughout."""
        env = self.env
        lat = call.latents
        if call.disposition in (VOLUNTARY, INVOLUNTARY):
            if call.disposition == VOLUNTARY and self.health is not None and self.health.by_ems(call):
                yield from self.health.ems_transport(call)  # the unit waits for the ambulance, then clears
                return
            yield env.timeout(self.travel[call.district](lat[C.U_TRANSPORT]))
            places = self.places  # [destinations.sobering] / [destinations.respite]; None when both are off
            if places is not None and (gen := places.before_programs(call)) is not None:
                yield from gen
                return
            for program in self.programs:
                gen = program.handoff(call)
                if gen is not None:
                    call.destination = program.key
                    yield from gen
                    return
            if places is not None and (gen := places.after_programs(call)) is not None:
                yield from gen
                return
            call.destination = "ed"
            req, assess = self.ed.admit(lat[C.U_ED_ASSESS])
            t0 = env.now
            yield req
            call.ed_wait = env.now - t0
            self.ed.start_assessment(req, assess)
            yield env.timeout(self.ed.handover(0.5))
        elif call.disposition == ARREST:
            call.destination = "jail"
            with self.jail.slots.request() as req:
                yield req
                yield env.timeout(self.jail.booking(lat[C.U_BOOKING]))

    def _close(self, call: C.Call) -> None:
        """Encounter over: consequences for the person, referrals, follow-up, counters."""
        self.open_mh.pop(call.call_id, None)
        call.t_cleared = self.env.now
        r = self.residents[call.resident]
        lat = call.latents
        cfg = self.cfg.dispositions
        disp = call.disposition
        if disp in COERCIVE or call.force:
            loss = cfg.coercion_trust_loss
            self.adjust_trust(r, police=-loss, services=-loss / 2 if disp == INVOLUNTARY else 0.0)
            if r.engaged and lat[C.U_DISENGAGE] < cfg.coercion_disengage:
                self.set_engaged(r, False, call.t_received)
        if self.trust is not None:  # coercion recorded, or trust raised after a helpful contact
            self.trust.after_encounter(call, r)
        if disp == INVOLUNTARY and call.destination != "respite":  # a hold taken to respite is not admitted
            call.admitted = lat[C.U_ADMIT] < cfg.hold_admission_share
            if call.admitted and self.health is not None:  # away for the stay
                self.health.admit(r, call.crisis, call.call_id, lat, self.health_uniforms(r.idx, call.crisis))
        cs = self.cfg.destinations.community_services
        if disp == REFERRAL or (
            disp in (VOLUNTARY, INVOLUNTARY) and lat[C.U_DISCHARGE_REFERRAL] < cs.ed_discharge_referral_share
        ):
            self.refer(call, priority=1, source="encounter")
        for program in self.programs:
            program.after_disposition(call)
        self._count(call)

    def refer(self, call: C.Call, priority: int, source: str) -> bool:
        """Put the person on the services waitlist unless already waiting or engaged."""
        r = self.residents[call.resident]
        if r.waitlisted or r.engaged:
            return False
        r.waitlisted = True
        call.referred = True
        lag = self.waitlist.lag_min
        self.waitlist.refer(
            Referral(r.idx, call.crisis, call.call_id, call.t_received + lag, priority, source, call.latents)
        )
        return True

    def _intake(self, ref: Referral) -> None:
        r = self.residents[ref.resident]
        r.waitlisted = False
        for program in self.programs:
            program.at_intake(ref)
        lat = ref.latents
        pop = self.cfg.population
        cs = self.cfg.destinations.community_services
        p_attend = min(
            1.0, cs.attendance_at_mean_trust * r.trust_services / max(pop.trust_services_mean, 1e-9)
        )
        k = ref.attend_or  # odds ratio a program set at intake (e.g. a peer on the team); 1.0 = none
        if k != 1.0:
            p_attend = p_attend * k / (1.0 - p_attend + p_attend * k)
        if lat[C.U_ATTEND] < p_attend:
            ref.attended = True
            self.counters["connected_to_services"] += 1
            if self.trust is not None:
                self.trust.after_connection(r)
            duration = -pop.engagement_mean_days * DAY_MIN * math.log1p(-min(lat[C.U_ENGAGEMENT], 1 - 1e-12))
            self.set_engaged(r, True, self.env.now, duration)

    def _count(self, call: C.Call) -> None:
        c = self.counters
        c["calls"] += 1
        c["mh_calls"] += 1
        c["mh_identified"] += call.identified
        disp = call.disposition
        if disp == ARREST:
            c["arrests"] += 1
        elif disp == INVOLUNTARY:
            c["involuntary_holds"] += 1
        elif disp == RESOLVED:
            c["resolved_on_scene"] += 1
        elif disp == REPORT:
            c["reports"] += 1
        elif disp == PHONE:
            c["phone_resolved"] += 1
        c["ed_transports"] += call.destination == "ed"
        c["referrals"] += call.referred
        c["use_of_force"] += call.force
        c["injuries"] += call.subject_injury + call.officer_injury
