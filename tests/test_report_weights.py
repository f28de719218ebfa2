"""Ranking weights and patrol vacancies in the decision table: planner-set weights change the ranking and are
stated in words; bad weights get one line; an unfilled patrol post is not called a saving."""

from __future__ import annotations

import pytest
from conftest import SCENARIOS

from crisis_sim.report.decision import (
    VACANCY,
    WeightError,
    _cost_per,
    parse_weights,
    patrol_vacancy,
    rank_options,
    weights_statement,
)
from crisis_sim.scenario import load_scenario
from crisis_sim.scenario.timeline.staffing import Vacancy


def _rows():
    """Police as usual, a mixed city (fewer arrests, longer response) and one better on two minor outcomes."""

    def row(verdicts, cost):
        return {"metrics": {m: {"verdict": v} for m, v in verdicts.items()},
                "annual_cost": {"mean": cost}, "annual_cost_diff": {"diff": cost - 100}}  # fmt: skip

    return [row({"arrests": "unclear", "median_response_min": "unclear"}, 100),
            row({"arrests": "better", "median_response_min": "worse"}, 300),
            row({"use_of_force": "better", "repeat_callers_90d": "better"}, 200)]  # fmt: skip


def test_default_weights_count_outcomes_equally_and_say_so():
    rows = _rows()
    rank_options(rows)
    assert [r["rank"] for r in rows] == [2, 3, 1]  # the mixed city third for a longer response: the issue's case
    assert "each key outcome counts the same" in weights_statement(None)


def test_planner_weights_change_the_ranking_and_are_named():
    rows = _rows()
    w = parse_weights("arrests=3,median_response_min=0.5")
    rank_options(rows, w)
    assert [r["rank"] for r in rows] == [3, 1, 2]  # 3 - 0.5 = 2.5 beats 1 + 1 = 2
    assert rows[1]["score"] == 2.5 and rows[2]["score"] == 2
    assert "arrests (weight 3)" in rows[1]["reason"] and "score +2.5" in rows[1]["reason"]
    text = weights_statement(w, "--weights")
    assert "arrests × 3" in text and "--weights" in text and "use-of-force incidents" in text


def test_zero_weight_leaves_an_outcome_out():
    rows = _rows()
    rank_options(rows, {"median_response_min": 0.0})
    assert rows[1]["score"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arrests", "expected METRIC=WEIGHT"),
        ("arrests=lots", "arrests: expected a number"),
        ("arests=2", "arests: unknown outcome (expected one of arrests,"),
        ("arrests=-1", "arrests: expected a weight from 0 to 100"),
        ("arrests=nan", "arrests: expected a weight from 0 to 100"),
    ],
)
def test_bad_weights_one_line(text, expected):
    with pytest.raises(WeightError) as info:
        parse_weights(text)
    assert expected in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(WeightError, match="goals.toml: weights: arrests"):
        parse_weights({"arrests": "3"}, "goals.toml: weights")


def test_patrol_vacancy_is_found_and_not_called_a_saving():
    base = load_scenario(SCENARIOS / "small_district.toml")
    assert patrol_vacancy(base, base) is None
    ev = Vacancy(type="vacancy", day=30.0, role="patrol", share=0.2)
    lost = base.model_copy(update={"timeline": [ev]})
    assert patrol_vacancy(lost, base) == "20% of patrol posts vacant from day 30"
    row = {"annual_cost_diff": {"diff": -5000.0}, "cost_note": VACANCY,
           "metrics": {"arrests": {"diff": -10, "low": -15, "high": -5, "clear": True, "verdict": "better"}}}
    per = _cost_per(row, 1)["arrests"]
    assert per["value"] is None and per["text"].endswith(VACANCY)
    rows = [{"metrics": {}, "annual_cost": {"mean": 100.0}, "annual_cost_diff": {"diff": 0.0}},
            {"metrics": {}, "annual_cost": {"mean": 50.0}, "annual_cost_diff": {"diff": -50.0}, "cost_note": VACANCY}]
    rank_options(rows)
    assert "saves" not in rows[1]["reason"] and VACANCY in rows[1]["reason"]


def test_rank_by_size_counts_how_large_each_clear_change_is():
    """The issue's case (make run's levels): −190 arrests a year (of 704) against a 1.2-minute longer median
    response (of 11.2): counted, the mixed city ranks last, behind the reference; by size it ranks first."""

    def row(metrics, cost):
        return {"metrics": metrics, "annual_cost": {"mean": cost}, "annual_cost_diff": {"diff": cost - 100}}

    base = row({"arrests": {"mean": 704.0, "verdict": "unclear", "diff": 0.0},
                "median_response_min": {"mean": 11.2, "verdict": "unclear", "diff": 0.0}}, 100)  # fmt: skip
    mixed = row({"arrests": {"verdict": "better", "diff": -190.0},
                 "median_response_min": {"verdict": "worse", "diff": 1.2}}, 300)  # fmt: skip
    small = row({"arrests": {"verdict": "better", "diff": -29.0},
                 "median_response_min": {"verdict": "better", "diff": -0.09}}, 150)  # fmt: skip
    rows = [base, mixed, small]
    rank_options(rows)
    assert [r["rank"] for r in rows] == [2, 3, 1]  # a tie at 0 goes to the cheaper reference
    rank_options(rows, rank_by="size")
    assert [r["rank"] for r in rows] == [3, 1, 2]
    assert rows[1]["score"] == pytest.approx(100 * 190 / 704 - 100 * 1.2 / 11.2)
    assert "arrests 27%" in rows[1]["reason"] and "median response time 11%" in rows[1]["reason"]
    assert weights_statement(None, "", "size").startswith("by size")
    assert "arrests × 3" in weights_statement({"arrests": 3.0}, "--weights", "size")
