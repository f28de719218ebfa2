"""Police-as-usual baseline against the published anchors in DOMAIN.md (measured from a run, not asserted from
constants): MH share of calls 5-8% broad definition, arrests 5-8% and force <2% of crisis contacts (Seattle),
involuntary apprehension 20-29% (Toronto), afternoon-evening peak with a ~05:00 trough (Wuschke; Vaughan)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

from crisis_sim.scenario import load_scenario
from crisis_sim.sim import run_single


@pytest.mark.slow
def test_small_district_year_is_face_valid():
    s = run_single(load_scenario(SCENARIOS / "small_district.toml"), 0, 0).summary
    assert 0.04 <= s["mh_share"] <= 0.09
    assert 0.03 <= s["arrest_rate"] <= 0.10
    assert s["force_rate"] < 0.03
    assert 0.14 <= s["hold_rate"] <= 0.32
    hourly = np.array(s["mh_hourly_share"])
    assert hourly[3:7].mean() < 0.6 * hourly[14:21].mean()
    assert 60 <= s["officer_min_per_involuntary"] <= 240
    assert s["open_calls"] < 0.01 * s["calls"]
