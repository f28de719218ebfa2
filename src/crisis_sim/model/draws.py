"""Per-entity random sequences: entity i's n-th draw is the same whatever else happens in the run.

Residents come and go from the call stream as programs change their risk; tying each crisis's latent uniforms to
(resident, crisis number) rather than to the order of events keeps common random numbers tight across scenarios.
The first ``k`` rows of every entity are drawn in one block; an entity that needs more gets its own substream.
"""

from __future__ import annotations

import numpy as np

from crisis_sim import rng as rngmod


class PerEntityDraws:
    """Rows of ``width`` uniforms (or unit exponentials) per entity, served in order."""

    __slots__ = ("_root", "_rep", "_stream", "_width", "_k", "_block", "_next", "_overflow", "_exp")

    def __init__(self, root_seed: int, replication: int, stream: str, n: int, k: int, width: int, exp: bool):
        self._root, self._rep, self._stream = root_seed, replication, stream
        self._width, self._k, self._exp = width, k, exp
        g = rngmod.stream(root_seed, replication, stream)
        shape = (n, k, width)
        self._block = g.standard_exponential(shape) if exp else g.random(shape)
        self._next = [0] * n
        self._overflow: dict[int, tuple[np.random.Generator, list[np.ndarray]]] = {}

    def next_row(self, entity: int) -> np.ndarray:
        j = self._next[entity]
        self._next[entity] = j + 1
        if j < self._k:
            return self._block[entity, j]
        return self._overflow_row(entity, j - self._k)

    def _overflow_row(self, entity: int, j: int) -> np.ndarray:
        if entity not in self._overflow:
            g = rngmod.stream(self._root, self._rep, "crisis_overflow", rngmod.STREAMS[self._stream], entity)
            self._overflow[entity] = (g, [])
        g, rows = self._overflow[entity]
        while len(rows) <= j:
            shape = (self._k, self._width)
            rows.extend(g.standard_exponential(shape) if self._exp else g.random(shape))
        return rows[j]
