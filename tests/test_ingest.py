"""crisis-sim ingest / baseline-check: a city's call records as the baseline. Generated records with a known
profile must be recovered; bad files give one line naming the row and column, exit 2, nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim.analysis.ingest import IngestOptions, hourly_profile, profile_calls, read_calls
from crisis_sim.cli import main
from crisis_sim.scenario import load_scenario

HOURLY = np.array([0.5, 0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.7, 0.9, 1.1, 1.2, 1.3, 1.35, 1.4, 1.45, 1.5, 1.55,
                   1.6, 1.5, 1.4, 1.3, 1.1, 0.9, 0.7])  # fmt: skip
WEEKDAY = np.array([1.1, 1.1, 1.0, 1.0, 1.1, 0.85, 0.85])
DISTRICTS = {"north": 0.6, "south": 0.4}
MH_SHARE = 0.12
DISPOSITIONS = {"arrest": 0.08, "involuntary": 0.22, "transport": 0.15, "resolved": 0.45, "report": 0.10}
POPULATION = 50_000


def make_calls(n: int = 30_000, weeks: int = 8, seed: int = 1) -> pd.DataFrame:
    """Calls with a known weekly profile (from Monday 2024-01-01), MH share, district and disposition shares."""
    rng = np.random.default_rng(seed)
    week = np.outer(WEEKDAY, HOURLY).ravel()
    hour_of_week = rng.choice(168, size=n, p=week / week.sum())
    week_no = rng.integers(0, weeks, size=n)
    minutes = rng.integers(0, 60, size=n)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(week_no * 7 * 24 * 60 + hour_of_week * 60 + minutes, "min")
    mh = rng.random(n) < MH_SHARE
    call_type = np.where(mh, "Mental Health", rng.choice(["theft", "traffic", "noise"], size=n))
    district = rng.choice(list(DISTRICTS), size=n, p=list(DISTRICTS.values()))
    disp = rng.choice(list(DISPOSITIONS), size=n, p=list(DISPOSITIONS.values()))
    return pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M"), "call_type": call_type, "district": district,
                         "disposition": disp}).sort_values("timestamp")  # fmt: skip


@pytest.fixture(scope="module")
def calls_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("ingest") / "calls.csv"
    make_calls().to_csv(path, index=False)
    return path


def test_ingest_recovers_the_known_profile(calls_csv):
    options = IngestOptions(population=POPULATION)
    p = profile_calls(read_calls(calls_csv, options), options)
    assert p["days"] == 56 and p["calls"] == 30_000
    assert p["calls_per_1000_per_day"] == pytest.approx(30_000 / 56 / POPULATION * 1000)
    assert p["mh_share"] == pytest.approx(MH_SHARE, abs=0.01)
    assert p["district_shares"]["north"] == pytest.approx(0.6, abs=0.015)
    other = np.array(p["other_hourly_profile"])  # 26,000 calls: each hour within 8% of the truth
    assert np.max(np.abs(other / (HOURLY / HOURLY.mean()) - 1)) < 0.08
    assert np.max(np.abs(np.array(p["other_weekday_profile"]) / (WEEKDAY / WEEKDAY.mean()) - 1)) < 0.05
    mh = np.array(p["mh_hourly_profile"])  # 3,600 MH calls: the shape, less precisely
    assert np.corrcoef(mh, HOURLY)[0, 1] > 0.95
    assert p["dispositions"]["involuntary"]["share"] == pytest.approx(0.22, abs=0.03)
    d = p["dispositions"]["arrest"]
    assert d["low"] < 0.08 < d["high"]


def test_weekday_profile_is_not_biased_by_a_partial_week(tmp_path):
    # Monday to the next Monday: two Mondays in the span; equal calls per day must give a flat profile.
    days = pd.date_range("2024-01-01", "2024-01-08", freq="D")
    rows = [{"timestamp": f"{d:%Y-%m-%d} 12:00", "call_type": "mh", "district": "a", "disposition": "resolved"}
            for d in days for _ in range(5)]  # fmt: skip
    path = tmp_path / "c.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    p = profile_calls(read_calls(path, IngestOptions(1000)), IngestOptions(1000))
    assert p["mh_weekday_profile"] == [1.0] * 7


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 23), min_size=1, max_size=200))
def test_hourly_profile_has_mean_one(hours):
    ts = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(hours, "h"))
    prof = hourly_profile(ts)
    assert len(prof) == 24 and sum(prof) == pytest.approx(24, abs=1e-3) and min(prof) >= 0


def test_ingest_writes_a_loadable_scenario_and_targets(calls_csv, tmp_path, capsys):
    out = tmp_path / "city.toml"
    code = main(["ingest", str(calls_csv), "--population", str(POPULATION), "--out", str(out), "--base",
                 "small_district"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    sc = load_scenario(out)
    assert sc.city.population == POPULATION and [d.name for d in sc.city.districts] == ["north", "south"]
    assert sc.demand.mh_share == pytest.approx(MH_SHARE, abs=0.01)
    assert sum(d.population_share for d in sc.city.districts) == pytest.approx(1.0)
    targets = (tmp_path / "city_targets.toml").read_text()
    assert "[[validation]]" in targets and 'statistic = "hold_rate"' in targets and "range = [" in targets
    from crisis_sim.analysis.calibration import load_targets

    assert {t.name for t in load_targets(tmp_path / "city_targets.toml")} >= {"city_arrest", "city_involuntary"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty file"),
        ("timestamp,call_type,district,disposition\n", "no call records"),
        ("timestamp,call_type,disposition\n2024-01-01 10:00,mh,arrest\n", "column 'district': not found"),
        ("timestamp,call_type,district,disposition\n2024-01-01 10:00,mh,a,arrest\nyesterday,mh,a,arrest\n",
         "row 2 (line 3), column 'timestamp': expected a date and time"),
        ("timestamp,call_type,district,disposition\n2024-01-01 10:00,mh,,arrest\n",
         "row 1 (line 2), column 'district': empty"),
    ],
)
def test_bad_files_one_line_exit_2_nothing_written(tmp_path, capsys, content, expected):
    path = tmp_path / "calls.csv"
    path.write_text(content)
    out = tmp_path / "city.toml"
    assert main(["ingest", str(path), "--population", "1000", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and expected in err[0], err
    assert not out.exists() and not (tmp_path / "city_targets.toml").exists()


def test_column_names_are_mapped_by_flags(tmp_path):
    df = make_calls(500).rename(columns={"timestamp": "Received", "call_type": "Nature"})
    path = tmp_path / "c.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "c.toml"
    assert main(["ingest", str(path), "--population", "1000", "--out", str(out), "--time-column", "Received",
                 "--call-type-column", "Nature", "--base", "small_district"]) == 0  # fmt: skip
    assert out.exists()


@pytest.mark.slow
def test_baseline_check_prints_the_match_table(calls_csv, tmp_path, capsys):
    out = tmp_path / "city.toml"
    assert main(["ingest", str(calls_csv), "--population", str(POPULATION), "--out", str(out), "--base",
                 "small_district"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["baseline-check", str(out), "--data", str(calls_csv), "--population", str(POPULATION),
                 "-R", "2", "--days", "60"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "How well does the model match your city?" in text
    for part in ("MH calls by time of day", "MH calls by weekday", "MH call dispositions", "Mon", "arrest"):
        assert part in text
    assert "rows match" in text


def test_bad_disposition_values_flag_is_one_line_exit_2(calls_csv, tmp_path, capsys):
    out = tmp_path / "c.toml"
    assert main(["ingest", str(calls_csv), "--population", "1000", "--out", str(out),
                 "--disposition-values", "jail=ARR"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--disposition-values" in err[0] and "'jail=ARR'" in err[0]
    assert not out.exists()


def test_no_mh_call_type_is_one_line_naming_the_flag(calls_csv, tmp_path, capsys):
    out = tmp_path / "c.toml"
    assert main(["ingest", str(calls_csv), "--population", "1000", "--out", str(out), "--mh-types", "nothing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--mh-types" in err[0] and not out.exists()


def test_public_api_ingest_calls(calls_csv, tmp_path):
    import crisis_sim as cs

    p = cs.ingest_calls(calls_csv, population=POPULATION, mh_types=["mental health"])
    assert p["mh_share"] == pytest.approx(MH_SHARE, abs=0.01) and len(p["mh_hourly_profile"]) == 24
    bad = tmp_path / "bad.csv"
    bad.write_text("when,call_type,district,disposition\n2024-01-01 10:00,mh,a,arrest\n")
    with pytest.raises(ValueError, match="column 'timestamp': not found"):
        cs.ingest_calls(bad, population=1000)
    assert cs.ingest_calls(bad, population=1000, columns={"timestamp": "when"})["calls"] == 1
