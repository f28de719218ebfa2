"""Outreach clients' calls before and after selection, beside the same persons without the program (regression to
the mean made visible).

A pre–post comparison of people chosen for a high recent count of police contacts (Houston's CCSI: police events
553 → 169 for 30 frequent contacts, [houston_ccsi]) mixes the program's effect with regression to the mean: a count
that was high partly by chance falls anyway. With common random numbers the same crises happen in a paired arm
without the program, so the same persons' calls there show the drop that selection alone produces, and the paired
difference after the index date is the program's effect in the model (an input, not a finding: docs/mechanisms.md).

For every client of ``[programs.outreach]`` (a patrol report call by call, or the frequent-contact list), with a
full window on both sides of the index date (selection, or the first home visit):

- ``before_program`` / ``after_program``: MH calls in the ``window_days`` before / after, in the program arm;
- ``before_none`` / ``after_none``: the same person's calls over the same dates in the paired no-program arm;
- the pre–post change in each arm, and the paired effect ``after_program - after_none``.

:func:`selection_effect` runs the pairs (program on, program off; same replications and root seed) on the
experiments executor (processes or Dask); :func:`paired_client_calls` and :func:`summarise_selection` are the pure
parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from crisis_sim.experiments.compare import t_interval
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.scenario.loader import with_overrides
from crisis_sim.scenario.schema import Scenario

Index = Literal["selection", "first_visit"]
INDEXES = ("selection", "first_visit")
CLIENT_COLUMNS = ("resident", "t_selected", "t_first_visit")
COUNT_COLUMNS = ("before_program", "after_program", "before_none", "after_none")


def client_table(model: Any) -> pd.DataFrame:
    """The outreach clients of a finished run: resident, time selected, time of the first home visit (NaN: none).

    A resident referred again after a closed case (call by call) counts once, from the first case. Empty when the
    scenario has no outreach program."""
    for program in model.programs:
        if program.key == "outreach":
            table = pd.DataFrame(program.clients(), columns=list(CLIENT_COLUMNS))
            return table.drop_duplicates("resident", keep="first").reset_index(drop=True)
    return pd.DataFrame({c: pd.Series(dtype=float) for c in CLIENT_COLUMNS})


def _calls_in(times_by_resident: dict[int, np.ndarray], resident: int, lo: float, hi: float, left: bool) -> int:
    """Calls of ``resident`` in [lo, hi) when ``left`` else (lo, hi]."""
    t = times_by_resident.get(resident)
    if t is None:
        return 0
    side = ("left", "left") if left else ("right", "right")
    return int(np.searchsorted(t, hi, side[1]) - np.searchsorted(t, lo, side[0]))


def _times(ledger: pd.DataFrame) -> dict[int, np.ndarray]:
    mh = ledger[ledger["mh"]]
    return {int(res): np.sort(g.to_numpy()) for res, g in mh.groupby("resident")["t_received"]}


def paired_client_calls(
    clients: pd.DataFrame,
    program_ledger: pd.DataFrame,
    none_ledger: pd.DataFrame,
    horizon_days: float,
    window_days: float = 365.0,
    index: Index = "selection",
) -> pd.DataFrame:
    """One row per client with a full window on both sides of the index date: the four call counts."""
    if index not in INDEXES:
        raise ValueError(f"index to be one of {INDEXES}, found {index!r}")
    w = window_days * DAY_MIN
    horizon = horizon_days * DAY_MIN
    col = "t_selected" if index == "selection" else "t_first_visit"
    t_idx = clients[col].to_numpy(dtype=float)
    keep = np.isfinite(t_idx) & (t_idx - w >= 0) & (t_idx + w <= horizon)
    prog, none = _times(program_ledger), _times(none_ledger)
    rows = []
    for res, t in zip(clients["resident"].to_numpy()[keep].tolist(), t_idx[keep].tolist(), strict=True):
        rows.append(
            (res, t / DAY_MIN,
             _calls_in(prog, res, t - w, t, True), _calls_in(prog, res, t, t + w, False),
             _calls_in(none, res, t - w, t, True), _calls_in(none, res, t, t + w, False))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["resident", "index_day", *COUNT_COLUMNS])


def _change(after: float, before: float) -> float:
    return after / before - 1.0 if before else math.nan


def _per_replication(per_client: pd.DataFrame) -> pd.DataFrame:
    sums = per_client.groupby("replication")[list(COUNT_COLUMNS)].sum()
    out = pd.DataFrame(index=sums.index)
    out["clients"] = per_client.groupby("replication").size()
    out["prepost_program"] = [_change(a, b) for a, b in zip(sums["after_program"], sums["before_program"], strict=True)]
    out["prepost_none"] = [_change(a, b) for a, b in zip(sums["after_none"], sums["before_none"], strict=True)]
    out["effect"] = [_change(a, b) for a, b in zip(sums["after_program"], sums["after_none"], strict=True)]
    out["effect_per_client"] = (sums["after_program"] - sums["after_none"]) / out["clients"]
    return out


def summarise_selection(per_client: pd.DataFrame, level: float = 0.95) -> dict[str, Any]:
    """Totals over all clients and replications, with t-intervals over replications for the relative changes.

    ``prepost_program``: (after / before - 1) in the program arm, what a pre–post evaluation reports;
    ``prepost_none``: the same in the no-program arm (regression to the mean, plus any trend);
    ``effect``: after in the program arm / after in the no-program arm - 1 (the program's effect in the model);
    ``effect_per_client``: calls per client averted (negative) or added in the window after the index date."""
    totals = {c: int(per_client[c].sum()) for c in COUNT_COLUMNS}
    n = len(per_client)
    out: dict[str, Any] = {
        "clients": n,
        "replications": int(per_client["replication"].nunique()) if n else 0,
        **totals,
        **{f"mean_{c}": (totals[c] / n if n else None) for c in COUNT_COLUMNS},
        "prepost_program": _nan_none(_change(totals["after_program"], totals["before_program"])),
        "prepost_none": _nan_none(_change(totals["after_none"], totals["before_none"])),
        "effect": _nan_none(_change(totals["after_program"], totals["after_none"])),
        "effect_per_client": (totals["after_program"] - totals["after_none"]) / n if n else None,
    }
    reps = _per_replication(per_client) if n else pd.DataFrame()
    intervals = {}
    for name in ("prepost_program", "prepost_none", "effect", "effect_per_client"):
        _, lo, hi = t_interval(reps[name].to_numpy(dtype=float), level) if n else (math.nan,) * 3
        intervals[name] = [_nan_none(lo), _nan_none(hi)]
    out["interval"] = intervals  # over replications (run-to-run), level as given
    out["level"] = level
    return out


def _nan_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass(frozen=True)
class SelectionTask:
    """One replication of the paired arms (picklable; runs in a worker)."""

    program: Scenario
    none: Scenario
    replication: int
    root_seed: int
    window_days: float
    index: str


def no_program_arm(scenario: Scenario) -> Scenario:
    """The same scenario with the outreach program off (everything else, and the random streams, unchanged)."""
    return with_overrides(scenario, {"programs.outreach.enabled": False}, label=f"{scenario.name} without outreach")


def run_pair(task: SelectionTask) -> pd.DataFrame:
    """Both arms of one replication; the per-client counts (a small frame) with the replication index."""
    from crisis_sim.sim import simulate

    model, prog = simulate(task.program, task.replication, task.root_seed)
    clients = client_table(model)
    none = simulate(task.none, task.replication, task.root_seed)[1]
    out = paired_client_calls(clients, prog.ledger, none.ledger, task.program.simulation.horizon_days,
                              task.window_days, task.index)  # type: ignore[arg-type]  # fmt: skip
    out.insert(0, "replication", task.replication)
    return out


def selection_effect(
    scenario: Scenario,
    replications: int = 4,
    root_seed: int = 0,
    window_days: float = 365.0,
    index: Index = "selection",
    executor: str = "processes",
    workers: int = 1,
    scheduler: str | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run ``replications`` pairs (program on / off) and return (summary, per-client counts).

    The scenario must enable ``[programs.outreach]``; its horizon must leave a full ``window_days`` on both sides of
    some clients' index dates (e.g. a frequent-contact list from day 365 and a horizon of at least two years)."""
    if getattr(scenario.programs, "outreach", None) is None or not scenario.programs.outreach.enabled:
        raise ValueError(f"scenario {scenario.name!r}: selection_effect needs [programs.outreach] enabled")
    if index not in INDEXES:
        raise ValueError(f"index to be one of {INDEXES}, found {index!r}")
    if 2 * window_days > scenario.simulation.horizon_days:
        raise ValueError(
            f"simulation.horizon_days ({scenario.simulation.horizon_days}) to be at least twice window_days "
            f"({window_days:g}), so that a client can have a full window before and after"
        )
    none = no_program_arm(scenario)
    tasks = [SelectionTask(scenario, none, r, root_seed, window_days, index) for r in range(replications)]
    if workers <= 1 and executor == "processes" and scheduler is None:
        frames = [run_pair(t) for t in tasks]
    else:
        from crisis_sim.experiments.executors import make_executor

        pool = make_executor(executor, workers, scheduler)
        try:
            frames = list(pool.run(run_pair, tasks))
        finally:
            pool.close()
    per_client = pd.concat(frames, ignore_index=True).sort_values(["replication", "index_day", "resident"])
    per_client = per_client.reset_index(drop=True)
    summary = summarise_selection(per_client)
    summary.update(scenario=scenario.name, root_seed=root_seed, window_days=window_days, index=index,
                   selection=scenario.programs.outreach.selection)  # fmt: skip
    return summary, per_client
