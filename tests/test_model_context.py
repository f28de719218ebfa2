"""The model's declared contract (model/context.py): a built model has every name in it, and programs and timeline
effects use no attribute of the model outside it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import small

import crisis_sim
from crisis_sim.model.context import CONTEXT_NAMES
from crisis_sim.sim import CrisisModel

PKG = Path(crisis_sim.__file__).parent
USERS = sorted((PKG / "programs").glob("*.py")) + sorted((PKG / "timeline").glob("*.py"))
MODEL_NAMES = {"model", "m"}  # how programs and effects name the model they were handed


def model_attributes(path: Path) -> set[str]:
    """Attributes read or written on the model: ``model.x``, ``m.x``, ``self.model.x``, ``tl.model.x``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        v = node.value
        if (isinstance(v, ast.Name) and v.id in MODEL_NAMES) or (isinstance(v, ast.Attribute) and v.attr == "model"):
            out.add(node.attr)
    return out


def test_a_built_model_has_every_name_of_the_contract():
    model = CrisisModel(small(10))
    missing = [name for name in CONTEXT_NAMES if not hasattr(model, name)]
    assert not missing
    assert len(CONTEXT_NAMES) >= 20


@pytest.mark.parametrize("path", USERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_programs_and_effects_use_only_the_contract(path: Path):
    used = model_attributes(path)
    outside = sorted(used - set(CONTEXT_NAMES))
    assert not outside, f"{path.name} uses model attributes outside model/context.py: {outside}"


def test_the_check_sees_a_use_outside_the_contract(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(self):\n    return self.model._set_rate, self.model.env\n")
    assert model_attributes(bad) == {"_set_rate", "env"}


def test_no_private_attribute_of_simpy_is_used():
    for path in PKG.rglob("*.py"):
        text = path.read_text()
        for private in ("env._", "._eid", "._queue", "store._", "simpy.core._"):
            assert private not in text, f"{path.relative_to(PKG)} reads a private SimPy attribute ({private})"
