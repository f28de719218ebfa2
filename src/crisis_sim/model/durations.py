"""Durations by inverse CDF: a latent uniform from the call becomes minutes under the scenario's distribution.

Drawing the uniform from the call's own stream and transforming it here keeps common random numbers: the same
call gets the same quantile of on-scene time in every scenario, even when the distribution differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

from crisis_sim.scenario.schema import ExponentialDuration, FixedDuration, LogNormalDuration

_U_MAX = 1.0 - 1e-12


def scalar_sampler(dist: LogNormalDuration | ExponentialDuration | FixedDuration) -> Callable[[float], float]:
    """A function from a uniform in [0, 1) to minutes."""
    if isinstance(dist, FixedDuration):
        minutes = float(dist.minutes)
        return lambda u: minutes
    if isinstance(dist, ExponentialDuration):
        mean = float(dist.mean_min)
        return lambda u: -mean * math.log1p(-min(u, _U_MAX))
    median, sigma = float(dist.median_min), float(dist.sigma)
    return lambda u: median * math.exp(sigma * float(ndtri(min(max(u, 1e-12), _U_MAX))))


def vector_sampler(dist: LogNormalDuration | ExponentialDuration | FixedDuration) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised :func:`scalar_sampler` for chunks."""
    if isinstance(dist, FixedDuration):
        minutes = float(dist.minutes)
        return lambda u: np.full(np.shape(u), minutes)
    if isinstance(dist, ExponentialDuration):
        mean = float(dist.mean_min)
        return lambda u: -mean * np.log1p(-np.minimum(u, _U_MAX))
    median, sigma = float(dist.median_min), float(dist.sigma)
    return lambda u: median * np.exp(sigma * ndtri(np.clip(u, 1e-12, _U_MAX)))


def mean_minutes(dist: LogNormalDuration | ExponentialDuration | FixedDuration) -> float:
    return float(dist.mean_min)
