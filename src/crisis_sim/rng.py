"""Named random streams for common random numbers (CRN).

Every stochastic quantity draws from its own stream, keyed by ``(replication, stream id)`` under the user's root
seed and never by the scenario. Two scenarios run with the same replication index therefore see the same crises,
the same people and the same per-call latent uniforms; a program switched on changes who responds, not which
crises happen. Draws are made in chunks because a scalar draw costs ~70x a batched one.
"""

from __future__ import annotations

import numpy as np

# Stable ids: never renumber, only append (renumbering silently changes every result).
STREAMS: dict[str, int] = {
    "population": 1,  # at-risk residents' attributes
    "crisis_clocks": 2,  # per-resident unit-rate exponential clocks for crises
    "crisis_latents": 3,  # per-resident, per-crisis latent uniforms (identification, risk, disposition...)
    "other_calls": 4,  # non-MH police calls: arrival gaps and attributes
    "ed_background": 5,  # psychiatric ED arrivals that do not come from police
    "crisis_overflow": 6,  # per-resident extension blocks when a resident exceeds the pre-drawn crises
    "staff": 7,  # staff attributes (CIT training, awareness)
    "programs": 8,  # base id for program-owned streams (see ``program_stream``)
    "events": 9,  # timeline events
}


def seed_sequence(root_seed: int, replication: int, stream: str, *extra: int) -> np.random.SeedSequence:
    """SeedSequence for a named stream; ``extra`` keys give per-entity substreams."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(replication), STREAMS[stream], *map(int, extra)))


def stream(root_seed: int, replication: int, name: str, *extra: int) -> np.random.Generator:
    """A fresh generator for the named stream."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root_seed, replication, name, *extra)))


def program_stream(root_seed: int, replication: int, program_key: int, *extra: int) -> np.random.Generator:
    """Stream owned by a program; ``program_key`` is the program's stable numeric key."""
    return stream(root_seed, replication, "programs", program_key, *extra)


class ChunkedUniform:
    """Uniform(0,1) draws served one at a time from pre-drawn chunks."""

    __slots__ = ("_rng", "_buf", "_i", "_n")

    def __init__(self, rng: np.random.Generator, chunk: int = 4096):
        self._rng = rng
        self._n = chunk
        self._buf = rng.random(chunk).tolist()
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == self._n:
            self._buf = self._rng.random(self._n).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class ChunkedExponential:
    """Exponential(1) draws served one at a time from pre-drawn chunks."""

    __slots__ = ("_rng", "_buf", "_i", "_n")

    def __init__(self, rng: np.random.Generator, chunk: int = 4096):
        self._rng = rng
        self._n = chunk
        self._buf = rng.standard_exponential(chunk).tolist()
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == self._n:
            self._buf = self._rng.standard_exponential(self._n).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
