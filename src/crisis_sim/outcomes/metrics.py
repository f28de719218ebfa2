"""Metrics as pure functions of the ledger: the CSG framework's four key outcomes ([csg2024]: connection to
resources, repeat encounters, arrests, use of force) and the evaluation tiers of [nyu_scn] (process, safety,
system, post-response, long-term, finances).

Calls received during warm-up are excluded; rates are per MH call.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from crisis_sim.outcomes.program_metrics import program_metrics
from crisis_sim.outcomes.recorded import recorded_metrics
from crisis_sim.outcomes.repeats import DAY_MIN, _rate, repeats_within  # noqa: F401  (re-exported)
from crisis_sim.scenario.schema import Scenario

KEY_METRICS = (
    "calls", "mh_calls", "mh_identified", "arrests", "arrest_rate", "use_of_force", "force_rate", "injuries",
    "ed_transports", "involuntary_holds", "resolved_on_scene", "referrals", "connected_to_services",
    "repeat_callers_90d", "median_response_min", "p90_response_min", "officer_hours_mh", "ed_wait_hours",
    "cost_total",
)  # fmt: skip


def _finite(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def summarize(ledger: pd.DataFrame, referrals: pd.DataFrame, scenario: Scenario) -> dict[str, object]:
    """The run's outcome summary (plain JSON-able values)."""
    warm = scenario.simulation.warmup_days * DAY_MIN
    horizon = scenario.simulation.horizon_days * DAY_MIN
    counted = ledger[~ledger["in_warmup"]]
    mh = counted[counted["mh"]]
    n_mh = len(mh)
    disp = mh["disposition"].astype(str)
    closed = mh[disp != "open"]
    arrests = int((disp == "arrest").sum())
    holds = int((disp == "involuntary").sum())
    voluntary = int((disp == "voluntary_transport").sum())
    admitted = int(mh["admitted"].sum())
    response = (mh["t_arrived"] - mh["t_received"]).dropna()
    response_all = (counted["t_arrived"] - counted["t_received"]).dropna()
    ed_wait = mh["ed_wait_min"].dropna()
    inv = closed[closed["disposition"].astype(str) == "involuntary"]
    people_90, recurrence_90 = repeats_within(ledger[ledger["mh"]], 90, horizon, warm)
    long_term = horizon - warm >= 365 * DAY_MIN
    _, repeat_12m = repeats_within(ledger[ledger["mh"]], 365, horizon, warm) if long_term else (0, math.nan)

    refs = referrals[referrals["t_referred"] >= warm] if len(referrals) else referrals
    admitted_refs = refs[refs["t_intake"].notna()] if len(refs) else refs
    wait_days = ((admitted_refs["t_intake"] - admitted_refs["t_referred"]) / DAY_MIN) if len(refs) else pd.Series([])
    # Priority 0 is reserved for program clients who bypass the queue (outreach): the equity concern of [echinops_study]
    # is what their priority does to everyone else's wait.
    regular = wait_days[admitted_refs["priority"] != 0] if len(refs) else wait_days

    officer_hours_all = float(counted["officer_min"].sum()) / 60
    c = scenario.costs
    cost_police = officer_hours_all * c.officer_hour
    ed_visits = int((mh["destination"] == "ed").sum()) if "destination" in mh else voluntary + holds
    cost_ed = ed_visits * c.ed_visit
    cost_inpatient = admitted * c.inpatient_days_per_admission * c.inpatient_day
    cost_jail = arrests * c.jail_days_per_arrest * c.jail_day
    hours = np.floor((mh["t_received"].to_numpy() % DAY_MIN) / 60).astype(int)
    hourly = np.bincount(hours, minlength=24)[:24]
    # Day 0 is a Monday (demand profiles are Mon-Sun from the start of the run).
    weekdays = np.bincount(np.floor(mh["t_received"].to_numpy() / DAY_MIN).astype(int) % 7, minlength=7)[:7]

    extra = recorded_metrics(ledger, scenario) if scenario.outcomes.recorded.enabled else {}
    return {
        "calls": int(len(counted)),
        "mh_calls": n_mh,
        "mh_share": _rate(n_mh, len(counted)),
        "mh_identified": int(mh["identified_mh"].sum()),
        "arrests": arrests,
        "arrest_rate": _rate(arrests, n_mh),
        "use_of_force": int(mh["force"].sum()),
        "force_rate": _rate(int(mh["force"].sum()), n_mh),
        "injuries": int(mh["subject_injury"].sum() + mh["officer_injury"].sum()),
        "subject_injuries": int(mh["subject_injury"].sum()),
        "officer_injuries": int(mh["officer_injury"].sum()),
        "ed_transports": ed_visits,
        "transports": voluntary + holds,
        "voluntary_transports": voluntary,
        "involuntary_holds": holds,
        "hold_rate": _rate(holds, n_mh),
        "resolved_on_scene": int((disp == "resolved").sum()),
        "reports": int((disp == "report").sum()),
        "phone_resolved": int((disp == "phone_resolved").sum()),
        "referrals": int(mh["referred"].sum()),
        "connected_to_services": int(mh["connected"].sum()),
        "connection_rate": _rate(int(mh["connected"].sum()), n_mh),
        "repeat_callers_90d": people_90,
        "recurrence_90d": recurrence_90,
        "repeat_12m": _finite(repeat_12m),
        "median_response_min": _finite(float(response.median())) if len(response) else None,
        "p90_response_min": _finite(float(response.quantile(0.9))) if len(response) else None,
        "median_response_all_min": _finite(float(response_all.median())) if len(response_all) else None,
        "officer_hours_mh": float(mh["officer_min"].sum()) / 60,
        "officer_hours_total": officer_hours_all,
        "officer_min_per_involuntary": _finite(float(inv["officer_min"].mean())) if len(inv) else None,
        "ed_wait_hours": float(ed_wait.sum()) / 60,
        "ed_wait_min_mean": _finite(float(ed_wait.mean())) if len(ed_wait) else None,
        "waitlist_wait_days": _finite(float(wait_days.mean())) if len(wait_days) else None,
        "waitlist_wait_days_regular": _finite(float(regular.mean())) if len(regular) else None,
        "open_calls": int((counted["disposition"].astype(str) == "open").sum()),
        "mh_hourly_share": (hourly / hourly.sum()).round(4).tolist() if hourly.sum() else [0.0] * 24,
        "mh_weekday_share": (weekdays / weekdays.sum()).round(4).tolist() if weekdays.sum() else [0.0] * 7,
        "cost_police": cost_police,
        "cost_ed": cost_ed,
        "cost_inpatient": cost_inpatient,
        "cost_jail": cost_jail,
        "cost_total": cost_police + cost_ed + cost_inpatient + cost_jail,
        **program_metrics(mh),
        **extra,
    }
