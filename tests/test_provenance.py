"""Which crisis_sim made a result: provenance in outputs, `crisis-sim --version`, `crisis-sim scenarios`, built-in
scenario names, and stores or studies of another version refused unless --allow-version-change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import optuna
import pytest
from conftest import ROOT

import crisis_sim
from crisis_sim import provenance as prov
from crisis_sim.cli import build_parser, main

FAST = ["--days", "10", "--workers", "1"]
CURRENT = prov.provenance()


def _git_head() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)  # fmt: skip
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# --- the provenance record -----------------------------------------------------------------------------------
def test_provenance_names_the_version_and_the_checkout_commit():
    p = prov.provenance()
    assert set(p) == {"crisis_sim_version", "git_commit", "git_dirty"}
    assert p["crisis_sim_version"] == crisis_sim.__version__
    head = _git_head()
    if head is None:  # tests run from an unpacked copy without git
        assert p["git_commit"] is None
    else:
        assert p["git_commit"] == head and isinstance(p["git_dirty"], bool)
    assert prov.provenance() is p  # cached


def test_provenance_survives_a_missing_git(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert prov._git_state() == (None, None)


def test_describe():
    assert prov.describe({"crisis_sim_version": "0.1.0", "git_commit": None}) == "crisis_sim 0.1.0"
    assert (prov.describe({"crisis_sim_version": "0.1.0", "git_commit": "abc1234def", "git_dirty": False})
            == "crisis_sim 0.1.0 (commit abc1234)")  # fmt: skip
    assert "uncommitted" in prov.describe({"crisis_sim_version": "0.1.0", "git_commit": "abc1234def",
                                           "git_dirty": True})  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "current", "changed"),
    [
        ({"crisis_sim_version": "0.1.0", "git_commit": "a" * 40}, {"crisis_sim_version": "0.1.0", "git_commit": "a" * 40}, False),
        ({"crisis_sim_version": "0.1.0", "git_commit": None}, {"crisis_sim_version": "0.1.0", "git_commit": "a" * 40}, False),
        ({"crisis_sim_version": "0.1.0", "git_commit": "a" * 40}, {"crisis_sim_version": "0.1.0", "git_commit": None}, False),
        ({"crisis_sim_version": "0.1.0", "git_commit": "a" * 40}, {"crisis_sim_version": "0.1.0", "git_commit": "b" * 40}, True),
        ({"crisis_sim_version": "0.0.9", "git_commit": None}, {"crisis_sim_version": "0.1.0", "git_commit": None}, True),
        (None, {"crisis_sim_version": "0.1.0", "git_commit": None}, True),
    ],
)  # fmt: skip
def test_version_change(stored, current, changed):
    why = prov.version_change(stored, current)
    assert (why is not None) == changed
    if changed:
        assert why.startswith("made by ") and "this is crisis_sim 0.1.0" in why


# --- the command line ----------------------------------------------------------------------------------------
def test_version_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == prov.describe().replace("crisis_sim", "crisis-sim", 1)
    assert out.startswith(f"crisis-sim {crisis_sim.__version__}")


def test_scenarios_lists_the_builtin_ones_with_descriptions(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("small_district "))
    assert "About 100,000 residents" in line
    assert main(["scenarios", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [s["name"] for s in doc["scenarios"]]
    assert names == sorted(names) and {"small_district", "baseline_midsize_city", "mixed_city"} <= set(names)
    assert all(s["description"] and Path(s["file"]).is_file() for s in doc["scenarios"])


def test_run_takes_a_builtin_name_and_records_provenance(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here
    out = tmp_path / "out"
    assert main(["run", "small_district", "--days", "10", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["provenance"] == CURRENT
    assert json.loads((out / "summary.json").read_text())["provenance"] == CURRENT


def test_an_unknown_name_is_one_line_listing_the_builtin_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "small_distric", "--days", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("small_distric: expected an existing scenario file or a built-in")
    assert "small_district" in err[0] and not (tmp_path / "out").exists()


def test_every_scenario_command_takes_builtin_names_and_variants(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "small_district", "cit"]) == 0
    assert "small_district: valid" in capsys.readouterr().out
    code = main(["compare", "small_district", "small_district::more:city.districts.0.patrol_units.day=6", "-R", "1",
                 *FAST, "--no-progress", "--json"])  # fmt: skip
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenarios"] == ["small_district", "more"] and doc["provenance"] == CURRENT
    code = main(["sweep", "small_district", "--param", "dispatch.mh_identification=0.5", "-R", "1", *FAST,
                 "--no-progress", "--json"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()


@pytest.mark.parametrize("command", ["compare", "sweep", "sensitivity", "report", "calibrate"])
def test_commands_that_resume_take_allow_version_change(command):
    extra = {"compare": ["-R", "1"], "sweep": ["-R", "1"], "sensitivity": ["--inputs", "x", "--n", "2", "-R", "1"],
             "report": ["-R", "1"], "calibrate": ["--targets", "x"]}[command]  # fmt: skip
    args = build_parser().parse_args([command, "small_district", *extra, "--allow-version-change"])
    assert args.allow_version_change is True


# --- stores of another version -------------------------------------------------------------------------------
def _set_stored_version(store: Path, version: str) -> None:
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["provenance"]["crisis_sim_version"] = version
    (store / "manifest.json").write_text(json.dumps(manifest))


def test_a_store_of_another_version_is_refused_unless_allowed(tmp_path, capsys):
    store = tmp_path / "store"
    argv = ["compare", "small_district", "cit", "-R", "1", *FAST, "--no-progress", "--no-plots", "--out", str(store)]
    assert main(argv) == 0
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["provenance"] == CURRENT and manifest["resumed_by"] == []
    assert json.loads((store / "spec.json").read_text())["provenance"] == CURRENT
    assert json.loads((store / "compare.json").read_text())["provenance"] == CURRENT
    _set_stored_version(store, "0.0.1")
    capsys.readouterr()
    # resuming with more replications (same spec would need no runs, but is refused all the same)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(store) in err[0] and "crisis_sim 0.0.1" in err[0]
    assert f"this is crisis_sim {crisis_sim.__version__}" in err[0] and "--allow-version-change" in err[0]
    assert json.loads((store / "manifest.json").read_text())["provenance"]["crisis_sim_version"] == "0.0.1"
    assert main([*argv, "--allow-version-change"]) == 0
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["provenance"]["crisis_sim_version"] == "0.0.1"  # who made it stays on record
    assert manifest["resumed_by"] == [CURRENT]
    capsys.readouterr()
    assert main(argv) == 2  # still another version's store


def test_a_store_without_a_recorded_version_is_refused(tmp_path, capsys):
    store = tmp_path / "store"
    argv = ["compare", "small_district", "-R", "1", *FAST, "--no-progress", "--no-plots", "--out", str(store)]
    assert main(argv) == 0
    manifest = json.loads((store / "manifest.json").read_text())
    del manifest["provenance"]
    (store / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(argv) == 2
    assert "unrecorded crisis_sim version" in capsys.readouterr().err


def test_report_refuses_another_versions_store_and_records_the_version(tmp_path, capsys):
    store, html = tmp_path / "store", tmp_path / "r.html"
    argv = ["report", "small_district", "-R", "1", *FAST, "--no-progress", "--store", str(store), "--out", str(html)]
    assert main(argv) == 0
    assert f"<p class=muted id=provenance>{prov.describe()}</p>" in html.read_text()
    html.unlink()
    _set_stored_version(store, "9.9.9")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "crisis_sim 9.9.9" in err[0] and not html.exists()
    assert main([*argv, "--allow-version-change"]) == 0 and html.exists()


SENS_INPUTS = """
metrics = ["arrests"]

[[inputs]]
name = "identification"
path = "dispatch.mh_identification"
low = 0.4
high = 0.8
source = "test"
"""


def test_sensitivity_refuses_another_versions_store_and_records_the_version(tmp_path, capsys):
    inputs = tmp_path / "inputs.toml"
    inputs.write_text(SENS_INPUTS)
    store = tmp_path / "store"
    argv = ["sensitivity", "small_district", "--inputs", str(inputs), "--method", "morris", "--n", "2", "-R", "1",
            *FAST, "--no-progress", "--no-plots", "--out", str(store)]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((store / "sensitivity.json").read_text())["provenance"] == CURRENT
    _set_stored_version(store, "0.0.1")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "crisis_sim 0.0.1" in err[0]
    assert main([*argv, "--allow-version-change"]) == 0


def test_calibration_records_the_version_and_refuses_another_versions_study(tmp_path, capsys):
    params = tmp_path / "params.toml"
    params.write_text('[[param]]\npath = "dispatch.mh_identification"\nlow = 0.2\nhigh = 0.9\nsource = "test"\n')
    targets = tmp_path / "targets.toml"
    targets.write_text('[[fit]]\nname = "arrest"\nstatistic = "arrest_rate"\nvalue = 0.075\nsd = 0.01\n'
                       'source = "test"\n')  # fmt: skip
    out = tmp_path / "cal"
    argv = ["calibrate", "small_district", "--targets", str(targets), "--params", str(params), "-R", "1", *FAST,
            "--out", str(out), "--no-plots"]  # fmt: skip
    assert main([*argv, "--trials", "1"]) == 0
    assert json.loads((out / "best_params.json").read_text())["provenance"] == CURRENT
    assert json.loads((out / "provenance.json").read_text())["study_begun_by"] == CURRENT
    assert prov.describe() in (out / "fit.md").read_text()
    assert f"# Simulated by {prov.describe()}" in (out / "calibrated.toml").read_text()
    study = optuna.load_study(study_name="calibrate-small_district", storage=f"sqlite:///{out / 'study.db'}")
    study.set_user_attr("provenance", {**CURRENT, "crisis_sim_version": "0.0.1"})
    capsys.readouterr()
    assert main([*argv, "--trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "study.db" in err[0] and "crisis_sim 0.0.1" in err[0], err
    assert main([*argv, "--trials", "2", "--allow-version-change"]) == 0
    doc = json.loads((out / "provenance.json").read_text())
    assert doc["study_begun_by"]["crisis_sim_version"] == "0.0.1" and doc["study_resumed_by"] == [CURRENT]
