"""Every module imports on its own, first, in a fresh interpreter: no import cycle hides behind a lucky import
order. Folders without ``__init__.py`` (namespace packages such as ``model/``) are walked too."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import crisis_sim

ROOT = Path(crisis_sim.__path__[0])


def all_modules() -> list[str]:
    """Every module and package under src/crisis_sim, ``__init__.py`` or not (``__main__`` modules excluded)."""
    folders = [ROOT] + sorted(
        p for p in ROOT.rglob("*") if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    )
    names = set()
    for folder in folders:
        package = ".".join(("crisis_sim", *folder.relative_to(ROOT).parts))
        names.add(package)
        names.update(m.name for m in pkgutil.iter_modules([str(folder)], package + "."))
    return sorted(n for n in names if not n.endswith(".__main__"))


MODULES = all_modules()


def test_the_walk_finds_the_namespace_packages():
    assert {"crisis_sim.model", "crisis_sim.model.crisis_model", "crisis_sim.model.patrol"} <= set(MODULES)
    assert {"crisis_sim.api", "crisis_sim.sim", "crisis_sim.experiments.store"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_first(name):
    proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"import {name} (first, in a fresh interpreter) failed:\n{proc.stderr}"
