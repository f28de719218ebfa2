"""Held-out check: later EMS and ED use of the people a program served first, against the same people in the
paired no-program arm.

[bailey2022] found that co-response clients had more EMS encounters at 6 and 12 months (OR 1.71-1.85). The model
is not tuned to this: it is a check of what the mechanisms produce. A person is *first served* when their first
MH call handled by the program (ledger ``program``) falls in the counted period (after warm-up) with the whole
window before the horizon. Their outcome is any use in (index + ``exclude_days``, index + window] — the index
episode's own transport is left out — in the program arm and, for the same person over the same dates, in the
same scenario with the program switched off (common random numbers: the same crises, the same people).

Uses: ``ems`` (an ambulance: a police call's transport by EMS, or a self-presented crisis by ambulance; only with
``[destinations.health_pathway]`` on) and ``ed`` (any ED visit: a police or EMS transport to the ED, or a
self-presented visit). The odds ratio pools the 2x2 table over replications (statsmodels ``Table2x2``, Woolf
interval, which ignores the pairing); the discordant pairs are reported beside it (paired odds ratio n10/n01).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.model.health import EMS_TRANSPORT, SELF_EMS, SELF_WALK_IN
from crisis_sim.scenario import Scenario

USES = ("ems", "ed")
MONTH_DAYS = 365.0 / 12


def use_times(ledger: pd.DataFrame, health: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Each use as (resident, t): ``ems`` and ``ed``, from a run's ledger and its health-event frame."""
    mh = ledger[ledger["mh"]]
    to_ed = mh[mh["destination"].astype(str) == "ed"]
    ed_parts = [pd.DataFrame({"resident": to_ed["resident"].to_numpy(), "t": to_ed["t_received"].to_numpy()})]
    ems = pd.DataFrame({"resident": np.array([], np.int64), "t": np.array([], float)})
    if health is not None and len(health):
        kind = health["kind"].astype(str)
        by_ems = health[kind.isin([EMS_TRANSPORT, SELF_EMS])]
        ems = pd.DataFrame({"resident": by_ems["resident"].to_numpy(), "t": by_ems["t"].to_numpy()})
        self_ed = health[kind.isin([SELF_EMS, SELF_WALK_IN])]
        ed_parts.append(pd.DataFrame({"resident": self_ed["resident"].to_numpy(), "t": self_ed["t"].to_numpy()}))
    return {"ems": ems, "ed": pd.concat(ed_parts, ignore_index=True)}


def first_served(ledger: pd.DataFrame, program: str, warm_min: float, end_min: float) -> pd.Series:
    """Index time (call received) of each person's first call the program handled, when it falls in
    [``warm_min``, ``end_min``]; indexed by resident."""
    served = ledger[ledger["mh"] & (ledger["program"] == program)]
    first = served.groupby("resident")["t_received"].min()
    return first[(first >= warm_min) & (first <= end_min)]


def _any_use(uses: pd.DataFrame, index: pd.Series, lo_min: float, hi_min: float) -> np.ndarray:
    """For each person of ``index``: any use in (index + lo, index + hi]."""
    if not len(index):
        return np.zeros(0, bool)
    u = uses.merge(index.rename("t0"), left_on="resident", right_index=True)
    dt = u["t"] - u["t0"]
    hit = set(u.loc[(dt > lo_min) & (dt <= hi_min), "resident"].tolist())
    return np.fromiter((r in hit for r in index.index), bool, len(index))


def person_outcomes(
    program_run: tuple[pd.DataFrame, pd.DataFrame | None],
    control_run: tuple[pd.DataFrame, pd.DataFrame | None],
    program: str,
    warm_min: float,
    horizon_min: float,
    months: int,
    exclude_days: float = 1.0,
) -> pd.DataFrame:
    """One row per first-served person with a whole ``months`` window: uses in each arm (columns
    ``<use>_program`` and ``<use>_control``)."""
    window = months * MONTH_DAYS * DAY_MIN
    index = first_served(program_run[0], program, warm_min, horizon_min - window)
    uses_p = use_times(*program_run)
    uses_c = use_times(*control_run)
    lo = exclude_days * DAY_MIN
    out = {"resident": index.index.to_numpy(), "t_index": index.to_numpy()}
    for use in USES:
        out[f"{use}_program"] = _any_use(uses_p[use], index, lo, window)
        out[f"{use}_control"] = _any_use(uses_c[use], index, lo, window)
    return pd.DataFrame(out)


def odds_ratio(rows: pd.DataFrame, use: str) -> dict[str, Any]:
    """Pooled odds ratio (program vs control) of any ``use`` over the people in ``rows``, with its Woolf 95%
    interval (0.5 added to every cell when one is zero), and the discordant pairs."""
    from statsmodels.stats.contingency_tables import Table2x2

    p = rows[f"{use}_program"].to_numpy(bool)
    c = rows[f"{use}_control"].to_numpy(bool)
    n = len(rows)
    a, cc = int(p.sum()), int(c.sum())
    out: dict[str, Any] = {"people": n, "program_with_use": a, "control_with_use": cc,
                           "program_only": int((p & ~c).sum()), "control_only": int((c & ~p).sum())}  # fmt: skip
    if n == 0 or (a == 0 and cc == 0) or (a == n and cc == n):
        out.update(odds_ratio=None, low=None, high=None, paired_odds_ratio=None)
        return out
    cells = np.array([[a, n - a], [cc, n - cc]], float)
    if (cells == 0).any():
        cells += 0.5  # Haldane-Anscombe: 0.5 added to every cell when one is zero
    table = Table2x2(cells, shift_zeros=False)
    lo, hi = table.oddsratio_confint()
    out.update(odds_ratio=float(table.oddsratio), low=float(lo), high=float(hi))
    n10, n01 = out["program_only"], out["control_only"]
    out["paired_odds_ratio"] = n10 / n01 if n01 else None  # (none without discordant control-only pairs)
    return out


def ems_check(
    scenario: Scenario,
    program: str = "co_response",
    replications: Sequence[int] | int = 4,
    root_seed: int = 0,
    months: Iterable[int] = (6, 12),
    exclude_days: float = 1.0,
) -> dict[str, Any]:
    """Run the scenario and its no-program arm (``programs.<program>.enabled = false``) over the replications
    and return the odds ratios of later EMS and ED use of first-served people at each window."""
    from crisis_sim.scenario.loader import with_overrides
    from crisis_sim.sim import run_single  # local: analysis sits downstream of the model

    section = getattr(scenario.programs, program, None)
    if section is None or not section.enabled:
        raise ValueError(f"program {program!r}: expected a program the scenario enables")
    reps = list(range(replications)) if isinstance(replications, int) else list(replications)
    months = sorted(set(months))
    if not reps or not months or months[0] < 1:
        raise ValueError("expected at least one replication and months >= 1")
    control = with_overrides(scenario, {f"programs.{program}.enabled": False})
    warm = scenario.simulation.warmup_days * DAY_MIN
    horizon = scenario.simulation.horizon_days * DAY_MIN
    if horizon - warm < months[-1] * MONTH_DAYS * DAY_MIN:
        raise ValueError(
            f"simulation.horizon_days: expected at least warm-up + {months[-1]} months "
            f"({scenario.simulation.warmup_days + months[-1] * MONTH_DAYS:.0f} days), "
            f"found {scenario.simulation.horizon_days}"
        )
    per_window: dict[int, list[pd.DataFrame]] = {m: [] for m in months}
    for r in reps:
        a = run_single(scenario, r, root_seed)
        b = run_single(control, r, root_seed)
        for m in months:
            rows = person_outcomes((a.ledger, a.health), (b.ledger, b.health), program, warm, horizon, m,
                                   exclude_days)  # fmt: skip
            per_window[m].append(rows.assign(replication=r))
    result: dict[str, Any] = {
        "scenario": scenario.name, "program": program, "replications": reps, "root_seed": root_seed,
        "exclude_days": exclude_days, "health_pathway": scenario.destinations.health_pathway.enabled,
        "windows": {},
    }  # fmt: skip
    for m in months:
        rows = pd.concat(per_window[m], ignore_index=True)
        result["windows"][f"{m}m"] = {use: odds_ratio(rows, use) for use in USES}
    return result
