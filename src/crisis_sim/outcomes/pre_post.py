"""The interrupted time series a coordinator reads: monthly outcomes before and after a program's launch (or a
post added), as means of the monthly series' rows.

A pre/post difference mixes the program with seasonality, trend and noise (and with the warm-up of everything the
launch starts); the program's effect is the paired comparison with the same scenario without the event on common
random numbers (``crisis-sim compare``). The view says so in its ``note``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.model.destinations import DAY_MIN

NOTE = (
    "Before/after means of full calendar months of this run. The difference mixes the launch with seasonality, "
    "trend and chance; the launch month itself is left out. The program's effect is the paired comparison with "
    "the same scenario without the event (same random numbers: crisis-sim compare)."
)
ADDED_NOTE = (
    " Program costs in the monthly series are spread over the days a program operated, so an added post's cost is "
    "in the summary's program_cost, not in a month: total cost is left out of this view."
)
MARKED = ("launch_program", "add_post")  # the events a pre/post view is drawn around (the first one found)
# the launched program -> its own monthly column (calls it answered, people it took, referrals it opened)
PROGRAM_COLUMN = {
    "mobile_crisis": "handled_by_mobile_crisis",
    "co_response": "handled_by_co_response",
    "triage": "handled_by_phone_triage",
    "cit": "handled_by_cit",
    "outreach": "outreach_referrals",
    "stabilization": "stabilization_admissions",
}
BASE_COLUMNS = {
    "mh_calls": "MH calls received",
    "handled_by_patrol": "MH calls answered by patrol units",
    "arrests": "arrests",
    "officer_hours_mh": "officer hours on MH calls",
    "median_response_mh_min": "median response to MH calls (min)",
    "cost_total": "total cost (USD)",
}


def marked_event(scenario: Any) -> tuple[int, Any] | None:
    """(index, event) of the first launch_program or add_post event of the scenario's timeline, or None."""
    for i, ev in enumerate(getattr(scenario, "timeline", ()) or ()):
        if ev.type in MARKED:
            return i, ev
    return None


def officer_hours_by_month(ledger: pd.DataFrame, day_end: pd.Series) -> np.ndarray:
    """Officer hours on MH calls, by the month the call was received (the months of the series)."""
    ends = day_end.to_numpy(float) * DAY_MIN
    out = np.zeros(len(ends))
    if ledger.empty:
        return out
    mh = ledger[ledger["mh"]]
    month = np.searchsorted(ends, mh["t_received"].to_numpy(float), side="left")
    keep = month < len(ends)
    np.add.at(out, month[keep], mh["officer_min"].to_numpy(float)[keep] / 60.0)
    return out


def pre_post(series: pd.DataFrame, ledger: pd.DataFrame, scenario: Any) -> dict[str, Any] | None:
    """Means of the full months before and after the first launch_program / add_post event (None without one).

    Months counted: full months (``simulation.month_days`` long) after the warm-up; "before" ends on or before
    the event's day, "after" starts on or after it (the month the event falls in is left out).
    """
    found = marked_event(scenario)
    if found is None or series.empty or "day_end" not in series:
        return None
    index, ev = found
    sim = scenario.simulation
    md = sim.month_days
    s = series.copy()
    s["officer_hours_mh"] = officer_hours_by_month(ledger, s["day_end"])
    start = s["day_end"] - (s["day_end"].diff().fillna(s["day_end"]))
    full = (s["day_end"] - start == md) & (start >= sim.warmup_days)
    before = s[full & (s["day_end"] <= ev.day)]
    after = s[full & (start >= ev.day)]
    program = getattr(ev, "program", None)
    columns = dict(BASE_COLUMNS)
    if program in PROGRAM_COLUMN and PROGRAM_COLUMN[program] in s:
        columns = {PROGRAM_COLUMN[program]: f"{PROGRAM_COLUMN[program]} (the {program} program)", **columns}
    note = NOTE
    if ev.type == "add_post":
        del columns["cost_total"]
        note += ADDED_NOTE
        if program in ("mobile_crisis", "co_response"):
            columns["unserved_busy"] = "eligible MH calls unserved because every unit was busy"

    def mean(rows: pd.DataFrame, col: str) -> float | None:
        values = rows[col].dropna() if col in rows else pd.Series([], dtype=float)
        return float(values.mean()) if len(values) else None

    metrics = {}
    for col, words in columns.items():
        if col not in s:
            continue
        b, a = mean(before, col), mean(after, col)
        metrics[col] = {
            "label": words,
            "before": b,
            "after": a,
            "change": None if a is None or b is None else a - b,
        }
    return {
        "event": {"index": index, "type": ev.type, "day": float(ev.day), "program": program,
                  "role": getattr(ev, "role", None), "label": ev.label},  # fmt: skip
        "event_month": int(np.searchsorted(s["day_end"].to_numpy(float), float(ev.day), side="right") + 1),
        "months_before": [int(m) for m in before["month"]],
        "months_after": [int(m) for m in after["month"]],
        "metrics": metrics,
        "note": note,
    }


def format_pre_post(view: dict[str, Any]) -> str:
    """The view as a few plain lines for the terminal."""
    ev = view["event"]
    what = ev["program"] or ev["role"]
    b, a = view["months_before"], view["months_after"]

    def span(ms: list[int]) -> str:
        return f"months {ms[0]}-{ms[-1]}" if ms else "no full month"

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f}"

    lines = [
        f"Before and after the {ev['type']} of {what} on day {ev['day']:g} (month {view['event_month']}): "
        f"monthly means, {span(b)} vs {span(a)}"
    ]
    lines.append(f"  {'':<52} {'before':>12} {'after':>12} {'change':>10}")
    for m in view["metrics"].values():
        lines.append(f"  {m['label']:<52} {fmt(m['before']):>12} {fmt(m['after']):>12} {fmt(m['change']):>10}")
    lines.append("  " + view["note"])
    return "\n".join(lines)
