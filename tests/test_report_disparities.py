"""Disparities by group from synthetic summaries carrying by_group.<attribute>.<value>.<metric>."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest

from crisis_sim.report.disparities import disparities_data, disparities_html


def _runs():
    rows = []
    for s in range(2):
        for r in range(4):
            groups = {"race": {"black": {"mh_calls": 100, "arrests": (20 if s == 0 else 10) + r % 2},
                               "white": {"mh_calls": 200, "arrests": 10 + r % 2}}}  # fmt: skip
            rows.append({"scenario_index": s, "replication": r, "extra": json.dumps({"by_group": groups})})
    return pd.DataFrame(rows)


def test_rates_per_1000_and_paired_change():
    d = disparities_data(_runs(), ["A", "B"], per_year=1.0)
    black = d["race"]["metrics"]["arrests"]["black"]
    assert black["A"]["rate"] == pytest.approx(205.0) and black["B"]["rate"] == pytest.approx(105.0)
    assert black["B"]["diff"] == pytest.approx(-100.0) and black["B"]["verdict"] == "better"
    white = d["race"]["metrics"]["arrests"]["white"]
    assert white["B"]["diff"] == pytest.approx(0.0) and white["B"]["verdict"] == "unclear"
    assert d["race"]["unit"]["arrests"] == "per 1,000 MH calls of the group"
    text = disparities_html(d, ["A", "B"], html.escape)
    assert "By race" in text and "td class='num better'" in text


def test_no_groups_no_section():
    runs = pd.DataFrame([{"scenario_index": 0, "replication": 0, "extra": json.dumps({"x": 1})}])
    assert disparities_data(runs, ["A"], 1.0) is None
