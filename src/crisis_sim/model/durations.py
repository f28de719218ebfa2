"""Durations by inverse CDF: a latent uniform from the call becomes minutes under the scenario's distribution.

Drawing the uniform from the call's own stream and transforming it here keeps common random numbers: the same
call gets the same quantile of on-scene time in every scenario, even when the distribution differs.

Same result on every CPU: numpy's float64 ``exp``/``log``/``log1p`` on arrays dispatch to SIMD kernels (AVX-512
on machines that have it) whose results differ in the last bit from the scalar C library routine. The samplers
here therefore apply :mod:`math` (the C library's scalar ``exp``/``log1p``) element by element, vectorised or not,
so a chunk of durations is bit-identical to the same durations drawn one at a time and to the same run on a
machine with another vector unit. ``scipy.special.ndtri`` has no SIMD dispatch and is used on arrays as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

from crisis_sim.scenario.schema import ExponentialDuration, FixedDuration, LogNormalDuration

_U_MAX = 1.0 - 1e-12
exp, log1p = math.exp, math.log1p


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
        return lambda u: np.array([-mean * log1p(-x) for x in np.minimum(u, _U_MAX).tolist()], dtype=float)
    median, sigma = float(dist.median_min), float(dist.sigma)
    return lambda u: np.array(
        [median * exp(sigma * z) for z in ndtri(np.clip(u, 1e-12, _U_MAX)).tolist()], dtype=float
    )


def mean_minutes(dist: LogNormalDuration | ExponentialDuration | FixedDuration) -> float:
    return float(dist.mean_min)
