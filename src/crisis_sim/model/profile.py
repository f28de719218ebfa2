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

    __slots__ = ("rates", "_cum", "_cum_list", "_rates_list", "_inv_list", "_start_list", "_bin_of")

    def __init__(self, hourly: list[float], weekday: list[float]):
        rates = np.outer(np.asarray(weekday, float), np.asarray(hourly, float)).ravel()
        rates = rates / rates.mean()
        self.rates = rates
        self._cum = np.concatenate([[0.0], np.cumsum(rates * HOUR_MIN)])  # op-minutes at each bin start
        self._cum_list = self._cum.tolist()
        self._rates_list = rates.tolist()
        # Lookup tables for the hot path (residents' clocks call both directions thousands of times a day).
        self._inv_list = [1.0 / x if x > 0 else 0.0 for x in self._rates_list]
        self._start_list = [i * HOUR_MIN for i in range(168)]
        # from_op: bisect position -> the bin whose operational-time span holds the point. Zero-rate bins take
        # no operational time, so a point at their edge belongs to the last bin before them with a positive rate.
        bin_of = []
        for pos in range(len(self._cum_list) + 1):
            i = min(max(pos - 1, 0), 167)
            while i > 0 and self._rates_list[i] == 0.0:
                i -= 1
            bin_of.append(i)
        self._bin_of = bin_of

    def to_op(self, t: float) -> float:
        """Operational time at real minute ``t``."""
        weeks, r = divmod(t, WEEK_MIN)
        i = int(r * (1.0 / HOUR_MIN))
        if i > 167:
            i = 167
        return weeks * WEEK_MIN + self._cum_list[i] + self._rates_list[i] * (r - self._start_list[i])

    def from_op(self, op: float) -> float:
        """Real minute at operational time ``op`` (inverse of :meth:`to_op`)."""
        weeks, r = divmod(op, WEEK_MIN)
        i = self._bin_of[bisect.bisect_right(self._cum_list, r)]
        return weeks * WEEK_MIN + self._start_list[i] + (r - self._cum_list[i]) * self._inv_list[i]

    def from_op_many(self, op: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`from_op` for chunks of arrivals."""
        weeks, r = np.divmod(op, WEEK_MIN)
        i = np.asarray(self._bin_of)[np.searchsorted(self._cum, r, side="right")]  # same bin as from_op
        rate = self.rates[i]
        safe = np.where(rate > 0, rate, 1.0)
        within = np.where(rate > 0, (r - self._cum[i]) / safe, 0.0)
        return weeks * WEEK_MIN + i * HOUR_MIN + within
