"""crisis_sim.analysis.uncertainty: hand-computed small examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisis_sim.analysis import uncertainty as u


def _runs(values: dict[str, list[list[float]]], metric: str = "arrests") -> pd.DataFrame:
    """values[strategy][draw][replication] → tidy runs."""
    rows = []
    for s, draws in values.items():
        for d, reps in enumerate(draws):
            for r, x in enumerate(reps):
                rows.append({"draw": d, "strategy": s, "replication": r, metric: x})
    return pd.DataFrame(rows)


def test_textbook_incremental_analysis_marks_dominated_and_extendedly_dominated():
    costs = {"A": 0.0, "B": 100.0, "C": 150.0, "D": 400.0, "E": 300.0}
    effects = {"A": 0.0, "B": 2.0, "C": 1.0, "D": 4.0, "E": 2.5}
    table = u.incremental_analysis(costs, effects).set_index("strategy")
    assert table.loc["C", "status"] == "dominated"  # B costs less and does more
    assert table.loc["E", "status"] == "extendedly dominated"  # ICER 400 vs B, then D at 66.7 vs E
    assert list(table.index[table["status"] == "frontier"]) == ["A", "B", "D"]
    assert math.isnan(table.loc["A", "icer"])
    assert table.loc["B", "icer"] == pytest.approx(50.0)
    assert table.loc["D", "icer"] == pytest.approx(150.0)  # (400 - 100) / (4 - 2)
    assert math.isnan(table.loc["E", "icer"]) and math.isnan(table.loc["C", "icer"])


def test_psa_summary_paired_differences_and_probability_best():
    runs = _runs({"base": [[10, 12], [10, 10]], "alt": [[8, 9], [11, 11]]})
    table = u.psa_summary(runs, ["base", "alt"], ["arrests"]).set_index("strategy")
    # differences per (draw, replication): -2, -3, +1, +1 → median -0.5
    assert table.loc["alt", "diff_median"] == pytest.approx(-0.5)
    assert table.loc["base", "diff_median"] == 0.0
    # draw 0: alt best (8.5 < 11); draw 1: base best (10 < 11)
    assert table.loc["alt", "prob_best"] == pytest.approx(0.5)
    assert table.loc["alt", "better"] == "lower"


def test_prob_best_higher_is_better_and_ties_share():
    means = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 3.0]})
    best = u.prob_best(means, "higher")
    assert best["a"] == pytest.approx(0.25) and best["b"] == pytest.approx(0.75)


def test_cost_per_outcome_and_ceac():
    runs = _runs({"base": [[10], [10]], "alt": [[6], [8]]}, "arrests")
    cost = _runs({"base": [[1000], [1000]], "alt": [[1400], [1400]]}, "cost_total")
    runs["cost_total"] = cost["cost_total"]
    table = u.cost_per_outcome(runs, ["base", "alt"], ["arrests"]).iloc[0]
    # 400 extra for 4 and for 2 arrests averted: 100 and 200 per arrest; ratio of means 400 / 3
    assert table["median"] == pytest.approx(150.0)
    assert table["ratio_of_means"] == pytest.approx(400 / 3)
    costs = u.incremental_costs(runs, ["base", "alt"])
    gains = u.effects(runs, "arrests", ["base", "alt"])
    curve = u.ceac(costs, gains, [0.0, 150.0, 250.0]).pivot(
        index="wtp", columns="strategy", values="probability"
    )
    assert curve.loc[0.0, "alt"] == 0.0  # nothing is worth paying for: base wins
    assert curve.loc[150.0, "alt"] == 0.5  # worth it in the draw at $100 per arrest, not at $200
    assert curve.loc[250.0, "alt"] == 1.0


def test_discounting_by_month():
    f = u.discount_factors([1, 13, 25], 0.03)
    assert f == pytest.approx([1.0, 1 / 1.03, 1 / 1.03**2])
    assert u.discount_factors([1, 30], 0.0) == pytest.approx([1.0, 1.0])
    series = pd.DataFrame(
        {
            "scenario_index": 0,
            "replication": 0,
            "month": [1, 13],
            "variable": "cost_total",
            "value": [100.0, 103.0],
        }
    )
    assert u.discounted_totals(series, 0.03)["cost_total"].iloc[0] == pytest.approx(200.0)
    with pytest.raises(ValueError):
        u.discount_factors([1], -0.01)


def test_evpi_of_a_known_decision():
    nb = pd.DataFrame({"a": [0.0, 0.0], "b": [1.0, -1.0]})
    assert u.evpi(nb) == pytest.approx(0.5)  # mean(max) 0.5, max(mean) 0


@pytest.mark.slow
def test_evppi_finds_the_parameter_that_decides_and_not_the_noise():
    rng = np.random.default_rng(3)
    n = 2000
    params = pd.DataFrame({"decider": rng.normal(size=n), "noise": rng.normal(size=n)})
    nb = pd.DataFrame({"a": np.zeros(n), "b": params["decider"].to_numpy()})
    total = u.evpi(nb)
    assert total == pytest.approx(1 / math.sqrt(2 * math.pi), abs=0.04)
    values = u.evppi(nb, params)
    assert list(values.index) == ["decider", "noise"]
    assert values["decider"] == pytest.approx(total, rel=0.05)
    assert values["noise"] < 0.02 * total


def test_metric_without_direction_is_refused():
    runs = _runs({"base": [[1]], "alt": [[2]]}, "calls")
    with pytest.raises(ValueError, match="no better direction"):
        u.metric_net_benefit(runs, "calls", ["base", "alt"])


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(-50, 50)),
        min_size=2,
        max_size=7,
        unique_by=lambda t: t[0],
    )
)
def test_incremental_analysis_frontier_icers_rise_and_no_frontier_option_is_dominated(points):
    costs = {f"s{i}": float(c) for i, (c, _) in enumerate(points)}
    effects = {f"s{i}": float(e) for i, (_, e) in enumerate(points)}
    table = u.incremental_analysis(costs, effects)
    front = table[table["status"] == "frontier"]
    assert len(front) >= 1
    icers = front["icer"].to_numpy()[1:]
    assert all(np.isfinite(icers)) and all(icers > 0) and list(icers) == sorted(icers)
    for row in front.itertuples():
        assert not any(
            (c <= row.cost and e >= row.effect and (c < row.cost or e > row.effect))
            for c, e in zip(table["cost"], table["effect"], strict=True)
        )


def _monthly(months: int, month_days: int = 30, cost: float = 100.0, arrests: float = 2.0, runs=((0, 0),)):
    rows = []
    for i, r in runs:
        for m in range(1, months + 1):
            end = min(m * month_days, months * month_days)
            rows += [{"scenario_index": i, "replication": r, "month": m, "day_end": end, "variable": v, "value": x}
                     for v, x in (("cost_total", cost), ("counted_arrests", arrests))]  # fmt: skip
    return pd.DataFrame(rows)


def test_three_years_discounted_against_a_hand_computed_value():
    # 36 months of 30 days, no warm-up: months 1-12 lie in year 1, 13-24 in year 2, 25-36 in year 3 (midpoints)
    series = _monthly(36)
    totals = u.discounted_run_totals(series, 0.03, {0: 0}, ["cost_total", "arrests"]).iloc[0]
    hand = 1 + 1 / 1.03 + 1 / 1.03**2  # = 2.91347
    assert totals["cost_total"] == pytest.approx(1200 * hand) and totals["cost_total"] == pytest.approx(3496.16, abs=0.01)
    assert totals["arrests"] == pytest.approx(24 * hand)
    # a 30-day warm-up moves the year boundaries by 30 days: month 13 (days 360-390, midpoint 375) is still year 1
    warm = u.discounted_run_totals(series, 0.03, {0: 30}, ["cost_total"]).iloc[0]["cost_total"]
    assert warm == pytest.approx(100 * (13 + 12 / 1.03 + 11 / 1.03**2))


def test_one_counted_year_gives_the_same_totals_at_any_rate():
    series = _monthly(13, cost=250.0)  # 365 days: 12 months of 30 days and a last one of 5
    series.loc[series["month"] == 13, "day_end"] = 365
    base = u.discounted_run_totals(series, 0.0, {0: 0}, ["cost_total", "arrests"])
    for rate in (0.03, 0.2):
        again = u.discounted_run_totals(series, rate, {0: 0}, ["cost_total", "arrests"])
        assert again["cost_total"].iloc[0] == pytest.approx(base["cost_total"].iloc[0], rel=1e-12)
        assert again["arrests"].iloc[0] == pytest.approx(base["arrests"].iloc[0], rel=1e-12)


def test_discount_runs_replaces_only_the_discounted_columns_and_refuses_old_stores():
    series = _monthly(24, runs=((0, 0), (1, 0)))
    runs = pd.DataFrame({"scenario_index": [0, 1], "replication": [0, 0], "cost_total": [2400.0, 2400.0],
                         "arrests": [48.0, 48.0], "calls": [7, 8]})  # fmt: skip
    out = u.discount_runs(runs, series, 0.03, {0: 0, 1: 0}, ["cost_total", "arrests"])
    assert list(out.columns) == list(runs.columns) and out["calls"].tolist() == [7, 8]
    assert out["cost_total"].tolist() == pytest.approx([1200 * (1 + 1 / 1.03)] * 2)
    old = series[series["variable"] != "cost_total"]
    with pytest.raises(u.DiscountError, match="lack 'cost_total'.*discount rate of 0"):
        u.discount_runs(runs, old, 0.03, {0: 0, 1: 0}, ["cost_total", "arrests"])


@pytest.mark.parametrize("rate", [-0.01, 0.21, float("nan"), "x"])
def test_discount_rate_outside_0_to_0_2_is_refused(rate):
    with pytest.raises(ValueError, match="discount rate from 0 to 0.2"):
        u.check_discount(rate)
    assert u.check_discount(0) == 0.0 and u.discount_text(0.03) == "discounted at 3% a year"
