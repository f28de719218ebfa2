"""crisis_sim as a user gets it: a wheel installed into a fresh environment, run from outside the source tree;
and runtime dependencies that are exactly what the package imports."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from conftest import ROOT

import crisis_sim
from crisis_sim.cli import main
from crisis_sim.scenario.references import load_references

SRC = ROOT / "src" / "crisis_sim"
UNDECLARED_BY_THEIR_USERS = {"networkx"}  # imported by Mesa, which does not declare it


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> set[str]:
    """Top-level modules that any file of src/crisis_sim imports (at module level or inside functions)."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"crisis_sim", "__future__"}


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {_norm(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in reqs}


def test_runtime_dependencies_are_exactly_what_the_package_imports():
    dists = packages_distributions()
    imported = set()
    for module in _imported_top_level_modules():
        assert module in dists, f"src imports {module!r}, which no installed distribution provides"
        imported |= {_norm(d) for d in dists[module]}
    declared = _declared()
    assert imported - declared == set(), "imported by src but not a runtime dependency"
    assert declared - imported == set(UNDECLARED_BY_THEIR_USERS), "runtime dependency that src never imports"
    assert "duckdb" in _declared("test") and "duckdb" not in declared


def _build_wheel(tmp: Path) -> Path:
    """A wheel built from a copy of the project (the source tree gets no build/ or egg-info litter)."""
    project = tmp / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp / "dist"
    # Offline when setuptools is in this environment; otherwise pip fetches the build backend from the index.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q",
                    "-w", str(dist), str(project)], check=True, capture_output=True, text=True)  # fmt: skip
    (wheel,) = dist.glob("crisis_sim-*.whl")
    return wheel


def _fresh_env(tmp: Path, wheel: Path) -> Path:
    """A new virtual environment holding only the wheel; its dependencies come from this environment's
    site-packages through a .pth line (a plain path: that folder's own .pth files, such as the editable
    install's, are not processed), after the environment's own site-packages."""
    env = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)  # fmt: skip
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    (site / "zz_crisis_sim_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path, capsys):
    wheel = _build_wheel(tmp_path)
    env = _fresh_env(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}

    def sh(*argv: str) -> str:
        done = subprocess.run(argv, cwd=elsewhere, env=clean, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    probe = ("import json, crisis_sim; from crisis_sim.dashboard.app import REPO_SCENARIOS, DashboardApp; "
             "print(json.dumps([crisis_sim.__file__, str(REPO_SCENARIOS), len(DashboardApp().scenarios())]))")  # fmt: skip
    file, dashboard_dir, offered = json.loads(sh(str(env / "bin" / "python"), "-c", probe))
    assert Path(file).is_relative_to(env), f"imported {file}, not the installed copy"
    assert Path(dashboard_dir).is_relative_to(env) and offered >= 2  # the dashboard offers the shipped scenarios
    refs = ("import json; from crisis_sim.scenario.references import REFERENCES, load_references; "
            "print(json.dumps([str(REFERENCES), REFERENCES.is_symlink(), len(load_references())]))")  # fmt: skip
    ref_file, linked, n_refs = json.loads(sh(str(env / "bin" / "python"), "-c", refs))
    assert Path(ref_file).is_relative_to(env) and not linked  # the report's reference list ships as a real file
    assert n_refs == len(load_references()) > 20

    crisis = str(env / "bin" / "crisis-sim")
    assert sh(crisis, "--version").strip() == f"crisis-sim {crisis_sim.__version__}"  # not a git checkout
    listing = sh(crisis, "scenarios")
    assert re.search(r"^small_district\s+About 100,000 residents", listing, re.M), listing
    listed = json.loads(sh(crisis, "scenarios", "--json"))
    assert Path(listed["folder"]).is_relative_to(env)
    assert {"small_district", "baseline_midsize_city"} <= {s["name"] for s in listed["scenarios"]}

    summary = json.loads(sh(crisis, "run", "small_district", "--days", "20", "--json"))
    assert summary["provenance"] == {"crisis_sim_version": crisis_sim.__version__, "git_commit": None,
                                     "git_dirty": None}  # fmt: skip
    # the installed copy simulates exactly what the source tree does
    assert main(["run", "small_district", "--days", "20", "--json"]) == 0
    here = json.loads(capsys.readouterr().out)
    for key in ("calls", "mh_calls", "arrests", "ed_transports", "cost_total"):
        assert summary[key] == here[key], key
