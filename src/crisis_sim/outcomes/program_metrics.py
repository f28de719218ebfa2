"""Cross-program outputs from the ledger: who handled MH calls, and how much of the eligible demand the
specialised responders reached (coverage, not effect size, is what caps alternative responses: [nyccomptroller2025], [nlc_star]).

A call is *eligible* when some enabled program's rules admit it (availability aside); it is *served* when a
responder other than patrol attended; otherwise the first program that found it eligible gave the reason.
Coverage counts closed calls only (an open call has no responder yet); it is 0.0 when no call was eligible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crisis_sim.programs import PROGRAMS, series_defaults

UNSERVED_REASONS = ("busy", "off_hours", "out_of_area", "misidentified", "dispatcher_bias")
NOT_SPECIALISED = ("patrol", "none", "")


def program_metrics(mh: pd.DataFrame) -> dict[str, object]:
    """``mh``: the counted (post-warm-up) MH rows of the ledger."""
    responder = mh["responder"].astype(str)
    handled = {"patrol": 0}
    for name, n in responder[responder != "none"].value_counts(sort=False).items():
        handled[str(name)] = int(n)
    closed = mh["disposition"].astype(str) != "open"
    eligible = mh["eligible"].to_numpy(bool) & closed.to_numpy(bool)
    specialised = ~responder.isin(NOT_SPECIALISED).to_numpy(bool)
    n_eligible = int(eligible.sum())
    served = int((eligible & specialised).sum())
    reasons = mh["unserved_reason"].astype(str)[eligible & ~specialised]
    by_reason = dict.fromkeys(UNSERVED_REASONS, 0)
    for name, n in reasons.value_counts(sort=False).items():
        key = str(name) or "other"  # eligible, not served, and no program said why (should not happen)
        by_reason[key] = by_reason.get(key, 0) + int(n)
    return {
        **hourly_coverage(mh, eligible, responder),
        **series_defaults(),  # zeros for absent programs' keys (a program's own figures overwrite these)
        "handled_by": dict(sorted(handled.items())),
        "eligible_mh_calls": n_eligible,
        "specialized_served": served,
        "specialized_coverage": served / n_eligible if n_eligible else 0.0,
        "unserved_eligible_by_reason": by_reason,
    }


def hourly_coverage(mh: pd.DataFrame, eligible: np.ndarray, responder: pd.Series) -> dict[str, object]:
    """Eligible (closed) MH calls by hour of day received, and how many of them each program's responders
    served, by the same hour: ``eligible_by_hour`` (24 counts) and ``served_by_hour`` ({program key: 24 counts},
    programs whose responders served at least one). The report sets these against each program's hours."""
    if not len(mh):
        return {"eligible_by_hour": [0] * 24, "served_by_hour": {}}
    hour = np.floor((mh["t_received"].to_numpy(float) % 1440.0) / 60.0).astype(int)
    out = np.bincount(hour[eligible], minlength=24)[:24]
    served: dict[str, list[int]] = {}
    resp = responder.to_numpy(str)
    for cls in PROGRAMS:
        mask = eligible & np.isin(resp, cls.responders) if cls.responders else None
        if mask is not None and mask.any():
            served[cls.key] = [int(x) for x in np.bincount(hour[mask], minlength=24)[:24]]
    return {"eligible_by_hour": [int(x) for x in out], "served_by_hour": served}


def series_responders() -> tuple[str, ...]:
    """Responder types every monthly series carries (zeros where a program is off), so series compare across
    scenarios: patrol and every registered program's."""
    return ("patrol", *(r for cls in PROGRAMS for r in cls.responders))


def monthly_program_series(
    ledger: pd.DataFrame, referrals: pd.DataFrame, month_days: int, months: pd.Series
) -> pd.DataFrame:
    """Per month (by the call's received time): calls per responder, specialised coverage, eligible calls not
    served by reason, and the mean wait of regular (non-priority) referrals admitted that month."""
    month_min = month_days * 24 * 60
    mh = ledger[ledger["mh"]]
    of_call = (mh["t_received"] // month_min).astype(int) + 1
    rows = []
    for month in months:
        m = program_metrics(mh[of_call == month])
        row = {"month": month, "specialized_coverage": m["specialized_coverage"]}
        handled = m["handled_by"]
        row.update({f"handled_by_{r}": handled.get(r, 0) for r in (*series_responders(), *sorted(handled))})
        row.update({f"unserved_{k}": v for k, v in m["unserved_eligible_by_reason"].items()})
        rows.append(row)
    out = pd.DataFrame(rows)
    wait = float("nan")
    if len(referrals):
        done = referrals[referrals["t_intake"].notna() & (referrals["priority"] != 0)]
        days = (done["t_intake"] - done["t_referred"]) / (24 * 60)
        by_month = days.groupby((done["t_intake"] // month_min).astype(int) + 1).mean()
        out["waitlist_wait_days_regular"] = out["month"].map(by_month)
    else:
        out["waitlist_wait_days_regular"] = wait
    return out
