"""The one clock: SimPy's environment, in minutes; and a variant that counts the events it processes.

SimPy has no public count of processed events. :class:`CountingEnvironment` counts them in ``step`` for benchmarks
and diagnostics; it costs about a fifth of SimPy's per-event time, so runs do not use it unless asked
(``CoreModel(..., count_events=True)``).
"""

from __future__ import annotations

import simpy


class CountingEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` whose ``processed`` attribute counts the events it has processed."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.processed = 0

    def step(self) -> None:
        """Process the next event (and count it)."""
        simpy.Environment.step(self)
        self.processed += 1
