"""Staffing: patrol officers per district and shift and the shift changes that put them on and off duty; and
:class:`ShiftedStaff`, the on-duty state machine of programs' shift-staffed units (co-response cars, triage seats).

Programs' own shift-staffed teams use the same timetable (:mod:`crisis_sim.model.shifts`).
"""

from __future__ import annotations

import math
from typing import Any

import simpy

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


class StaffToken:
    """One unit of program staff in a :class:`ShiftedStaff` store (a co-response car, a triage clinician)."""

    __slots__ = ("idx", "shift", "people", "on_duty", "off_when_free", "busy_min", "jobs", "funded")

    def __init__(self, idx: int, shift: int, people: tuple[Any, ...]):
        self.idx = idx
        self.shift = shift
        self.people = people
        self.on_duty = False
        self.off_when_free = False  # shift ended while busy: goes off duty when the job ends
        self.busy_min = 0.0
        self.jobs = 0
        self.funded = True  # budget events (scale_program, end_program, funding_ends) unfund tokens for good


class ShiftedStaff:
    """A SimPy Store of staff tokens whose content follows daily shifts (shifts may wrap past midnight).

    Shift start puts the shift's tokens in the store; shift end takes the idle ones out and lets the busy ones
    finish their job first. Duty and busy minutes are integrated for utilisation.

    Timeline events: a token is *available* while it is funded and every person on it is in post. Shift start
    skips unavailable tokens; :meth:`sync` takes a token that became unavailable out of the store (a busy one
    leaves when its job ends) and puts one that became available back in if its shift is on. :meth:`fund` keeps
    ``round(n x share)`` tokens funded (Python's round, as mobile crisis teams), taking tokens away from the
    shift with the most funded tokens first (ties: the later shift), the last-created first, so a cut thins every
    shift before it empties one; a smaller share always unfunds a superset. Funding changes are dated for
    :meth:`funded_minutes` (costs).
    """

    def __init__(
        self, env: simpy.Environment, shifts: list[tuple[float, float]], tokens: list[list[StaffToken]]
    ):
        self.env = env
        self.store = simpy.Store(env)
        self.windows = [(round(start * 60) % DAY_MIN, round(hours * 60)) for start, hours in shifts]
        self.tokens = tokens
        self.on_duty = 0
        self.duty_min = 0.0
        self.busy_min = 0.0
        self._last = 0.0
        self.changes: list[tuple[float, list[int]]] = []  # (time, funded tokens per shift from then)
        self._live = list(range(len(self.windows)))  # shifts with at least one funded token
        on_at_start, boundaries = daily_boundaries(self.windows)
        for s in on_at_start:
            self._start(s)
        if boundaries:
            env.process(run_boundaries(env, boundaries, self._boundary))

    def _boundary(self, s: int, is_start: bool) -> None:
        (self._start if is_start else self._end)(s)

    def _account(self) -> None:
        now = self.env.now
        self.duty_min += self.on_duty * (now - self._last)
        self._last = now

    @staticmethod
    def available(token: StaffToken) -> bool:
        """Funded and every person on it in post."""
        return token.funded and all(p.in_post for p in token.people)

    def _start(self, s: int) -> None:
        self._account()
        for token in self.tokens[s]:
            if not self.available(token):
                continue  # unfunded or someone out of post: stays off (a busy one still leaves when free)
            if token.on_duty:
                token.off_when_free = False  # still on last shift's job: stays on
            else:
                token.on_duty = True
                self.on_duty += 1
                self.store.put(token)

    def _end(self, s: int) -> None:
        self._account()
        for token in self.tokens[s]:
            if token.on_duty:
                self._off_duty(token)

    def _off_duty(self, token: StaffToken) -> None:
        """An on-duty token leaves duty: at once if idle (in the store), else when its job ends."""
        if token in self.store.items:
            self.store.items.remove(token)
            token.on_duty = False
            self.on_duty -= 1
        else:
            token.off_when_free = True

    def in_shift(self, t: float) -> bool:
        """True if some shift with a funded token covers time ``t`` (minutes)."""
        m = t % DAY_MIN
        windows = self.windows
        return any((m - windows[s][0]) % DAY_MIN < windows[s][1] for s in self._live)

    def _shift_on(self, s: int, t: float) -> bool:
        start, length = self.windows[s]
        return length >= DAY_MIN or (t % DAY_MIN - start) % DAY_MIN < length

    def sync(self) -> None:
        """Follow availability now: unavailable tokens leave duty (at once if idle, else when free); available
        tokens whose shift is on come (back) on duty."""
        self._account()
        now = self.env.now
        for s, team in enumerate(self.tokens):
            on = self._shift_on(s, now)
            for token in team:
                if not self.available(token):
                    if token.on_duty:
                        self._off_duty(token)
                elif on:
                    if token.on_duty:
                        token.off_when_free = False  # busy, and wanted again before the job ended
                    else:
                        token.on_duty = True
                        self.on_duty += 1
                        self.store.put(token)

    def all_tokens(self) -> list[StaffToken]:
        return [token for team in self.tokens for token in team]

    def fund(self, share: float) -> None:
        """Keep ``round(n x share)`` of the configured tokens funded (see the class docstring); dated for costs."""
        target = round(len(self.all_tokens()) * share)
        kept = [list(team) for team in self.tokens]
        while sum(map(len, kept)) > target:
            s = max(range(len(kept)), key=lambda i: (len(kept[i]), i))
            kept[s].pop()
        keep = {id(t) for team in kept for t in team}
        for token in self.all_tokens():
            if id(token) not in keep:
                token.funded = False
        self._mark_funding()
        self.sync()

    def refund(self, share: float) -> None:
        """Fund ``round(n x share)`` of the configured tokens again, the ones :meth:`fund` would keep (a program
        held unfunded until its launch); dated for costs."""
        target = round(len(self.all_tokens()) * share)
        kept = [list(team) for team in self.tokens]
        while sum(map(len, kept)) > target:
            s = max(range(len(kept)), key=lambda i: (len(kept[i]), i))
            kept[s].pop()
        keep = {id(t) for team in kept for t in team}
        for token in self.all_tokens():
            token.funded = id(token) in keep
        self._mark_funding()
        self.sync()

    def add_token(self, s: int, people: tuple[Any, ...]) -> StaffToken:
        """A new funded token in shift ``s`` from now (add_post); dated for costs, on duty at once if its shift
        is on and everyone on it is in post."""
        if not self.changes:  # the configured tokens, all funded, from the start
            self.changes.append((0.0, [len(team) for team in self.tokens]))
        token = StaffToken(len(self.all_tokens()), s, people)
        self.tokens[s].append(token)
        self._mark_funding()
        self.sync()
        return token

    def unfund_all(self) -> None:
        for token in self.all_tokens():
            token.funded = False
        self._mark_funding()
        self.sync()

    def _mark_funding(self) -> None:
        counts = [sum(t.funded for t in team) for team in self.tokens]
        self.changes.append((self.env.now, counts))
        self._live = [s for s, n in enumerate(counts) if n]

    def take(self) -> StaffToken | None:
        """A free token now, or None (callers that can wait use ``store.get()``)."""
        if not self.store.items:
            return None
        return self.store.get().value  # a Store get with items succeeds at once

    def release(self, token: StaffToken, busy: float) -> None:
        self.busy_min += busy
        token.busy_min += busy
        token.jobs += 1
        for person in token.people:
            person.busy_min += busy
        if token.off_when_free:
            self._account()
            token.on_duty = False
            token.off_when_free = False
            self.on_duty -= 1
        else:
            self.store.put(token)

    def utilisation(self) -> float:
        self._account()
        return self.busy_min / self.duty_min if self.duty_min > 0 else 0.0

    def scheduled_minutes(self, t0: float, t1: float, counts: list[int] | None = None) -> float:
        """Staff-minutes rostered in [t0, t1] (one per token on duty), from the shift table (``counts``: tokens
        per shift, default all configured)."""
        total = 0.0
        for s, (start, length) in enumerate(self.windows):
            n = len(self.tokens[s]) if counts is None else counts[s]
            if length >= DAY_MIN:
                total += n * max(0.0, t1 - t0)
                continue
            for day in range(math.floor(t0 / DAY_MIN) - 1, math.ceil(t1 / DAY_MIN) + 1):
                a = day * DAY_MIN + start
                total += n * max(0.0, min(a + length, t1) - max(a, t0))
        return total

    def funded_minutes(self, t0: float, t1: float) -> float:
        """Staff-minutes rostered in [t0, t1] for the tokens funded at each time (budget events lower it from
        their date); without funding changes, :meth:`scheduled_minutes`."""
        if not self.changes:
            return self.scheduled_minutes(t0, t1)
        total, a, counts = 0.0, -math.inf, [len(team) for team in self.tokens]
        for t, nxt in [*self.changes, (math.inf, counts)]:
            lo, hi = max(a, t0), min(t, t1)
            if hi > lo:
                total += self.scheduled_minutes(lo, hi, counts)
            a, counts = t, nxt
        return total
