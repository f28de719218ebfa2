"""Weekly rate profiles as a time change: 'operational time' runs fast when calls are frequent.

A Poisson process of unit rate in operational time, mapped back to real minutes, is an inhomogeneous Poisson
process with the hour-of-day x day-of-week shape. This lets residents' crisis clocks stay event-driven (one
scheduled event per crisis) while following the daily curve exactly.
"""

from __future__ import annotations

import bisect

import numpy as np

WEEK_MIN = 7 * 24 * 60
HOUR_MIN = 60


class WeeklyProfile:
    """Piecewise-constant weekly intensity (168 hourly bins, mean 1); day 0 of a run is a Monday, 00:00."""

    __slots__ = ("rates", "_cum", "_cum_list", "_rates_list")

    def __init__(self, hourly: list[float], weekday: list[float]):
        rates = np.outer(np.asarray(weekday, float), np.asarray(hourly, float)).ravel()
        rates = rates / rates.mean()
        self.rates = rates
        self._cum = np.concatenate([[0.0], np.cumsum(rates * HOUR_MIN)])  # op-minutes at each bin start
        self._cum_list = self._cum.tolist()
        self._rates_list = rates.tolist()

    def to_op(self, t: float) -> float:
        """Operational time at real minute ``t``."""
        weeks, r = divmod(t, WEEK_MIN)
        i = int(r // HOUR_MIN)
        if i > 167:
            i = 167
        return weeks * WEEK_MIN + self._cum_list[i] + self._rates_list[i] * (r - i * HOUR_MIN)

    def from_op(self, op: float) -> float:
        """Real minute at operational time ``op`` (inverse of :meth:`to_op`)."""
        weeks, r = divmod(op, WEEK_MIN)
        i = bisect.bisect_right(self._cum_list, r) - 1
        while i > 0 and self._rates_list[i] == 0.0:  # zero-rate bins take no operational time
            i -= 1
        i = min(max(i, 0), 167)
        rate = self._rates_list[i]
        within = (r - self._cum_list[i]) / rate if rate > 0 else 0.0
        return weeks * WEEK_MIN + i * HOUR_MIN + within

    def from_op_many(self, op: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`from_op` for chunks of arrivals."""
        weeks, r = np.divmod(op, WEEK_MIN)
        i = np.clip(np.searchsorted(self._cum, r, side="right") - 1, 0, 167)
        rate = self.rates[i]
        safe = np.where(rate > 0, rate, 1.0)
        within = np.where(rate > 0, (r - self._cum[i]) / safe, 0.0)
        return weeks * WEEK_MIN + i * HOUR_MIN + within
