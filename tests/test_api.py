"""The public API (``import crisis_sim as cs``, docs/api.md): every name resolves, is documented and keeps its
meaning whatever is imported later; runs and experiments return DataFrames keyed by scenario label; bad paths
fail at once with a clear error; CrisisModel runs under ``mesa.batch_run``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import crisis_sim as cs

ROOT = Path(__file__).resolve().parent.parent
DAYS = 20


def test_every_public_name_resolves_and_has_a_docstring():
    assert cs.__all__, "the public API is empty"
    for name in cs.__all__:
        value = getattr(cs, name)
        assert (value.__doc__ or "").strip(), f"crisis_sim.{name} has no docstring"


def test_every_public_name_is_documented_in_docs_api_md():
    text = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in cs.__all__ if f"`{name}" not in text]
    assert not missing, f"docs/api.md does not document {missing}"


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)


def test_simulate_stays_the_function_after_run_single_is_touched():
    proc = _python(
        """
        import inspect
        import crisis_sim
        crisis_sim.run_single
        import crisis_sim.sim
        assert inspect.isfunction(crisis_sim.simulate), crisis_sim.simulate
        assert crisis_sim.simulate is crisis_sim.sim.simulate
        """
    )
    assert proc.returncode == 0, proc.stderr


def test_no_public_name_changes_meaning_when_every_module_is_imported():
    """Resolve every name, import every module of the package (model/ included), resolve again: same objects."""
    proc = _python(
        """
        import importlib, os
        import crisis_sim
        before = {name: getattr(crisis_sim, name) for name in crisis_sim.__all__}
        root = crisis_sim.__path__[0]
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
            package = "crisis_sim" + folder[len(root):].replace(os.sep, ".")
            for f in sorted(files):
                if f.endswith(".py") and f not in ("__init__.py", "__main__.py"):
                    importlib.import_module(f"{package}.{f[:-3]}")
        changed = [n for n in crisis_sim.__all__ if getattr(crisis_sim, n) is not before[n]]
        assert not changed, changed
        """
    )
    assert proc.returncode == 0, proc.stderr


def test_run_returns_the_ledger_the_series_and_the_summary():
    result = cs.run("small_district", days=DAYS)
    assert isinstance(result, cs.RunResult)
    assert isinstance(result.ledger, pd.DataFrame) and isinstance(result.timeseries, pd.DataFrame)
    assert result.summary["calls"] > 0
    # counted() keeps exactly the calls the summary counts, whether warm-up comes from the ledger or the scenario
    kept = cs.counted(result.ledger)
    assert len(kept) == result.summary["calls"]
    assert 0 < len(kept) < len(result.ledger)  # the shortened run still has a warm-up
    pd.testing.assert_frame_equal(cs.counted(result.ledger, "small_district", days=DAYS), kept)
    again = cs.run(cs.load_scenario("small_district"), days=DAYS)
    pd.testing.assert_frame_equal(again.ledger, result.ledger, check_exact=True)


def test_builtin_scenarios_are_listed_and_load_by_name():
    names = cs.builtin_scenarios()
    assert "small_district" in names
    assert cs.load_scenario("small_district") == cs.load_scenario(names["small_district"])


def test_compare_returns_a_tidy_table_keyed_by_scenario_label(tmp_path):
    more = cs.with_overrides(cs.load_scenario("small_district"), {"city.districts.north.patrol_units.day": 6})
    table = cs.compare(
        {"as_is": "small_district", "more_patrol": more, "as_is_again": ROOT / "scenarios" / "small_district.toml"},
        replications=2, days=DAYS, store=tmp_path / "store", metrics=["arrests", "calls"],
    )  # fmt: skip
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:2]) == ["scenario", "metric"]
    assert table.attrs["scenarios"] == ["as_is", "more_patrol", "as_is_again"]
    assert sorted(table.groupby("scenario").size().items()) == [("as_is", 2), ("as_is_again", 2), ("more_patrol", 2)]
    by = table.set_index(["scenario", "metric"])
    # the same scenario twice over common random numbers: identical means, paired difference exactly 0
    assert by.loc[("as_is_again", "calls"), "mean"] == by.loc[("as_is", "calls"), "mean"] > 0
    assert by.loc[("as_is_again", "arrests"), "diff"] == 0.0
    assert (by["n"] == 2).all()
    # the store holds the runs, keyed by the same labels
    runs = cs.load_runs(tmp_path / "store")
    assert sorted(runs["scenario"].unique()) == ["as_is", "as_is_again", "more_patrol"]
    series = cs.load_series(tmp_path / "store")
    assert set(series["scenario"]) == {"as_is", "more_patrol", "as_is_again"}
    assert cs.plot_differences(table).startswith(b"\x89PNG")
    assert len(cs.describe_differences(table)) == 2


def test_sweep_returns_a_table_keyed_by_point_label():
    path = "city.districts.north.patrol_units.day"
    table = cs.sweep("small_district", {path: [3, 6]}, replications=1, days=DAYS, metrics=["calls"])
    assert list(table["scenario"]) == ["base", "day=3", "day=6"]
    assert table[path].tolist()[1:] == [3, 6] and pd.isna(table[path].iloc[0])
    assert table.attrs["params"]["day=6"] == {path: 6}


def test_a_missing_scenario_file_fails_with_the_file_named():
    with pytest.raises(cs.ScenarioError, match=r"no/such\.toml.*expected an existing scenario file"):
        cs.run("no/such.toml")


def test_a_store_that_is_not_a_store_fails_at_once(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(cs.StoreError, match="expected an empty folder or a crisis-sim results store"):
        cs.compare(["small_district"], replications=1, days=DAYS, store=tmp_path)
    with pytest.raises(cs.StoreError, match="expected a folder for the results store, found a file"):
        cs.compare(["small_district"], replications=1, days=DAYS, store=tmp_path / "notes.txt")
    with pytest.raises(cs.StoreError, match="expected a crisis-sim results store"):
        cs.load_runs(tmp_path)
    with pytest.raises(TypeError, match="store: expected a folder path"):
        cs.compare(["small_district"], replications=1, days=DAYS, store=42)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing was written or run


def test_mesa_batch_run_runs_the_model_and_a_seed_repeats():
    mesa = pytest.importorskip("mesa")
    rows = mesa.batch_run(
        cs.CrisisModel, {"scenario": ["small_district"]}, rng=[0, 1, 0], max_steps=5, display_progress=False,
        number_processes=1,
    )  # fmt: skip
    assert len(rows) == 3
    first, other, repeat = ({k: v for k, v in r.items() if k not in ("RunId", "iteration")} for r in rows)
    assert first["Step"] == 5 and first["calls"] > 0
    assert repeat == first  # rng=0 twice: identical results
    assert other != first  # rng=1 is another draw


# --- design search and robustness ---------------------------------------------------------------------------------
def test_design_then_robustness_of_its_designs_give_tidy_tables(tmp_path):
    from test_design import LEVERS
    from test_robustness import UNC

    small = str(ROOT / "scenarios" / "small_district.toml")
    levers = tmp_path / "levers.toml"
    levers.write_text(LEVERS, encoding="utf-8")
    res = cs.design(small, levers, trials=2, out=tmp_path / "design", replications=1, days=30, population=2,
                    confirm_replications=2)  # fmt: skip
    assert set(res) == {"pareto", "trials", "best_feasible", "closest", "confirmation", "document"}
    assert len(res["trials"]) == 2 and {"trial", "feasible", "teams", "start", "annual_cost"} <= set(res["trials"])
    assert 1 <= len(res["pareto"]) <= 2 and set(res["pareto"]["trial"]) <= set(res["trials"]["trial"])
    chosen = res["best_feasible"] or res["closest"][0]
    assert chosen["overrides"]["programs.mobile_crisis.teams"] == chosen["levers"]["teams"]
    conf = res["confirmation"]
    assert list(conf.columns[:3]) == ["design", "metric", "mean"] and (conf["design"].str.startswith("trial-")).all()
    assert (tmp_path / "design" / "pareto.json").exists()

    unc = tmp_path / "unc.toml"
    unc.write_text(UNC, encoding="utf-8")
    rob = cs.robustness([], unc, experiments=3, out=tmp_path / "rob", replications=1, days=30,
                        designs=tmp_path / "design" / "pareto.json", pick="all")  # fmt: skip
    labels = [f"design-trial-{t}" for t in res["pareto"]["trial"]]
    assert list(rob["policies"]["policy"]) == labels
    assert {"failure_share", "satisficing", "regret"} <= set(rob["policies"].columns)
    assert list(rob["boxes"].columns) == ["policy", "box", "uncertainty", "low", "high", "coverage", "density",
                                          "mass"]  # fmt: skip
    assert len(rob["experiments"]) == 3 * len(labels) and rob["experiments"]["failed"].dtype == bool
    assert set(rob["document"]["policies"]) == set(labels)
