"""Per-entity random sequences: entity i's n-th draw is the same whatever else happens in the run.

Residents come and go from the call stream as programs change their risk; tying each crisis's latent uniforms to
(resident, crisis number) rather than to the order of events keeps common random numbers tight across scenarios.
The first ``k`` rows of every entity are drawn in one block; an entity that needs more gets its own substream.

Two ways to read: :meth:`PerEntityDraws.next_row` serves whole rows in order (a crisis's latent uniforms), and
:meth:`PerEntityDraws.next_value` serves each column in order with its own cursor (independent clocks that share
a block, e.g. crisis and distress clocks: the n-th distress sojourn does not depend on how many crises came
before it). Use one way per instance.
"""

from __future__ import annotations

import numpy as np

from crisis_sim import rng as rngmod


class PerEntityDraws:
    """Rows of ``width`` uniforms (or unit exponentials) per entity, served in order."""

    __slots__ = (
        "_root",
        "_rep",
        "_stream",
        "_width",
        "_k",
        "_block",
        "_next",
        "_col_next",
        "_overflow",
        "_exp",
    )

    def __init__(self, root_seed: int, replication: int, stream: str, n: int, k: int, width: int, exp: bool):
        self._root, self._rep, self._stream = root_seed, replication, stream
        self._width, self._k, self._exp = width, k, exp
        g = rngmod.stream(root_seed, replication, stream)
        shape = (n, k, width)
        self._block = g.standard_exponential(shape) if exp else g.random(shape)
        self._next = [0] * n
        self._col_next = [[0] * n for _ in range(width)]
        self._overflow: dict[int, tuple[np.random.Generator, list[np.ndarray]]] = {}

    def next_row(self, entity: int) -> list[float]:
        """The entity's next row, as a list of Python floats (cheap to index in the hot path)."""
        j = self._next[entity]
        self._next[entity] = j + 1
        if j < self._k:
            return self._block[entity, j].tolist()
        return self._overflow_row(entity, j - self._k).tolist()

    def next_value(self, entity: int, col: int) -> float:
        """The entity's next draw in column ``col`` (each column has its own cursor)."""
        cursor = self._col_next[col]
        j = cursor[entity]
        cursor[entity] = j + 1
        if j < self._k:
            return float(self._block[entity, j, col])
        return float(self._overflow_row(entity, j - self._k)[col])

    def row(self, entity: int, j: int) -> list[float]:
        """The entity's row ``j`` (0-based), read without moving any cursor: random access by (entity, j), so a
        decision keyed by (resident, crisis number) sees the same draw whoever asks first, or whether anyone does."""
        if j < self._k:
            return self._block[entity, j].tolist()
        return self._overflow_row(entity, j - self._k).tolist()

    def _overflow_row(self, entity: int, j: int) -> np.ndarray:
        if entity not in self._overflow:
            g = rngmod.stream(self._root, self._rep, "crisis_overflow", rngmod.STREAMS[self._stream], entity)
            self._overflow[entity] = (g, [])
        g, rows = self._overflow[entity]
        while len(rows) <= j:  # whole blocks in order, so row j is the same whichever reader asks first
            shape = (self._k, self._width)
            rows.extend(g.standard_exponential(shape) if self._exp else g.random(shape))
        return rows[j]
