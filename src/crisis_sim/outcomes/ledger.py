"""The encounter ledger: one row per call, built once at the end of a run from the model's records.

The model records, it does not aggregate; every metric is a pure function of these frames.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crisis_sim.model.dispositions import DISPOSITION_LABELS
from crisis_sim.scenario.schema import RISK_LEVELS

if TYPE_CHECKING:
    from crisis_sim.model.crisis_model import CrisisModel

DISPOSITION_CATEGORIES = [*DISPOSITION_LABELS, "non_mh_service", "open"]
LEDGER_COLUMNS = [
    "call_id", "mh", "resident", "crisis", "district", "t_received", "t_dispatched", "t_arrived", "t_cleared",
    "identified_mh", "risk", "assessed_risk", "weapon", "responder", "unit", "disposition", "force",
    "subject_injury", "officer_injury", "ed_wait_min", "officer_min", "referred", "connected", "admitted",
    "program", "eligible", "unserved_reason", "in_warmup",
]  # fmt: skip


def build_ledger(model: CrisisModel) -> pd.DataFrame:
    """All calls of a run, MH and other, sorted by call id; times in minutes from the start."""
    warm = model.cfg.simulation.warmup_days * 24 * 60
    connected = {(r.resident, r.crisis) for r in model.waitlist.referrals if r.attended}
    risk_labels = list(RISK_LEVELS)
    mh = model.mh_calls
    n = len(mh)
    mh_frame = pd.DataFrame(
        {
            "call_id": np.fromiter((c.call_id for c in mh), np.int64, n),
            "mh": np.ones(n, bool),
            "resident": np.fromiter((c.resident for c in mh), np.int64, n),
            "crisis": np.fromiter((c.crisis for c in mh), np.int64, n),
            "district": np.fromiter((c.district for c in mh), np.int64, n),
            "t_received": np.fromiter((c.t_received for c in mh), float, n),
            "t_dispatched": np.fromiter((c.t_dispatched for c in mh), float, n),
            "t_arrived": np.fromiter((c.t_arrived for c in mh), float, n),
            "t_cleared": np.fromiter((c.t_cleared for c in mh), float, n),
            "identified_mh": np.fromiter((c.identified for c in mh), bool, n),
            "risk": pd.Categorical.from_codes([c.risk for c in mh], risk_labels),
            "assessed_risk": pd.Categorical.from_codes([c.assessed_risk for c in mh], risk_labels),
            "weapon": np.fromiter((c.weapon for c in mh), bool, n),
            "responder": [c.responder or "none" for c in mh],
            "unit": np.fromiter((c.unit for c in mh), np.int64, n),
            "disposition": [
                DISPOSITION_LABELS[c.disposition] if not math.isnan(c.t_cleared) else "open" for c in mh
            ],
            "force": np.fromiter((c.force for c in mh), bool, n),
            "subject_injury": np.fromiter((c.subject_injury for c in mh), bool, n),
            "officer_injury": np.fromiter((c.officer_injury for c in mh), bool, n),
            "ed_wait_min": np.fromiter((c.ed_wait for c in mh), float, n),
            "officer_min": np.fromiter((c.officer_min for c in mh), float, n),
            "referred": np.fromiter((c.referred for c in mh), bool, n),
            "connected": np.fromiter(((c.resident, c.crisis) in connected for c in mh), bool, n),
            "admitted": np.fromiter((c.admitted for c in mh), bool, n),
            "program": [c.program for c in mh],
            "eligible": np.fromiter((c.eligible for c in mh), bool, n),
            "unserved_reason": [c.unserved_reason for c in mh],
        }
    )
    rows = model.other_calls
    m = len(rows)
    arr = np.array([r[:7] for r in rows], dtype=float).reshape(m, 7)
    cleared = arr[:, 5]
    other = pd.DataFrame(
        {
            "call_id": arr[:, 0].astype(np.int64),
            "mh": np.zeros(m, bool),
            "resident": np.full(m, -1, np.int64),
            "crisis": np.full(m, -1, np.int64),
            "district": arr[:, 1].astype(np.int64),
            "t_received": arr[:, 2],
            "t_dispatched": arr[:, 3],
            "t_arrived": arr[:, 4],
            "t_cleared": cleared,
            "identified_mh": np.zeros(m, bool),
            "risk": pd.Categorical.from_codes(np.full(m, -1), risk_labels),
            "assessed_risk": pd.Categorical.from_codes(np.full(m, -1), risk_labels),
            "weapon": np.zeros(m, bool),
            "responder": np.where(np.isnan(arr[:, 3]), "none", "patrol"),
            "unit": arr[:, 6].astype(np.int64),
            "disposition": np.where(np.isnan(cleared), "open", "non_mh_service"),
            "force": np.zeros(m, bool),
            "subject_injury": np.zeros(m, bool),
            "officer_injury": np.zeros(m, bool),
            "ed_wait_min": np.full(m, np.nan),
            "officer_min": np.where(np.isnan(cleared), 0.0, (cleared - arr[:, 3]) * model.cfg.police.officers_per_unit),
            "referred": np.zeros(m, bool),
            "connected": np.zeros(m, bool),
            "admitted": np.zeros(m, bool),
            "program": np.full(m, "", dtype=object),
            "eligible": np.zeros(m, bool),
            "unserved_reason": np.full(m, "", dtype=object),
        }
    )
    ledger = pd.concat([mh_frame, other], ignore_index=True).sort_values("call_id", kind="stable")
    ledger["in_warmup"] = ledger["t_received"] < warm
    ledger["disposition"] = pd.Categorical(ledger["disposition"], DISPOSITION_CATEGORIES)
    ledger["responder"] = ledger["responder"].astype("category")
    ledger["district"] = pd.Categorical.from_codes(
        ledger["district"].to_numpy(), [d.name for d in model.cfg.city.districts]
    )
    return ledger.reset_index(drop=True)[LEDGER_COLUMNS]


def build_referrals(model: CrisisModel) -> pd.DataFrame:
    """The waitlist's referrals: who waited how long, who attended; ``t_intake`` is NaN while still waiting."""
    refs = model.waitlist.referrals
    return pd.DataFrame(
        {
            "resident": [r.resident for r in refs],
            "crisis": [r.crisis for r in refs],
            "call_id": [r.call_id for r in refs],
            "t_referred": [r.t_referred for r in refs],
            "t_intake": [r.t_intake for r in refs],
            "priority": [r.priority for r in refs],
            "source": [r.source for r in refs],
            "attended": [r.attended for r in refs],
        }
    )
