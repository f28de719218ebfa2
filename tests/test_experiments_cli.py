"""`crisis-sim compare` and `crisis-sim sweep` as users meet them: kill -9 and resume, Ctrl-C, refusals, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCENARIOS

from crisis_sim.cli import main
from crisis_sim.experiments.store import read_runs

SMALL = str(SCENARIOS / "small_district.toml")
VARIANT = f"{SMALL}::more_patrol:city.districts.north.patrol_units.day=6"
FAST = ["--days", "20", "--no-progress", "--no-plots"]
TIMING = ["wall_s", "sim_wall_s", "events"]


def _cli_argv() -> list[str]:
    script = Path(sys.executable).parent / "crisis-sim"
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from crisis_sim.cli import main; sys.exit(main())",
    ]  # pragma: no cover


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*_cli_argv(), *args], capture_output=True, text=True, **kw)


def compare_json(capsys, *args: str) -> dict:
    code = main(["compare", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_scenario_against_itself_gives_exact_zero_differences(capsys):
    doc = compare_json(capsys, SMALL, SMALL, "--replications", "3", "--workers", "1", *FAST)
    assert doc["scenarios"] == ["small_district", "small_district#2"]
    for metric, per in doc["metrics"].items():
        for label in doc["scenarios"]:
            v = per[label]
            assert (v["diff"], v["diff_ci_low"], v["diff_ci_high"]) == (0.0, 0.0, 0.0), metric
        assert per["small_district"]["mean"] == per["small_district#2"]["mean"]


def _wait_for_chunk(runs: Path, proc: subprocess.Popen, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(list(runs.glob("*.parquet"))) if runs.exists() else 0
        if n:
            return n
        if proc.poll() is not None:
            pytest.fail(f"batch ended before the first chunk: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.01)
    pytest.fail("no chunk written in time")


def _live_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies excluded)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def test_resume_after_kill_minus_9(tmp_path, capsys):
    args = [SMALL, VARIANT, "--replications", "4", "--workers", "1", "--chunk-size", "1", *FAST]
    out = tmp_path / "killed"
    proc = subprocess.Popen([*_cli_argv(), "compare", *args, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    _wait_for_chunk(out / "runs", proc)
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone, mid-batch, as `kill -9 PID` does
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _live_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _live_in_group(proc.pid), "orphaned workers must exit when the driver dies"
    before = {p.name for p in (out / "runs").glob("*.parquet")}
    assert 1 <= len(before) < 8, "the kill must land in the middle of the batch"

    resumed = compare_json(capsys, *args, "--out", str(out))
    after = {p.name for p in (out / "runs").glob("*.parquet")}
    assert before <= after and len(after) - len(before) == 8 - len(before)  # only the missing runs ran
    killed_runs = read_runs(out)
    assert not killed_runs.duplicated(["scenario_index", "replication"]).any() and len(killed_runs) == 8

    clean = compare_json(capsys, *args, "--out", str(tmp_path / "clean"))
    pd.testing.assert_frame_equal(killed_runs.drop(columns=TIMING), read_runs(tmp_path / "clean").drop(columns=TIMING),
                                  check_exact=True)  # fmt: skip
    assert {k: v for k, v in resumed.items() if k != "store"} == {
        k: v for k, v in clean.items() if k != "store"
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["done_runs"] == 8


def _sigint_default() -> None:
    """As in a terminal: a test run started in the background (nohup, `&`) inherits SIGINT ignored, and Python
    then rightly leaves Ctrl-C ignored in the child too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    out = tmp_path / "store"
    proc = subprocess.Popen([*_cli_argv(), "compare", SMALL, "--replications", "12", "--workers", "1",
                             "--chunk-size", "1", *FAST, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_sigint_default)  # fmt: skip
    _wait_for_chunk(out / "runs", proc)
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    assert 1 <= len(list((out / "runs").glob("*.parquet"))) < 12


def test_changed_command_against_existing_store_is_refused(tmp_path, capsys):
    out = str(tmp_path / "store")
    base = [SMALL, "--replications", "2", "--workers", "1", *FAST, "--out", out]
    assert main(["compare", *base]) == 0
    capsys.readouterr()
    assert main(["compare", *base[:-2], "--seed", "7", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different experiment (root_seed 0 -> 7)" in err
    assert main(["compare", *base, "--set", "city.districts.north.patrol_units.day=5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "city.districts.0.patrol_units.day: 4 -> 5" in err
    assert main(["compare", *base, "--json"]) == 0  # the same command again: nothing to run, same answer
    capsys.readouterr()
    assert (
        main(["compare", *base, "--metric", "nope"]) == 2
    )  # unknown metric: checked against the stored runs
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "found 'nope'" in err


def test_bad_overrides_give_one_line_schema_errors_without_traceback():
    res = run_cli("compare", SMALL, f"{SMALL}::x:city.districts.north.patrol_units.day=-1,city.bogus=1",
                  "--replications", "2", *FAST)  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(SMALL) for line in lines)
    assert any("city.districts.0.patrol_units.day" in line for line in lines)
    assert any("unknown key 'bogus'" in line for line in lines)


def test_usage_errors_are_one_line(capsys):
    for argv in (["compare", f"{SMALL}::", "--replications", "2"],
                 ["compare", SMALL, "--replications", "2", "--set", "nonsense"],
                 ["compare", SMALL, "--replications", "2", "--metric", "no such"],
                 ["sweep", SMALL, "--replications", "2"],
                 ["sweep", SMALL, "--replications", "2", "--lhs", "3", "--range", "city.population=9:1"]):  # fmt: skip
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("crisis-sim: error:"), err
    with pytest.raises(SystemExit) as exc:
        main(["compare", SMALL, "--replications", "0"])
    assert exc.value.code == 2


def test_sweep_grid_and_lhs(tmp_path, capsys):
    code = main(["sweep", SMALL, "--param", "city.districts.north.patrol_units.day=3,5", "--replications", "2",
                 "--workers", "1", *FAST, "--json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["scenarios"] == ["base", "day=3", "day=5"]
    assert doc["params"]["day=5"] == {"city.districts.north.patrol_units.day": 5}
    assert (
        doc["metrics"]["median_response_min"]["day=5"]["diff"]
        <= 0
        <= doc["metrics"]["median_response_min"]["day=3"]["diff"]
    )
    out = tmp_path / "lhs"
    code = main(["sweep", SMALL, "--lhs", "2", "--range", "destinations.ed.assessment_slots=1:3", "--replications",
                 "2", "--workers", "1", "--days", "20", "--no-progress", "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "lhs000" in text and "lhs001" in text
    assert (out / "sweep.json").exists() and (out / "plots" / "arrests.png").exists()


def test_without_out_the_temporary_store_is_removed(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = main(["compare", SMALL, "--replications", "2", "--workers", "1", *FAST])
    text = capsys.readouterr().out
    assert code == 0 and "diff vs small_district" in text
    assert not list(tmp_path.glob("crisis-sim-experiment-*"))
