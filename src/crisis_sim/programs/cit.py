"""CIT: a share of patrol officers is trained, and dispatch prefers a trained officer for identified MH calls.

Training is a property of the officer, not a separate team: dispatch waits up to a tolerance for a free CIT
officer in the district, then sends any unit. Effects on arrest and force stay near-null by default (Taheri 2016);
the referral gain grows with community-services capacity (Watson 2011), since a referral needs somewhere to go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim import rng
from crisis_sim.programs.base import Program
from crisis_sim.rng import program_stream
from crisis_sim.scenario.program_sections.cit import CITConfig

if TYPE_CHECKING:
    from crisis_sim.model.agents import PatrolOfficer
    from crisis_sim.model.calls import Call
    from crisis_sim.model.context import ModelContext

DAY_MIN = 24 * 60
LAPSE_KEY = 1_000_000  # program-stream key of the order in which trained officers lapse after budget cuts


def _is_cit(officer: PatrolOfficer) -> bool:
    return officer.cit_trained


def referral_odds_ratio(cfg: CITConfig, intakes_per_week: float, population: int) -> float:
    """Referral OR of a CIT officer: 1 + (max - 1) * c / (c + c_half), c = intakes/week per 100,000 residents.

    No service capacity gives no gain; capacity equal to ``capacity_half_per_100k`` gives half the maximum gain.
    """
    c = intakes_per_week / (population / 100_000)
    return 1.0 + (cfg.referral_or_max - 1.0) * c / (c + cfg.capacity_half_per_100k)


class CIT(Program):
    """Crisis Intervention Team training and dispatch preference; see docs/programs/cit.md."""

    key = "cit"
    label = "Crisis Intervention Team (CIT) training for patrol officers"
    config_class = CITConfig
    stream_key = rng.PROGRAM_STREAMS["cit"]
    latents: dict[str, int] = {}
    responders = ("cit",)
    series_defaults: dict[str, int] = {}
    settings = {"trained_share": "{:.0%} of patrol officers trained"}
    launchable = True  # a launch trains the first cohort on the day; refreshers are paid from then

    def __init__(self, config: CITConfig):
        super().__init__(config)
        self.config: CITConfig = config
        self.trained: list[PatrolOfficer] = []
        self.by_district: list[list[PatrolOfficer]] = []
        self.cit_calls = 0  # counted period (after warm-up)
        self.fallbacks = 0  # identified MH calls that got a non-CIT unit (counted period)
        self.cit_calls_total = 0
        self.fallbacks_total = 0
        self.waits: list[float] = []  # minutes an identified call waited for its unit (preference + fallback)
        self.lapsed: set[int] = set()  # indices into ``trained`` whose refreshers a budget cut stopped
        self._lapse_order: list[int] | None = None
        self._refresher_changes: list[tuple[float, int]] = []  # (time, officers whose refreshers are paid)

    def attach(self, model: ModelContext) -> None:
        super().attach(model)
        cfg = self.config
        sc = model.cfg
        self.warm = sc.simulation.warmup_days * DAY_MIN
        n_districts = len(sc.city.districts)
        self.by_district = [[] for _ in range(n_districts)]
        # Exactly round(share * n) trained officers in every district and shift, chosen by a permutation from the
        # program's own substream per (district, shift), so a change elsewhere does not reshuffle who is trained.
        for d in range(n_districts):
            for s in range(len(sc.police.shifts)):
                team = [o for o in model.officers if o.district == d and o.shift == s]
                k = round(cfg.trained_share * len(team))
                if not k:
                    continue
                order = program_stream(model.root_seed, model.replication, self.stream_key, d, s).permutation(
                    len(team)
                )
                for i in order[:k].tolist():
                    team[i].cit_trained = True
                    self.trained.append(team[i])
                    self.by_district[d].append(team[i])
        cs = sc.destinations.community_services
        self.referral_or = referral_odds_ratio(cfg, cs.intake_slots_per_week, sc.city.population)
        model.dispositions.register(
            "cit", {"arrest": cfg.arrest_or, "referral": self.referral_or}, force_or=cfg.force_or
        )

    # --- timeline hooks (crisis_sim.scenario.timeline; docs/events.md) --------------------------------------------------
    def scale_capacity(self, share: float) -> None:
        """A cut of the refresher budget: only ``round(initially trained x share)`` officers keep getting
        refresher hours; the others' certification lapses at once (no longer CIT-trained: dispatch no longer
        prefers them and they attend as patrol). Who lapses follows a fixed permutation from the program's own
        substream, so a deeper cut lapses a superset."""
        super().scale_capacity(share)
        n0 = len(self.trained)
        if self._lapse_order is None:
            m = self.model
            g = program_stream(m.root_seed, m.replication, self.stream_key, LAPSE_KEY)
            self._lapse_order = g.permutation(n0).tolist()
        for i in self._lapse_order[round(n0 * share) :]:
            if i in self.lapsed:
                continue
            self.lapsed.add(i)
            officer = self.trained[i]
            officer.cit_trained = False
            if officer in self.by_district[officer.district]:
                self.by_district[officer.district].remove(officer)
        self._refresher_changes.append((self.model.env.now, n0 - len(self.lapsed)))

    def hold_for_launch(self) -> None:
        """Before a launch nobody holds the program's training (the officers of the first cohort are chosen now,
        trained on the launch day) and no refresher is paid; the timeline keeps the program suspended, so dispatch
        sends the first free unit and marks nothing unserved. Officers trained by earlier ``cit_training`` courses
        keep and use their training."""
        for officer in self.trained:
            officer.cit_trained = False
        self._refresher_changes.append((0.0, 0))

    def launch(self) -> None:
        """The first cohort (``trained_share`` of each district and shift, chosen at the start) completes the
        course and is trained from today (a post vacant today gets an untrained newcomer when refilled, as
        always); refreshers are paid from today. The course hours are counted for the whole cohort (as for a
        program running from day 0)."""
        if self.ended:
            return
        for i, officer in enumerate(self.trained):
            if i not in self.lapsed:
                officer.cit_trained = True
        self._refresher_changes.append((self.model.env.now, len(self.trained) - len(self.lapsed)))

    def end_program(self) -> None:
        """No more dispatch preference, courses or refreshers; trained officers keep (and use) their training."""
        super().end_program()
        self._refresher_changes.append((self.model.env.now, 0))

    # --- dispatch ----------------------------------------------------------------------------------------
    def route(self, call: Call):
        if self.suspended and self.is_suspended(call.district):
            return self._no_preference  # ended: the first free unit, nothing marked unserved
        return self._prefer_cit if call.identified else self._any_unit

    def _no_preference(self, call: Call):
        """CIT ended: police as usual, but an officer who was trained still uses the training."""
        pool = self.model.patrol[call.district]
        officer = pool.take_idle()
        if officer is None:
            officer = yield pool.request()
        yield from self._attend(call, officer)

    def _prefer_cit(self, call: Call):
        """Hold the call for a free CIT officer up to the tolerance, then take the first free unit."""
        m = self.model
        env = m.env
        pool = m.patrol[call.district]
        t0 = env.now
        req = pool.request(accept=_is_cit)
        tol = self.config.wait_tolerance_min
        on_duty = any(o.on_duty for o in self.by_district[call.district])
        if not req.triggered and tol > 0 and on_duty:  # no point holding a call when no CIT officer is on
            yield req | env.timeout(tol)
        if req.triggered:  # a CIT officer was handed over (even if in the same instant as the timeout)
            officer = req.value
        else:
            req.cancel()  # leave the CIT-only queue; nothing was taken
            officer = pool.take_idle()
            if officer is None:
                officer = yield pool.request()
        self.waits.append(env.now - t0)
        if not officer.cit_trained:
            self.mark_unserved(call, "busy" if on_duty else "off_hours")
            self.fallbacks_total += 1
            if call.t_received >= self.warm:
                self.fallbacks += 1
        yield from self._attend(call, officer)

    def _any_unit(self, call: Call):
        """A call not recognised as MH: the first free unit goes; a trained officer still uses the training."""
        pool = self.model.patrol[call.district]
        officer = pool.take_idle()  # as police as usual does: no request event when an officer is idle
        if officer is None:
            officer = yield pool.request()
        if not officer.cit_trained:
            self.mark_unserved(call, "misidentified")
        yield from self._attend(call, officer)

    def _attend(self, call: Call, officer: PatrolOfficer):
        if officer.cit_trained:
            call.eligible = True
            call.program = self.key
            self.cit_calls_total += 1
            if call.t_received >= self.warm:
                self.cit_calls += 1
            yield from self.model.attend_with_officer(call, officer, "cit")
        else:
            yield from self.model.attend_with_officer(call, officer, "patrol")

    # --- outputs -----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        m = self.model
        sc = m.cfg
        cfg = self.config
        n = len(self.trained)
        counted_years = (m.horizon_min - self.warm) / DAY_MIN / 365.0
        if (
            self._refresher_changes
        ):  # budget events: refreshers paid only for officers still funded, from then
            officer_years, t, k = 0.0, 0.0, n
            for t_next, k_next in [*self._refresher_changes, (m.horizon_min, 0)]:
                officer_years += (
                    k * max(0.0, min(t_next, m.horizon_min) - max(t, self.warm)) / DAY_MIN / 365.0
                )
                t, k = t_next, k_next
            hours = n * cfg.course_hours + cfg.refresher_hours_per_year * officer_years
        else:
            hours = n * (cfg.course_hours + cfg.refresher_hours_per_year * counted_years)
        # Utilisation of trained officers: busy minutes over rostered minutes (shift length x days).
        rostered = sum(sc.police.shifts[o.shift].hours * 60 for o in self.trained) * m.horizon_min / DAY_MIN
        busy = sum(o.busy_min for o in self.trained)
        return {
            "cost": hours * sc.costs.officer_hour,  # training time, backfilled at the patrol hour cost
            "staff_utilisation": busy / rostered if rostered else 0.0,
            "cit_trained_officers": n,
            "cit_calls": self.cit_calls,
            "cit_fallbacks": self.fallbacks,
            "cit_referral_or": self.referral_or,
        }

    def reporters(self):
        return {"cit_calls": lambda m: self.cit_calls_total, "cit_fallbacks": lambda m: self.fallbacks_total}

    def cumulative(self) -> tuple[str, ...]:
        return ("cit_calls", "cit_fallbacks")
