"""Schema sections of the response-model programs (CIT, co-response, mobile crisis, ...).

Each program adds one optional field here holding its own section; a section that is absent or has
``enabled = false`` leaves the model exactly as police-as-usual.
"""

from __future__ import annotations

from crisis_sim.scenario.params import Strict
from crisis_sim.scenario.program_sections.mobile_crisis import MobileCrisisConfig
from crisis_sim.scenario.program_sections.stabilization import StabilizationConfig


class ProgramsConfig(Strict):
    """One optional section per program; none yet in the core engine."""

    mobile_crisis: MobileCrisisConfig | None = None
    stabilization: StabilizationConfig | None = None
