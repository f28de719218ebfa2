"""Outreach by contact frequency ([programs.outreach] selection = "frequent_contact") and the paired pre–post
analysis (analysis/selection.py): the list is the top N by MH calls in the look-back window, refreshed on schedule;
the counts before/after are right on hand-made ledgers; the command and API refuse what cannot be measured."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, cached_run, short

from crisis_sim.analysis.selection import (
    client_table,
    no_program_arm,
    paired_client_calls,
    selection_effect,
    summarise_selection,
)
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.scenario import ScenarioError, load_scenario, with_overrides

LIST = {"list_size": 8, "min_contacts": 2, "lookback_days": 60, "refresh_days": 30}


def frequent(days: int = 150, **fc):
    sc = short(load_scenario(SCENARIOS / "outreach_echinops.toml"), days)
    return with_overrides(sc, {"programs.outreach.selection": "frequent_contact",
                               "programs.outreach.frequent_contact": {**LIST, **fc}}, label="<test>")  # fmt: skip


def outreach(model):
    return next(p for p in model.programs if p.key == "outreach")


def test_call_by_call_is_the_default():
    assert load_scenario("outreach_echinops").programs.outreach.selection == "call_by_call"


def test_the_list_selects_the_top_n_by_recent_calls_on_each_refresh_day_only():
    model, res = cached_run(frequent())
    prog = outreach(model)
    clients = client_table(model)
    assert len(clients) > 0
    days = clients["t_selected"].to_numpy() / DAY_MIN
    assert set(np.round(days, 9)) <= {60.0, 90.0, 120.0}  # first refresh = lookback_days, then every 30 days
    first = clients[np.isclose(days, 60.0)]
    # the first list, recomputed from the ledger: MH calls in [0, day 60), at least 2, the top 8 (ties: later last call)
    mh = res.ledger[res.ledger["mh"] & (res.ledger["t_received"] < 60 * DAY_MIN)]
    g = mh.groupby("resident")["t_received"].agg(["size", "max"])
    g = g[g["size"] >= 2].reset_index().sort_values(["size", "max", "resident"], ascending=[False, False, True])
    assert list(first["resident"]) == list(g["resident"].head(8))
    assert len(first) == 8
    # every later refresh adds only residents never selected before, at most list_size of them
    assert clients["resident"].is_unique
    for day in (90.0, 120.0):
        assert (np.isclose(days, day)).sum() <= 8
    # nobody came call by call (no patrol-report referrals in this mode)
    assert prog.counted["referrals"] == len(clients)


def test_list_clients_go_through_consent_and_visits_like_any_referral():
    model, _ = cached_run(frequent())
    steps = {step for _, _, step in outreach(model).log}
    assert {"referral", "offer"} <= steps
    assert "visit" in steps or "decline" in steps


def test_paired_client_calls_counts_the_windows_on_a_hand_made_ledger():
    d = DAY_MIN

    def ledger(times: dict[int, list[float]]) -> pd.DataFrame:
        rows = [(r, t * d, True) for r, ts in times.items() for t in ts] + [(-1, 5 * d, False)]
        return pd.DataFrame(rows, columns=["resident", "t_received", "mh"])

    prog = ledger({1: [1, 5, 9, 10, 11, 25], 2: [15, 16]})
    none = ledger({1: [1, 5, 9, 10, 12, 13, 19], 2: [15, 16, 17]})
    clients = pd.DataFrame({"resident": [1, 2, 3], "t_selected": [10 * d, 10 * d, 2 * d],
                            "t_first_visit": [12 * d, np.nan, np.nan]})  # fmt: skip
    out = paired_client_calls(clients, prog, none, horizon_days=20, window_days=10)
    # client 3 lacks a full window before day 2; windows are [t-10, t) and (t, t+10]
    assert list(out["resident"]) == [1, 2]
    row = out.iloc[0]
    assert (row["before_program"], row["after_program"], row["before_none"], row["after_none"]) == (3, 1, 3, 3)
    row = out.iloc[1]
    assert (row["before_program"], row["after_program"], row["before_none"], row["after_none"]) == (0, 2, 0, 3)
    visit = paired_client_calls(clients, prog, none, horizon_days=25, window_days=10, index="first_visit")
    assert list(visit["resident"]) == [1] and visit.iloc[0]["before_program"] == 4
    with pytest.raises(ValueError, match="index"):
        paired_client_calls(clients, prog, none, 20, 10, index="referral")  # type: ignore[arg-type]


def test_summary_separates_regression_to_the_mean_from_the_effect():
    per = pd.DataFrame({
        "replication": [0, 0, 1, 1], "resident": [1, 2, 1, 2], "index_day": [0.0] * 4,
        "before_program": [10, 10, 8, 12], "after_program": [3, 4, 2, 4],
        "before_none": [10, 10, 8, 12], "after_none": [6, 6, 5, 7],
    })  # fmt: skip
    s = summarise_selection(per)
    assert s["clients"] == 4 and s["replications"] == 2
    assert s["prepost_program"] == pytest.approx(13 / 40 - 1)
    assert s["prepost_none"] == pytest.approx(24 / 40 - 1)
    assert s["effect"] == pytest.approx(13 / 24 - 1)
    assert s["effect_per_client"] == pytest.approx(-11 / 4)
    lo, hi = s["interval"]["effect"]  # over the replications' effects, 7/12 - 1 and 6/12 - 1
    assert lo < -0.5 and hi > -5 / 12 and s["interval"]["prepost_none"][0] == s["interval"]["prepost_none"][1]
    empty = summarise_selection(per.iloc[:0])
    assert empty["clients"] == 0 and empty["effect"] is None


def test_selection_effect_pairs_the_arms_with_common_random_numbers():
    sc = frequent(130)
    none = no_program_arm(sc)
    assert not none.programs.outreach.enabled and none.population == sc.population
    summary, per = selection_effect(sc, replications=2, root_seed=0, window_days=60)
    assert summary["clients"] == len(per) > 0 and set(per["replication"]) == {0, 1}
    # before selection the program has touched nobody's calls yet on the first list (CRN: identical histories)
    first = per[np.isclose(per["index_day"], 60.0)]
    assert (first["before_program"] == first["before_none"]).all()
    # a top-of-list selection regresses towards the mean without the program
    assert summary["after_none"] < summary["before_none"]


def test_selection_effect_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="outreach"):
        selection_effect(short(load_scenario("small_district"), 400), 1)
    with pytest.raises(ValueError, match="twice"):
        selection_effect(frequent(100), 1, window_days=60)


def test_first_list_after_the_horizon_is_one_line():
    with pytest.raises(ScenarioError) as exc:
        frequent(50)
    assert len(exc.value.lines) == 1 and "first_refresh_day" in exc.value.lines[0]


def test_cli_selection_effect_errors_are_one_line_with_exit_2():
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "selection-effect", "small_district"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
    assert "outreach" in r.stderr


def test_cli_selection_effect_prints_both_arms_and_writes_the_clients(tmp_path):
    toml = tmp_path / "fc.toml"
    toml.write_text(f'base = "{SCENARIOS / "outreach_frequent_contact.toml"}"\nname = "fc"\n'
                    "[programs.outreach.frequent_contact]\nlookback_days = 60\n")  # fmt: skip
    out = tmp_path / "sub" / "clients.csv"
    r = subprocess.run([sys.executable, "-m", "crisis_sim", "selection-effect", str(toml), "--days", "130", "-R", "1",
                        "--window-days", "60", "--clients-csv", str(out)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "with the program" in r.stdout and "regression to the mean" in r.stdout and "paired effect" in r.stdout
    per = pd.read_csv(out)
    assert list(per.columns) == ["replication", "resident", "index_day", "before_program", "after_program",
                                 "before_none", "after_none"]  # fmt: skip
    assert len(per) > 0


def test_client_table_keeps_each_resident_from_the_first_case():
    class Prog:
        key = "outreach"

        def clients(self):
            return [(5, 10.0, 20.0), (7, 11.0, np.nan), (5, 300.0, 320.0)]

    class Model:
        programs = [Prog()]

    table = client_table(Model())
    assert list(table["resident"]) == [5, 7] and list(table["t_selected"]) == [10.0, 11.0]
    assert client_table(type("M", (), {"programs": []})()).empty


def test_only_participating_districts_are_offered_the_pathway():
    model, _ = cached_run(with_overrides(frequent(), {"programs.outreach.districts": ["station_a"]}, label="<test>"))
    clients = client_table(model)
    assert len(clients) > 0
    districts = {model.residents[r].district for r in clients["resident"]}
    assert districts == {0}
