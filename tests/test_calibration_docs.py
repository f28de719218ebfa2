"""docs/parameters.md is generated from the schema (plus calibration/params.toml and the `# calibrated:` marks of
the shipped scenarios): it must be current, and every shipped calibrated value must be a free parameter."""

from __future__ import annotations

from conftest import ROOT

from crisis_sim.scenario import docs


def test_parameters_md_is_current():
    current = (ROOT / "docs" / "parameters.md").read_text()
    assert current == docs.render(), "regenerate: python -m crisis_sim.scenario.docs > docs/parameters.md"


def test_calibrated_marks_name_free_parameters_or_their_balancing_share():
    free = {p["path"] for p in docs.calibrated_params()} | {
        p["balance"] for p in docs.calibrated_params() if p.get("balance")
    }
    for file, key, _value, note in docs.calibrated_values():
        assert key in free, f"{file}: {key} is marked calibrated but is not in calibration/params.toml"
        assert note.startswith("calibrate-"), note
