"""Every module imports on its own, first: no import cycle hides behind a lucky import order."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest

import crisis_sim

MODULES = sorted(m.name for m in pkgutil.walk_packages(crisis_sim.__path__, "crisis_sim.") if ".__main__" not in m.name)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_first(name):
    saved = {k: v for k, v in sys.modules.items() if k == "crisis_sim" or k.startswith("crisis_sim.")}
    for k in saved:
        del sys.modules[k]
    try:
        importlib.import_module(name)
    finally:
        for k in [k for k in sys.modules if k == "crisis_sim" or k.startswith("crisis_sim.")]:
            del sys.modules[k]
        sys.modules.update(saved)
