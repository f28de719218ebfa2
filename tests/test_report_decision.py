"""The decision table's parts: plain option names, staff in FTE, cost per outcome averted only when clear, the
ranking rule, the growing-queue and too-few-replications warnings."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SCENARIOS

from crisis_sim.experiments.spec import build_spec, parse_scenario_arg
from crisis_sim.report.decision import _cost_per, growth, option_names, rank_options, staffing, warnings
from crisis_sim.scenario import load_scenario


def _spec(*args: str):
    return build_spec([parse_scenario_arg(a) for a in args], 2, 0, 30)


def test_option_names_are_plain_words():
    city = SCENARIOS / "small_district.toml"
    spec = _spec(str(city), f"{city}::cit:programs.cit={{}}", f"{city}::mc:programs.mobile_crisis={{}}",
                 str(SCENARIOS / "mixed_city.toml"))  # fmt: skip
    names = option_names(spec)
    assert names[:3] == ["Police as usual", "CIT training", "Mobile crisis team"]
    assert names[3] == "All 6 programs"
    assert not any("programs." in n or "_" in n for n in names)
    twice = option_names(_spec(str(city), str(city)))  # same programs: told apart, never identical
    assert len(set(twice)) == 2


def test_staffing_fte_from_configured_hours():
    sc = load_scenario(SCENARIOS / "mobile_crisis.toml")
    st = staffing(sc)
    cfg = sc.programs.mobile_crisis
    daily = (cfg.end_hour - cfg.start_hour) % 24 or 24
    assert st["fte"]["EMT"] == pytest.approx(round(cfg.teams * daily * 365 / 2080, 2))
    assert st["hours"]["mobile_crisis"].count(True) == round(daily)
    assert staffing(load_scenario(SCENARIOS / "small_district.toml"))["fte_total"] == 0


def _row(diff, low, high, better="lower", dcost=1000.0):
    clear = low > 0 or high < 0
    verdict = ("better" if (diff < 0) == (better == "lower") else "worse") if clear else "unclear"
    return {"annual_cost_diff": {"diff": dcost}, "metrics": {"arrests": {"diff": diff, "low": low, "high": high,
            "clear": clear, "verdict": verdict}}}  # fmt: skip


def test_cost_per_averted_only_when_the_interval_excludes_zero():
    assert _cost_per(_row(-10, -15, -5), 1)["arrests"]["value"] == pytest.approx(100.0)
    assert _cost_per(_row(-10, -25, 5), 1)["arrests"] == {"value": None, "text": "no clear change"}
    assert _cost_per(_row(10, 5, 15), 1)["arrests"]["value"] is None  # worse: no cost "per arrest averted"
    assert _cost_per(_row(-10, -15, -5, dcost=-500.0), 1)["arrests"]["text"].startswith("saves money")


def test_ranking_counts_clear_wins_and_losses_then_cost():
    def row(verdicts, cost):
        return {"metrics": {m: {"verdict": v} for m, v in zip(("arrests", "ed_transports"), verdicts, strict=True)},
                "annual_cost": {"mean": cost}, "annual_cost_diff": {"diff": cost - 100}}  # fmt: skip

    rows = [row(["unclear", "unclear"], 100), row(["better", "worse"], 150), row(["better", "better"], 300),
            row(["better", "unclear"], 120)]  # fmt: skip
    rank_options(rows)
    assert [r["rank"] for r in rows] == [3, 4, 1, 2]  # a tie (0 net) goes to the cheaper option
    assert rows[2]["reason"].startswith("clearly better on arrests, ED transports")
    assert "costs $200 a year more" in rows[2]["reason"]


def _series(values_by_scenario):
    rows = []
    for s, values in enumerate(values_by_scenario):
        for rep in range(2):
            for month, v in enumerate(values, start=1):
                rows.append((s, rep, month, 30 * month, "waitlist_length", float(v + rep)))
    return pd.DataFrame(rows, columns=["scenario_index", "replication", "month", "day_end", "variable", "value"])


def test_growing_waitlist_is_warned_and_a_flat_one_is_not():
    series = _series([[5, 6, 5, 6, 5, 6, 5, 6], [10, 40, 70, 100, 130, 160, 190, 220]])
    assert growth(series, "waitlist_length", 1)["slope"] == pytest.approx(30.0)
    out = warnings([{"metrics": {}}, {"metrics": {}, "option": "B"}], series, ["a", "b"], ["A", "B"], 3, [])
    texts = [w["text"] for w in out if w["kind"] == "growing queue"]
    assert len(texts) == 1 and texts[0].startswith("B: the community-services waitlist keeps growing")


def test_too_few_replications_warning_when_every_interval_straddles_zero():
    unclear = {"arrests": {"low": -1.0, "high": 1.0, "clear": False}}
    clear = {"arrests": {"low": -3.0, "high": -1.0, "clear": True}}
    out = warnings([{"metrics": {}}, {"option": "B", "metrics": unclear}, {"option": "C", "metrics": clear}],
                   None, ["a", "b", "c"], ["A", "B", "C"], 2, [])  # fmt: skip
    assert [w["option"] for w in out if w["kind"] == "too few replications"] == ["B"]


def test_public_api_decision_table():
    import crisis_sim as cs

    df = cs.decision_table(["small_district", "mobile_crisis"], replications=2, days=45)
    assert list(df["option"]) == ["Police as usual", "Mobile crisis team + stabilisation centre"]
    assert {"rank", "reason", "annual_cost", "fte_total", "coverage", "arrests_diff", "arrests_low",
            "arrests_high"} <= set(df.columns)  # fmt: skip
    assert df.loc[0, "arrests_diff"] == 0 and df.loc[1, "fte_total"] > 0
    assert df.attrs["decision"]["decision"][1]["fte"]


def test_cost_per_averted_is_discounted_and_says_so_and_one_year_does_not_depend_on_the_rate():
    from crisis_sim.analysis.uncertainty import DiscountError
    from crisis_sim.report.decision import decision_data
    from crisis_sim.report.run import run_experiment

    spec = _spec("small_district", "co_response")
    outcome = run_experiment(spec, None, "processes", 1, progress=False)
    plain = decision_data(spec, outcome.runs, outcome.series, discount=0.0)
    disc = decision_data(spec, outcome.runs, outcome.series, discount=0.2)
    assert disc["discount"]["rate"] == 0.2 and disc["discount"]["text"] == "discounted at 20% a year"
    assert plain["discount"]["text"].startswith("not discounted")
    for m, v in plain["decision"][1]["cost_per_averted"].items():
        w = disc["decision"][1]["cost_per_averted"][m]
        assert (v["value"] is None) == (w["value"] is None)
        if v["value"] is not None:  # 30 days: all in the first counted year, so no discounting
            assert w["value"] == pytest.approx(v["value"], rel=1e-9)
    # the totals the cost per outcome divides: one counted year (30 days here) is the same at any rate
    from crisis_sim.report.decision import _discounted

    scenarios = [entry.scenario for entry in spec.scenarios]
    at_0 = _discounted(outcome.runs, outcome.series, scenarios, 0.0, len(scenarios))
    at_20 = _discounted(outcome.runs, outcome.series, scenarios, 0.2, len(scenarios))
    assert at_0["cost_total"].sum() > 0
    for col, values in at_0.items():
        assert at_20[col] == pytest.approx(values, rel=1e-12)
    old = outcome.series[~outcome.series["variable"].str.startswith("cost_")]
    with pytest.raises(DiscountError, match="lack 'cost_total'"):
        decision_data(spec, outcome.runs, old, discount=0.03)
