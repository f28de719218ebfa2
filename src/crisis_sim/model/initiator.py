"""Who initiated an MH call, and by which channel ([channels.record_initiator]; issue 13, item 6).

Descriptive only: nothing in the run reads the initiator. Each crisis's initiator is drawn from the shares of its
channel (``by_911`` for a 911 call, ``by_line`` for a crisis that reached the 988/crisis line, transferred or not)
with one uniform tied to (resident, crisis number) from the ``initiator`` stream, drawn in one block per run. The
draw is made when the ledger is built, so the switch moves no other random number and no event: the ledger's other
columns stay bit-identical with it on or off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crisis_sim.model.draws import PerEntityDraws
from crisis_sim.scenario.channels import INITIATORS, LINE_INITIATORS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crisis_sim.model.calls import Call
    from crisis_sim.scenario.channels import RecordInitiator

ROWS = 4  # rows pre-drawn per resident; later crises come from per-resident overflow substreams


def pick(u: float, keys: tuple[str, ...], shares: dict[str, float]) -> int:
    """Index in ``INITIATORS`` of the first key whose cumulative share exceeds ``u`` (the last key if rounding
    leaves ``u`` above the total)."""
    acc = 0.0
    for key in keys:
        acc += shares[key]
        if u < acc:
            return INITIATORS.index(key)
    return INITIATORS.index(keys[-1])


def initiator_codes(cfg: RecordInitiator, calls: Sequence[Call], n_residents: int, root_seed: int,
                    replication: int) -> np.ndarray:  # fmt: skip
    """Index in ``INITIATORS`` of each MH call's initiator, in the order of ``calls``."""
    draws = PerEntityDraws(root_seed, replication, "initiator", n_residents, ROWS, 1, exp=False)
    out = np.empty(len(calls), np.int64)
    for i, c in enumerate(calls):
        u = draws.row(c.resident, c.crisis - 1)[0]
        if c.channel == "911":
            out[i] = pick(u, INITIATORS, cfg.by_911)
        else:  # "988" or "988_to_911": whoever reached the line
            out[i] = pick(u, LINE_INITIATORS, cfg.by_line)
    return out
