"""``crisis-sim report --psa N``: the decision table carries the interval over what we don't know beside the
run-to-run one, and each option's chance of the fewest arrests."""

from __future__ import annotations

import json

from crisis_sim.cli import main


def test_report_with_psa_shows_both_intervals_and_the_chance_of_fewest_arrests(tmp_path):
    out = tmp_path / "r.html"
    argv = ["report", "small_district", "co_response", "-R", "2", "--days", "40", "--psa", "3", "--workers", "2",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    rows = data["decision"]
    assert data["psa"] is True and "evppi" in data["psa_detail"] and data["psa_detail"]["draws"] == 3
    alt = rows[1]["metrics"]["arrests"]
    assert alt["psa_low"] is not None and alt["psa_low"] <= alt["psa_high"]
    assert "psa_low" not in rows[0]["metrics"]["arrests"]  # the baseline has no difference with itself
    chances = [r["prob_best"] for r in rows]
    assert all(0.0 <= p <= 1.0 for p in chances) and abs(sum(chances) - 1.0) < 1e-9
    assert "what we don't know" in out.read_text()


def test_evidence_without_psa_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "small_district", "-R", "2", "--days", "20", "--evidence", "x.toml", "--out", str(out)]) == 2
    assert "--evidence needs --psa N" in capsys.readouterr().err
    assert not out.exists()
