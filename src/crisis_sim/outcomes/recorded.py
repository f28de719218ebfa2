"""Metrics as recorded: what an evaluation built from dispatch data would count.

Dispatch data know a call was about mental health only when the call-taker identified it (``identified_mh``;
about 40% by default, [mhfr_blog]); an evaluator who selects MH calls from those records sees only these calls, and
links a person's repeat contacts only among them. ``recorded`` gives the key outcomes on identified calls beside the
true ones (every MH call), with repeat contacts over the scenario's ``outcomes.recorded.repeat_windows_days``, and
``share_recorded`` (recorded / true) for each count, so users see how much such an evaluation undercounts. Linkage of
a person's identified calls is taken as perfect (an evaluation matching names or addresses would do worse).
"""

from __future__ import annotations

import pandas as pd

from crisis_sim.outcomes.repeats import DAY_MIN, _rate, repeats_within
from crisis_sim.scenario.schema import Scenario

COUNTS = (
    "mh_calls", "arrests", "use_of_force", "injuries", "ed_transports", "involuntary_holds", "resolved_on_scene",
    "referrals", "connected_to_services",
)  # fmt: skip


def _counts(mh: pd.DataFrame) -> dict[str, int]:
    disp = mh["disposition"].astype(str)
    return {
        "mh_calls": len(mh),
        "arrests": int((disp == "arrest").sum()),
        "use_of_force": int(mh["force"].sum()),
        "injuries": int(mh["subject_injury"].sum() + mh["officer_injury"].sum()),
        "ed_transports": int((mh["destination"] == "ed").sum()),
        "involuntary_holds": int((disp == "involuntary").sum()),
        "resolved_on_scene": int((disp == "resolved").sum()),
        "referrals": int(mh["referred"].sum()),
        "connected_to_services": int(mh["connected"].sum()),
    }


def recorded_metrics(ledger: pd.DataFrame, scenario: Scenario) -> dict[str, dict[str, object]]:
    """``{"recorded": {...}, "true_repeats": {...}}``: recorded counts, rates and repeat contacts, the shares
    recorded of each true count, and the true repeat contacts over the same windows. A recurrence share is None
    when no counted call can be followed for the whole window."""
    warm = scenario.simulation.warmup_days * DAY_MIN
    horizon = scenario.simulation.horizon_days * DAY_MIN
    mh_all = ledger[ledger["mh"]]
    rec_all = mh_all[mh_all["identified_mh"]]
    true_counts = _counts(mh_all[~mh_all["in_warmup"]])
    rec_counts = _counts(rec_all[~rec_all["in_warmup"]])
    n = rec_counts["mh_calls"]
    recorded: dict[str, object] = dict(rec_counts)
    recorded["arrest_rate"] = _rate(rec_counts["arrests"], n)
    recorded["force_rate"] = _rate(rec_counts["use_of_force"], n)
    recorded["connection_rate"] = _rate(rec_counts["connected_to_services"], n)
    true_repeats: dict[str, object] = {}
    for days in scenario.outcomes.recorded.repeat_windows_days:
        people, share = repeats_within(rec_all, days, horizon, warm)
        recorded[f"repeat_callers_{days}d"] = people
        followed = horizon - warm > days * DAY_MIN  # some counted call can be followed for the whole window
        recorded[f"recurrence_{days}d"] = share if followed else None
        t_people, t_share = repeats_within(mh_all, days, horizon, warm)
        true_repeats[f"repeat_callers_{days}d"] = t_people
        true_repeats[f"recurrence_{days}d"] = t_share if followed else None
        true_counts[f"repeat_callers_{days}d"] = t_people
        rec_counts[f"repeat_callers_{days}d"] = people
    recorded["share_recorded"] = {k: _rate(rec_counts[k], v) for k, v in true_counts.items()}
    return {"recorded": recorded, "true_repeats": true_repeats}
