"""Outcomes by group ([population.groups]): the ledger's ``group_<attribute>`` columns and the summary's
``by_group.<attribute>.<category>.<metric>``.

Counts are over the counted period (after warm-up), for MH calls; ``<count>_per_1000`` divides by the group's
modelled at-risk residents (per 1,000 residents of the group over the counted period); ``*_rate`` metrics are per
MH call of the group. Only present when the switch is on, so ledgers and summaries are unchanged when it is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crisis_sim.outcomes.repeats import _rate

if TYPE_CHECKING:
    from crisis_sim.model.groups import Groups

# by_group counts (each also as <name>_per_1000) and per-call rates, from the ledger's MH rows.
GROUP_COUNTS = (
    "mh_calls", "mh_identified", "arrests", "use_of_force", "injuries", "involuntary_holds", "ed_transports",
    "program_responses", "referrals", "connected_to_services",
)  # fmt: skip


def group_column(attribute: str) -> str:
    return f"group_{attribute}"


def add_group_columns(ledger: pd.DataFrame, groups: Groups) -> pd.DataFrame:
    """The ledger with one categorical column per attribute (the calling resident's category; empty for non-MH)."""
    resident = ledger["resident"].to_numpy()
    known = resident >= 0
    out = ledger.copy()
    for name, codes in groups.codes.items():
        col = np.full(len(ledger), -1, np.int64)
        col[known] = codes[resident[known]]
        out[group_column(name)] = pd.Categorical.from_codes(col, list(groups.categories[name]))
    return out


def _counts(mh: pd.DataFrame) -> dict[str, int]:
    disp = mh["disposition"].astype(str).to_numpy()
    return {
        "mh_calls": len(mh),
        "mh_identified": int(mh["identified_mh"].sum()),
        "arrests": int((disp == "arrest").sum()),
        "use_of_force": int(mh["force"].sum()),
        "injuries": int(mh["subject_injury"].sum() + mh["officer_injury"].sum()),
        "involuntary_holds": int((disp == "involuntary").sum()),
        "ed_transports": int((mh["destination"].astype(str) == "ed").sum()),
        "program_responses": int((mh["program"].astype(str) != "").sum()),
        "referrals": int(mh["referred"].sum()),
        "connected_to_services": int(mh["connected"].sum()),
    }


def by_group(ledger: pd.DataFrame, groups: Groups) -> dict[str, dict[str, dict[str, float | int]]]:
    """``{attribute: {category: {metric: value}}}`` for the counted MH calls of a ledger with group columns."""
    counted = ledger[ledger["mh"] & ~ledger["in_warmup"]]
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for name, codes in groups.codes.items():
        cats = groups.categories[name]
        residents = np.bincount(codes, minlength=len(cats))
        n_all = int(residents.sum())
        col = counted[group_column(name)]
        table: dict[str, dict[str, float | int]] = {}
        for i, cat in enumerate(cats):
            n = int(residents[i])
            c = _counts(counted[(col == cat).to_numpy()])
            row: dict[str, float | int] = {"residents": n, "resident_share": _rate(n, n_all), **c}
            for k in GROUP_COUNTS:
                row[f"{k}_per_1000"] = 1000.0 * _rate(c[k], n)
            row["identified_rate"] = _rate(c["mh_identified"], c["mh_calls"])
            row["arrest_rate"] = _rate(c["arrests"], c["mh_calls"])
            row["force_rate"] = _rate(c["use_of_force"], c["mh_calls"])
            row["hold_rate"] = _rate(c["involuntary_holds"], c["mh_calls"])
            row["program_share"] = _rate(c["program_responses"], c["mh_calls"])
            table[cat] = row
        out[name] = table
    return out
