"""The non-MH police call stream: pre-drawn flat arrays, not one SimPy process per call.

Non-MH calls compete with MH calls for the same patrol units. Arrival times are drawn in chunks on operational time
(the weekly profile), so a demand change is a time change of the same stream: runs stay paired call by call.
"""

from __future__ import annotations

from array import array
from functools import partial

import numpy as np
import simpy

from crisis_sim import rng as rngmod
from crisis_sim.model.agents import PatrolOfficer
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.durations import vector_sampler
from crisis_sim.model.profile import WeeklyProfile


class OtherCalls:
    """The non-MH call stream (a part of :class:`~crisis_sim.model.crisis_model.CoreModel`)."""

    def _start_other_calls(self) -> None:
        sc = self.cfg
        # Columns indexed by the call's position in the non-MH stream, extended a chunk at a time ahead of the
        # arrivals (flat arrays: no object per call, nothing for the garbage collector to walk). Only the first
        # ``_oc_n`` entries have arrived.
        self._oc_n = 0
        self._oc_id = array("q")  # call id (-1 until the call arrives)
        self._oc_district = array("q")
        self._oc_t = array("d")  # planned arrival; the actual arrival time once it has arrived
        self._oc_travel = array("d")
        self._oc_service = array("d")  # travel + on scene
        self._oc_dispatched = array("d")
        self._oc_cleared = array("d")
        self._oc_unit: list[PatrolOfficer | None] = []
        # Demand events on non-MH calls (crisis_sim.scenario.timeline, ``non_mh = true``) change the rate by a time change:
        # the pre-drawn stream's cumulative operational times D_k stay the same and call k arrives when the
        # scaled clock D(t) = D_c + (op(t) - op_c) x factor reaches D_k, so every call keeps its draws (district,
        # travel, on scene) and every call before the change keeps its time. None: factor 1 since the start.
        self._oc_map: tuple[float, float, float] | None = None  # (D_c, op_c, factor) from the last change
        self._oc_chunk_start = 0  # index of the last pre-drawn chunk's first call, and its D values
        self._oc_chunk_ops: np.ndarray | None = None
        self._oc_next_ev: simpy.Event | None = None  # the pending arrival event (re-timed at a change)
        self.other_rate = (
            sc.city.population
            / 1000
            * sc.demand.police_calls_per_1000_per_day
            * (1 - sc.demand.mh_share)
            / DAY_MIN
        )
        if self.other_rate <= 0:
            return
        self._other_rng = rngmod.stream(self.root_seed, self.replication, "other_calls")
        self._other_profile = WeeklyProfile(sc.demand.other_hourly_profile, sc.demand.other_weekday_profile)
        self._other_scene = vector_sampler(sc.demand.other_on_scene)
        self._other_travel = [vector_sampler(d.travel_time) for d in sc.city.districts]
        self._other_cum_share = np.cumsum([d.population_share for d in sc.city.districts])
        self._other_op = 0.0
        self._refill_other()
        ev = self._oc_next_ev = self.env.timeout(self._oc_t[0])
        ev.callbacks.append(self._other_arrival)

    def _refill_other(self, n: int = 8192) -> None:
        g = self._other_rng
        gaps = g.standard_exponential(n) / self.other_rate
        ops = self._other_op + np.cumsum(gaps)
        self._other_op = float(ops[-1])
        self._oc_chunk_start = len(self._oc_t)
        self._oc_chunk_ops = ops
        if (
            self._oc_map is not None
        ):  # a demand event changed the rate: map the scaled clock to operational time
            d_c, op_c, factor = self._oc_map
            ops = op_c + (ops - d_c) / factor
        u = g.random((n, 3))
        district = np.minimum(
            np.searchsorted(self._other_cum_share, u[:, 0], side="right"), len(self._other_travel) - 1
        )
        travel = np.zeros(n)
        for d, sampler in enumerate(self._other_travel):
            mask = district == d
            travel[mask] = sampler(u[mask, 1])
        self._oc_t.frombytes(self._other_profile.from_op_many(ops).astype(np.float64).tobytes())
        self._oc_district.frombytes(district.astype(np.int64).tobytes())
        self._oc_travel.frombytes(travel.tobytes())
        self._oc_service.frombytes((travel + self._other_scene(u[:, 2])).astype(np.float64).tobytes())
        self._oc_id.frombytes(np.full(n, -1, np.int64).tobytes())
        nan = np.full(n, np.nan).tobytes()
        self._oc_dispatched.frombytes(nan)
        self._oc_cleared.frombytes(nan)
        self._oc_unit.extend([None] * n)

    def _other_arrival(self, _ev) -> None:
        k = self._oc_n
        self._oc_n = k + 1
        env = self.env
        now = env.now
        self._oc_t[k] = now
        self._oc_id[k] = self._next_call_id
        self._next_call_id += 1
        pool = self.patrol[self._oc_district[k]]
        officer = pool.take_idle()
        if officer is None:  # wait in the district's queue
            pool.request().callbacks.append(partial(self._other_dispatched, k))
        else:  # dispatched at once: the next event of this call is its end
            self._oc_unit[k] = officer
            self._oc_dispatched[k] = now
            env.timeout(self._oc_service[k], k).callbacks.append(self._other_done)
        k += 1
        if k == len(self._oc_t):
            self._refill_other()
        ev = self._oc_next_ev = env.timeout(self._oc_t[k] - now)
        ev.callbacks.append(self._other_arrival)

    def set_other_rate_factor(self, factor: float) -> None:
        """Non-MH calls arrive at ``factor`` x the base rate from now (timeline demand events with ``non_mh``).

        A time change of the pre-drawn stream (see ``_oc_map``): the calls not yet arrived are re-timed, none is
        added, dropped or redrawn, and nothing is drawn, so runs stay paired by call index."""
        if self.other_rate <= 0 or self._oc_next_ev is None:
            return
        d_c, op_c, old = self._oc_map or (0.0, 0.0, 1.0)
        if factor == old:
            return
        env = self.env
        now = env.now
        op_now = self._other_profile.to_op(now)
        d_now = d_c + (op_now - op_c) * old
        self._oc_map = (d_now, op_now, factor)
        k = self._oc_n  # first call not yet arrived; all of them are in the last chunk
        raw = self._oc_chunk_ops[k - self._oc_chunk_start :]
        t = np.maximum(self._other_profile.from_op_many(op_now + (raw - d_now) / factor), now)
        self._oc_t[k:] = array("d", t.astype(np.float64).tobytes())
        self._oc_next_ev.callbacks.remove(self._other_arrival)
        ev = self._oc_next_ev = env.timeout(self._oc_t[k] - now)
        ev.callbacks.append(self._other_arrival)

    def _other_dispatched(self, k: int, ev) -> None:
        self._oc_unit[k] = ev.value
        self._oc_dispatched[k] = self.env.now
        self.env.timeout(self._oc_service[k], k).callbacks.append(self._other_done)

    def _other_done(self, ev) -> None:
        k = ev.value
        now = self.env.now
        self._oc_cleared[k] = now
        self.counters["calls"] += 1
        self.patrol[self._oc_district[k]].release(self._oc_unit[k], now - self._oc_dispatched[k])

    def other_call_columns(self) -> dict[str, np.ndarray]:
        """The non-MH calls that have arrived, as arrays (times in minutes; ``unit`` -1 while undispatched)."""
        n = self._oc_n
        dispatched = np.frombuffer(self._oc_dispatched, np.float64)[:n].copy()
        return {
            "call_id": np.frombuffer(self._oc_id, np.int64)[:n].copy(),
            "district": np.frombuffer(self._oc_district, np.int64)[:n].copy(),
            "t_received": np.frombuffer(self._oc_t, np.float64)[:n].copy(),
            "t_dispatched": dispatched,
            "t_arrived": dispatched + np.frombuffer(self._oc_travel, np.float64)[:n],
            "t_cleared": np.frombuffer(self._oc_cleared, np.float64)[:n].copy(),
            "unit": np.fromiter((-1 if o is None else o.unique_id for o in self._oc_unit[:n]), np.int64, n),
        }

    @property
    def other_calls(self) -> list[list]:
        """Non-MH calls as rows [call_id, district, t_received, t_dispatched, t_arrived, t_cleared, unit] (slow:
        for inspection; the ledger reads :meth:`other_call_columns`)."""
        cols = self.other_call_columns()
        return [list(row) for row in zip(*(cols[k].tolist() for k in cols), strict=True)]
