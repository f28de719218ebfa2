"""The 988/crisis line ([channels.crisis_line]): a way in besides 911, with its own counsellor seats.

With the switch on, a share of crises (``share``; ``share_connected`` for people engaged in care) reach the line
instead of 911. The contact waits for a counsellor seat (a SimPy resource, ``counsellors`` seats during the line's
hours); a caller not answered within ``max_wait_min``, or who finds the line closed, dials 911. An answered contact
holds the seat for its handle time, then the counsellor

- transfers to 911 (probability by the assessed risk; always for a weapon when ``transfer_if_weapon``): the crisis
  proceeds as a police call, recognised as MH (the counsellor relays it), received at the transfer;
- or, for ``mobile_share`` of the rest, sends the mobile crisis team when a program accepts it
  (``Program.line_dispatch``: the scenario has a team, the call is eligible and a team is free); when none can go,
  ``unmet_to_911_share`` are transferred to 911 and the rest resolved by phone;
- or resolves by phone (disposition ``phone_resolved``, responder ``crisis_line``), referring
  ``phone_referral_share`` of them to community services.

Every decision reads a row of uniforms tied to (resident, crisis number) from the ``channels`` stream, drawn in one
block, so common random numbers hold: the crisis keeps its own latent row whichever way it comes in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.dispositions import PHONE
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.durations import scalar_sampler

if TYPE_CHECKING:
    from mesa import Model  # the running model (CoreModel; see crisis_sim.model.context)

    from crisis_sim.model.agents import Resident
    from crisis_sim.model.calls import Call

# Columns of a crisis's row in the ``channels`` stream. Never renumber; append.
LINE_COLUMNS: dict[str, int] = {
    "choose": 0, "handle": 1, "outcome": 2, "refer": 3,
    "consult": 4, "consult_time": 5,  # model/scene_consult.py
}  # fmt: skip
LINE_WIDTH = 6
LINE_ROWS = 4  # rows pre-drawn per resident; later crises come from per-resident overflow substreams
L = LINE_COLUMNS

# Channel of a contact (the ledger's ``channel`` column when the line is on).
CH_911 = "911"  # dialled 911
CH_LINE = "988"  # reached the line and stayed with it (resolved by phone or a mobile team sent)
CH_LINE_TO_911 = "988_to_911"  # reached for the line, ended as a 911 call (transfer, not answered, line closed)
CHANNELS = (CH_911, CH_LINE, CH_LINE_TO_911)

# Outcomes of a line contact (the run's line records).
BY_PHONE = "resolved_by_phone"
MOBILE = "mobile_dispatch"
TRANSFER = "transfer_911"
UNANSWERED = "unanswered"
CLOSED = "closed"
OUTCOMES = (BY_PHONE, MOBILE, TRANSFER, UNANSWERED, CLOSED)


def channel_uniforms(model: Model, resident: int, crisis: int) -> list[float]:
    """The ``channels`` stream's row for the resident's ``crisis``-th crisis (columns: LINE_COLUMNS), random access
    by (resident, crisis number); the block is drawn on first use (the residents exist by then)."""
    draws = model._channel_draws
    if draws is None:
        draws = model._channel_draws = PerEntityDraws(
            model.root_seed, model.replication, "channels", len(model.residents), LINE_ROWS, LINE_WIDTH, exp=False
        )
    return draws.row(resident, crisis - 1)


class CrisisLine:
    """Counsellor seats and the decisions of a line contact (switch on only)."""

    def __init__(self, model: Model):
        self.model = model
        self.cfg = cl = model.cfg.channels.crisis_line
        self.env = model.env
        self.seats = simpy.Resource(model.env, capacity=cl.counsellors)
        self.handle = scalar_sampler(cl.handle_time)
        self.start, self.end = cl.hours_mask()
        self.transfer = (cl.transfer_by_risk.low, cl.transfer_by_risk.medium, cl.transfer_by_risk.high)
        self.warm = model.cfg.simulation.warmup_days * DAY_MIN
        # one record per contact: (call id, t_contact, wait until answered (nan: not answered), outcome, handle)
        self.records: list[tuple[int, float, float, str, float]] = []
        self.busy_min = 0.0

    def uniforms(self, resident: int, crisis: int) -> list[float]:
        """The ``channels`` stream's row for the resident's ``crisis``-th crisis (columns: LINE_COLUMNS)."""
        return channel_uniforms(self.model, resident, crisis)

    def open_at(self, t: float) -> bool:
        start, end = self.start, self.end
        if start == end:
            return True
        minute = t % DAY_MIN
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end

    def takes(self, r: Resident, extra_share: float = 0.0) -> bool:
        """Whether the resident's new crisis (``r.crises``) reaches for the line; if so its contact starts.
        ``extra_share`` is added to the share (trust dynamics: lost trust in police, gained trust in services)."""
        u = self.uniforms(r.idx, r.crises)
        cl = self.cfg
        if u[L["choose"]] >= (cl.share_connected if r.engaged else cl.share) + extra_share:
            return False
        call = self.model._new_mh_call(r)  # the crisis's own latent row, as a 911 call would use it (CRN)
        call.channel = CH_LINE
        self.env.process(self._contact(call, u))
        return True

    def _to_911(self, call: Call, t0: float, wait: float, outcome: str, handle: float):
        """The crisis proceeds as a police call, received now."""
        self.records.append((call.call_id, t0, wait, outcome, handle))
        call.channel = CH_LINE_TO_911
        call.t_received = self.env.now
        yield from self.model._mh_call(call)

    def _contact(self, call: Call, u: list[float]):
        env, m, cl = self.env, self.model, self.cfg
        t0 = env.now
        if not self.open_at(t0):
            yield from self._to_911(call, t0, math.nan, CLOSED, 0.0)
            return
        req = self.seats.request()
        yield req | env.timeout(cl.max_wait_min)
        if not req.triggered:
            req.cancel()
            yield from self._to_911(call, t0, math.nan, UNANSWERED, 0.0)
            return
        wait = env.now - t0
        call.identified = True  # a line contact is a mental-health contact, and a transfer says so
        minutes = self.handle(u[L["handle"]])
        yield env.timeout(minutes)
        self.seats.release(req)
        self.busy_min += minutes
        v = u[L["outcome"]]
        p_transfer = 1.0 if cl.transfer_if_weapon and call.weapon else self.transfer[call.assessed_risk]
        if v < p_transfer:
            yield from self._to_911(call, t0, wait, TRANSFER, minutes)
            return
        w = (v - p_transfer) / (1.0 - p_transfer)  # uniform again, given no transfer (nested decisions)
        if w < cl.mobile_share:
            handler = None
            for program in m.programs:
                handler = program.line_dispatch(call)
                if handler is not None:
                    break
            if handler is not None:
                self.records.append((call.call_id, t0, wait, MOBILE, minutes))
                call.t_received = env.now  # the team's response is timed from the dispatch
                yield from handler(call)
                m._close(call)
                return
            if w / cl.mobile_share < cl.unmet_to_911_share:
                yield from self._to_911(call, t0, wait, TRANSFER, minutes)
                return
        self.records.append((call.call_id, t0, wait, BY_PHONE, minutes))
        call.disposition = PHONE
        call.responder = "crisis_line"
        if u[L["refer"]] < cl.phone_referral_share:
            m.refer(call, priority=1, source="crisis_line")
        m._close(call)

    # --- outputs -------------------------------------------------------------------------------------------
    def frame_columns(self) -> dict[str, Any]:
        recs = self.records
        return {
            "call_id": [x[0] for x in recs],
            "t_contact": [x[1] for x in recs],
            "wait_min": [x[2] for x in recs],
            "outcome": [x[3] for x in recs],
            "handle_min": [x[4] for x in recs],
        }

    def summary(self) -> dict[str, Any]:
        """Contacts after warm-up by outcome, the answered contacts' waits, the seats' use and cost."""
        n = dict.fromkeys(OUTCOMES, 0)
        waits = []
        for _cid, t0, wait, outcome, _h in self.records:
            if t0 >= self.warm:
                n[outcome] += 1
                if wait == wait:  # answered (not nan)
                    waits.append(wait)
        waits.sort()
        cl = self.cfg
        horizon = self.model.horizon_min
        open_share = 1.0 if self.start == self.end else ((self.end - self.start) % DAY_MIN) / DAY_MIN
        seat_min = cl.counsellors * horizon * open_share
        counted_h = cl.counsellors * (horizon - self.warm) * open_share / 60.0
        return {
            "line_contacts": sum(n.values()),
            "line_answered": n[BY_PHONE] + n[MOBILE] + n[TRANSFER],
            "line_resolved_by_phone": n[BY_PHONE],
            "line_mobile_dispatches": n[MOBILE],
            "line_transfers_911": n[TRANSFER],
            "line_unanswered": n[UNANSWERED],
            "line_closed": n[CLOSED],
            "line_wait_min_mean": float(sum(waits) / len(waits)) if waits else None,
            "line_wait_min_p90": float(waits[min(len(waits) - 1, int(0.9 * len(waits)))]) if waits else None,
            "line_counsellor_utilisation": float(self.busy_min / seat_min) if seat_min > 0 else 0.0,
            "cost_crisis_line": counted_h * cl.counsellor_hour,
        }
