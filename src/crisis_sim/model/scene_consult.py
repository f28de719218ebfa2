"""Police consult a clinician by phone from the scene ([channels.scene_consult]).

With the switch on, in ``share`` of patrol MH encounters the officers phone a clinician before deciding. A consult
needs a free seat (``clinicians``; none free: the officers decide alone, no waiting); it adds ``consult_time`` to
the officers' time on scene and holds the seat as long; the disposition is then drawn with the patrol odds times
``disposition_odds`` (an assumption: an input, not a finding). Only plain patrol encounters consult (CIT officers,
co-responders and teams have their own clinical input). Both decisions read the crisis's row of the ``channels``
stream (columns ``consult`` and ``consult_time``), so common random numbers hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim.model.crisis_line import LINE_COLUMNS, channel_uniforms
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.durations import scalar_sampler

if TYPE_CHECKING:
    from mesa import Model

    from crisis_sim.model.calls import Call

CONSULT_RESPONDER = "patrol_consulted"  # disposition table of a patrol encounter after a consult


class SceneConsult:
    """Clinician seats taking officers' calls from the scene (switch on only)."""

    def __init__(self, model: Model):
        self.model = model
        self.cfg = sc = model.cfg.channels.scene_consult
        self.env = model.env
        self.time = scalar_sampler(sc.consult_time)
        self.busy = 0
        self.busy_min = 0.0
        self.warm = model.cfg.simulation.warmup_days * DAY_MIN
        # (call id, t_start, minutes) per consult; (call id, t) per wanted consult with no seat free
        self.records: list[tuple[int, float, float]] = []
        self.no_seat: list[tuple[int, float]] = []
        model.dispositions.register(CONSULT_RESPONDER, dict(sc.disposition_odds), force_or=1.0)

    def consult(self, call: Call, responder: str):
        """Generator: the officers' phone call, if any; returns the responder type whose odds decide."""
        if responder != "patrol":
            return responder
        u = channel_uniforms(self.model, call.resident, call.crisis)
        if u[LINE_COLUMNS["consult"]] >= self.cfg.share:
            return responder
        if self.busy >= self.cfg.clinicians:
            self.no_seat.append((call.call_id, self.env.now))
            return responder
        self.busy += 1
        minutes = self.time(u[LINE_COLUMNS["consult_time"]])
        self.records.append((call.call_id, self.env.now, minutes))
        yield self.env.timeout(minutes)
        self.busy -= 1
        self.busy_min += minutes
        call.scene_consult = True
        return CONSULT_RESPONDER

    def summary(self) -> dict[str, Any]:
        cfg = self.cfg
        horizon = self.model.horizon_min
        n = sum(1 for _c, t, _m in self.records if t >= self.warm)
        return {
            "scene_consults": n,
            "scene_consults_no_seat": sum(1 for _c, t in self.no_seat if t >= self.warm),
            "scene_consult_utilisation": float(self.busy_min / (cfg.clinicians * horizon)) if horizon > 0 else 0.0,
            "cost_scene_consult": cfg.clinicians * (horizon - self.warm) / 60.0 * cfg.clinician_hour,
        }
