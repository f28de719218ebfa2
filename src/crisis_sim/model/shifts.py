"""Daily shift boundaries as SimPy events, shared by patrol pools and programs' own shifted staff.

A shift is a (start minute of day, length in minutes) window; a 24-hour shift never starts or ends. At the same
minute, ends come before starts, so a unit handing over to the next shift is never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import simpy

DAY_MIN = 24 * 60
Boundary = tuple[int, int, int, bool]  # (minute of day, order: end 0 / start 1, shift index, is start)


def daily_boundaries(windows: list[tuple[int, int]]) -> tuple[list[int], list[Boundary]]:
    """(shifts on duty at 00:00 of day 0, the sorted boundaries of one day)."""
    on_at_start = [s for s, (start, length) in enumerate(windows) if (0 - start) % DAY_MIN < length]
    boundaries: list[Boundary] = []
    for s, (start, length) in enumerate(windows):
        if length < DAY_MIN:
            boundaries.append((start, 1, s, True))
            boundaries.append(((start + length) % DAY_MIN, 0, s, False))
    boundaries.sort()
    return on_at_start, boundaries


def run_boundaries(
    env: simpy.Environment, boundaries: list[Boundary], on_boundary: Callable[[int, bool], None]
) -> Generator[simpy.Event, None, None]:
    """SimPy process body: call ``on_boundary(shift, is_start)`` at every boundary after time 0, day after day.

    ``boundaries`` must not be empty (a timetable with only 24-hour shifts has nothing to schedule)."""
    day = 0
    while True:
        for minute, _, s, is_start in boundaries:
            t = day * DAY_MIN + minute
            if t <= 0:
                continue
            yield env.timeout(t - env.now)
            on_boundary(s, is_start)
        day += 1
