"""A district's patrol units: a SimPy FilterStore of officer tokens whose size follows shifts and staffing.

``simpy.Resource.capacity`` is read-only, so staff are tokens: a shift start puts its officers in the store, a
shift end takes the idle ones out and marks the busy ones to go off duty when their call clears. Staffing events
(vacancies, departures, hires) change which officers are in post; the next shift start honours it, and
:meth:`PatrolPool.withdraw` takes an officer off at once (or when free).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

if TYPE_CHECKING:
    from crisis_sim.model.agents import PatrolOfficer


def _any_officer(officer: PatrolOfficer) -> bool:
    return True


class _OfficerStore(simpy.FilterStore):
    """A FilterStore that stops scanning waiting requests once it has no officer left to give.

    SimPy's FilterStore offers every new or returned item to every waiting request in turn; with an empty store
    none of them can succeed, so stopping there gives exactly the same assignments for less work when calls queue
    up. Unfiltered requests take the longest-idle officer without calling a filter.
    """

    def put_now(self, officer: PatrolOfficer) -> None:
        """Return an officer: the first waiting request that accepts it gets it now, else it waits idle.

        The assignment is the one ``put`` makes; ``put`` would also schedule an event that only serves the waiting
        requests one step later, at the same simulated time. Here nothing is scheduled.
        """
        self.items.append(officer)
        if self.get_queue:
            self._trigger_get(None)

    def _do_get(self, event) -> bool:
        items = self.items
        if items:
            accept = event.filter
            if accept is _any_officer:
                event.succeed(items.pop(0))
            else:
                for item in items:
                    if accept(item):
                        items.remove(item)
                        event.succeed(item)
                        break
        return bool(items)


class PatrolPool:
    """Dispatch store and roster of one district; tracks on-duty and busy unit-minutes for utilisation."""

    def __init__(self, env: simpy.Environment, district: int, roster: list[list[PatrolOfficer]]):
        self.env = env
        self.district = district
        self.store = _OfficerStore(env)
        self.roster = roster  # roster[shift] -> officers assigned to that shift
        self.on_duty = 0
        self.duty_min = 0.0  # integral of on-duty units over time
        self.busy_min = 0.0
        self._last = 0.0

    # --- accounting --------------------------------------------------------------------------------------
    def _account(self) -> None:
        now = self.env.now
        self.duty_min += self.on_duty * (now - self._last)
        self._last = now

    def utilisation(self) -> float:
        self._account()
        return self.busy_min / self.duty_min if self.duty_min > 0 else 0.0

    # --- shifts ------------------------------------------------------------------------------------------
    def start_shift(self, shift: int) -> None:
        self._account()
        for officer in self.roster[shift]:
            if officer.in_post and not officer.on_duty:
                officer.on_duty = True
                officer.off_when_free = False
                self.on_duty += 1
                self.store.put_now(officer)

    def end_shift(self, shift: int) -> None:
        self._account()
        leaving = [o for o in self.roster[shift] if o.on_duty]
        idle = set(map(id, self.store.items))
        for officer in leaving:
            if id(officer) in idle:
                self.store.items.remove(officer)
                officer.on_duty = False
                self.on_duty -= 1
            else:
                officer.off_when_free = True

    def withdraw(self, officer: PatrolOfficer) -> None:
        """Take an officer out of service now if idle, else when the current call clears."""
        officer.in_post = False
        if not officer.on_duty:
            return
        self._account()
        if officer in self.store.items:
            self.store.items.remove(officer)
            officer.on_duty = False
            self.on_duty -= 1
        else:
            officer.off_when_free = True

    # --- dispatch ----------------------------------------------------------------------------------------
    def request(self, accept=None) -> simpy.events.Event:
        """Event that yields a free officer (FIFO among waiting calls); ``accept`` filters officers."""
        return self.store.get(accept if accept is not None else _any_officer)

    def take_idle(self) -> PatrolOfficer | None:
        """The longest-idle officer if one is free and no call is waiting, else None (then use :meth:`request`).

        This is the officer an unfiltered :meth:`request` would be handed at once, without the request event.
        """
        store = self.store
        if store.items and not store.get_queue:
            return store.items.pop(0)
        return None

    def release(self, officer: PatrolOfficer, busy: float) -> None:
        """Return an officer after ``busy`` minutes of work."""
        self.busy_min += busy
        officer.busy_min += busy
        officer.calls += 1
        if officer.off_when_free or not officer.in_post:
            self._account()
            officer.on_duty = False
            officer.off_when_free = False
            self.on_duty -= 1
        else:
            self.store.put_now(officer)

    @property
    def idle(self) -> int:
        return len(self.store.items)
