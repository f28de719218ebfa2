"""Patrol staffing: officers per district and shift, and the daily shift timetable that puts them on and off duty.

Programs' own shift-staffed teams use the same timetable (:mod:`crisis_sim.model.shifts`).
"""

from __future__ import annotations

from crisis_sim.model.agents import PatrolOfficer
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.patrol import PatrolPool
from crisis_sim.model.shifts import daily_boundaries, run_boundaries


class Staffing:
    """Patrol officers, pools and shift changes (a part of :class:`~crisis_sim.model.crisis_model.CoreModel`)."""

    def _build_police(self) -> None:
        sc = self.cfg
        shift_names = [s.name for s in sc.police.shifts]
        self.officers: list[PatrolOfficer] = []
        self.patrol: list[PatrolPool] = []
        for d, district in enumerate(sc.city.districts):
            roster = []
            for s, name in enumerate(shift_names):
                team = [
                    PatrolOfficer(self, d, s, sc.police.referral_awareness)
                    for _ in range(district.patrol_units[name])
                ]
                self.officers.extend(team)
                roster.append(team)
            self.patrol.append(PatrolPool(self.env, d, roster))

    def _shifts(self):
        """Start and end shifts at their hours, every day, in every district."""
        windows = [
            (round(sh.start_hour * 60) % DAY_MIN, round(sh.hours * 60)) for sh in self.cfg.police.shifts
        ]
        on_at_start, boundaries = daily_boundaries(windows)
        for s in on_at_start:
            for pool in self.patrol:
                pool.start_shift(s)
        if boundaries:
            yield from run_boundaries(self.env, boundaries, self._shift_boundary)

    def _shift_boundary(self, s: int, is_start: bool) -> None:
        for pool in self.patrol:
            (pool.start_shift if is_start else pool.end_shift)(s)
