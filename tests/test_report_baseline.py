"""The city-vs-model match table: rows, intervals and verdicts from an ingest profile and run summaries."""

from __future__ import annotations

import pytest

from crisis_sim.report.baseline import compare_with_city, format_check


def _profile():
    hourly = [1 / 24] * 24
    return {"calls": 1000, "mh_calls": 100, "calls_per_1000_per_day": 1.0, "mh_share": 0.1,
            "mh_hourly_share": hourly, "mh_weekday_share": [1 / 7] * 7,
            "dispositions": {k: {"share": 0.2, "low": 0.13, "high": 0.29} for k in
                             ("arrest", "involuntary", "voluntary_transport", "resolved", "report")}}  # fmt: skip


def _summary(scale: float, arrests: int):
    return {"calls": 1000 * scale, "mh_calls": 100, "mh_hourly_share": [1 / 24] * 24,
            "mh_weekday_share": [1 / 7] * 7, "arrests": arrests, "involuntary_holds": 20,
            "voluntary_transports": 20, "resolved_on_scene": 20, "reports": 20}  # fmt: skip


def test_verdicts_follow_the_intervals():
    rows = compare_with_city(_profile(), [_summary(1.0, 2), _summary(1.02, 3), _summary(0.98, 2)], 1000, 1000)
    by = {r["item"]: r for r in rows}
    assert len(rows) == 2 + 8 + 7 + 5
    assert by["calls per 1,000 residents a day"]["verdict"] == "matches"
    assert by["arrest"]["verdict"] == "model lower" and by["arrest"]["model"] == pytest.approx(0.0233, abs=1e-3)
    assert by["involuntary hold"]["verdict"] == "matches"
    text = format_check({"replications": 3, "counted_days": 1000, "rows": rows})
    assert "21 of 22 rows match" in text and "model lower" in text
