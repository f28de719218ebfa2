"""More places to go ([destinations.sobering], [destinations.respite]): a sobering/detox centre and crisis
residential/respite beds, each a SimPy resource of beds.

A transported person whose call qualifies goes there instead of the ED when a bed is free: the bed is held for the
length of stay, the transporting unit only for the drop-off. When every bed is taken the person goes on to the ED
(as before). Eligibility, in order:

- sobering: the call involves substance use, its true risk is at most ``max_risk`` and it ends in a voluntary
  transport (or a hold, with ``accepts_involuntary``); checked before any program's destination;
- respite: true risk at most ``max_risk`` and the same dispositions; checked after the programs' destinations
  (a stabilisation centre with a free bed takes the person first), just before the ED.

A hold that goes to respite is not an inpatient admission. Lengths of stay and drop-off times read a row of
uniforms tied to (resident, crisis number) from the ``places`` stream, drawn in one block on first use
(nothing is drawn when both places are off or nobody qualifies), and turned into minutes with ``math.*`` per
element (model/durations.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from crisis_sim.model.dispositions import INVOLUNTARY, VOLUNTARY
from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.model.durations import scalar_sampler
from crisis_sim.scenario.schema import RISK_LEVELS

if TYPE_CHECKING:
    from mesa import Model  # the running model (CoreModel; see crisis_sim.model.context)

    from crisis_sim.model.calls import Call
    from crisis_sim.scenario.schema import PlaceToGo

DAY_MIN = 24 * 60
# Columns of a crisis's places row (stream ``places``). Never renumber; append.
PLACES_COLUMNS: dict[str, int] = {
    "sobering_stay": 0,
    "sobering_drop_off": 1,
    "respite_stay": 2,
    "respite_drop_off": 3,
}
PLACES_WIDTH = 4
PLACES_ROWS = 4  # rows pre-drawn per resident; later crises come from per-resident overflow substreams
PLACE_KEYS = ("sobering", "respite")


class Place:
    """Beds of one place; counts admissions and full-at-arrival turn-aways after warm-up."""

    def __init__(self, model: Model, key: str, cfg: PlaceToGo):
        self.key = key
        self.cfg = cfg
        self.env = model.env
        self.beds = simpy.Resource(model.env, capacity=cfg.beds)
        self.stay = scalar_sampler(cfg.length_of_stay)
        self.drop_off = scalar_sampler(cfg.drop_off)
        self.max_risk = RISK_LEVELS.index(cfg.max_risk)
        self.accepted = (VOLUNTARY, INVOLUNTARY) if cfg.accepts_involuntary else (VOLUNTARY,)
        self.col_stay = PLACES_COLUMNS[f"{key}_stay"]
        self.col_drop = PLACES_COLUMNS[f"{key}_drop_off"]
        self.warm_min = model.cfg.simulation.warmup_days * DAY_MIN
        self.horizon_min = model.horizon_min
        self.admissions = 0  # counted after warm-up
        self.full = 0  # eligible, but every bed taken: went on to the ED (counted after warm-up)
        self.bed_min = 0.0  # occupied bed-minutes within the horizon

    def eligible(self, call: Call) -> bool:
        return call.disposition in self.accepted and call.risk <= self.max_risk

    def admit(self, call: Call, u: list[float]):
        """The drop-off (a generator the unit waits on), or None when every bed is taken."""
        counted = call.t_received >= self.warm_min
        if self.beds.count >= self.cfg.beds:
            self.full += counted
            return None
        return self._admit(call, u, counted)

    def _admit(self, call: Call, u: list[float], counted: bool):
        env = self.env
        req = self.beds.request()  # a bed is free (checked above): granted at once
        now = env.now
        stay = self.stay(u[self.col_stay])
        self.admissions += counted
        self.bed_min += min(stay, max(0.0, self.horizon_min - now))
        env.timeout(stay).callbacks.append(lambda _ev: self.beds.release(req))
        yield req
        yield env.timeout(self.drop_off(u[self.col_drop]))

    def summary(self) -> dict[str, Any]:
        counted_days = max(0.0, self.horizon_min - self.warm_min) / DAY_MIN
        capacity_min = self.cfg.beds * self.horizon_min
        k = self.key
        return {
            f"{k}_admissions": self.admissions,
            f"{k}_full_to_ed": self.full,
            f"{k}_bed_occupancy": self.bed_min / capacity_min if capacity_min > 0 else 0.0,
            f"cost_{k}": self.cfg.beds * counted_days * self.cfg.bed_day_cost,
        }


class Places:
    """The places that are switched on; :meth:`before_programs` and :meth:`after_programs` are the encounter's
    hand-off hooks (each returns the drop-off generator, or None)."""

    def __init__(self, model: Model):
        self.model = model
        dest = model.cfg.destinations
        self.sobering = Place(model, "sobering", dest.sobering) if dest.sobering.enabled else None
        self.respite = Place(model, "respite", dest.respite) if dest.respite.enabled else None
        self._draws: PerEntityDraws | None = None

    @staticmethod
    def enabled(model: Model) -> bool:
        dest = model.cfg.destinations
        return dest.sobering.enabled or dest.respite.enabled

    def _row(self, call: Call) -> list[float]:
        draws = self._draws
        if draws is None:
            m = self.model
            draws = self._draws = PerEntityDraws(
                m.root_seed, m.replication, "places", len(m.residents), PLACES_ROWS, PLACES_WIDTH, exp=False
            )
        return draws.row(call.resident, call.crisis - 1)

    def before_programs(self, call: Call):
        place = self.sobering
        if place is None or not call.substance_use or not place.eligible(call):
            return None
        return self._go(place, call)

    def after_programs(self, call: Call):
        place = self.respite
        if place is None or not place.eligible(call):
            return None
        return self._go(place, call)

    def _go(self, place: Place, call: Call):
        gen = place.admit(call, self._row(call))
        if gen is not None:
            call.destination = place.key
        return gen

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for place in (self.sobering, self.respite):
            if place is not None:
                out.update(place.summary())
        out["cost_places"] = sum(v for k, v in out.items() if k.startswith("cost_"))
        return out
