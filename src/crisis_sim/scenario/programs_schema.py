"""Schema sections of the response-model programs (CIT, co-response, mobile crisis, ...).

Each program adds one optional field here holding its own section; a section that is absent or has
``enabled = false`` leaves the model exactly as police-as-usual.
"""

from __future__ import annotations

from crisis_sim.scenario.params import Strict
from crisis_sim.scenario.program_sections.cit import CITConfig
from crisis_sim.scenario.program_sections.co_response import CoResponseConfig
from crisis_sim.scenario.program_sections.mobile_crisis import MobileCrisisConfig
from crisis_sim.scenario.program_sections.outreach import OutreachConfig
from crisis_sim.scenario.program_sections.stabilization import StabilizationConfig
from crisis_sim.scenario.program_sections.triage import TriageConfig


class ProgramsConfig(Strict):
    """One optional section per program; none yet in the core engine."""

    mobile_crisis: MobileCrisisConfig | None = None
    stabilization: StabilizationConfig | None = None
    cit: CITConfig | None = None
    co_response: CoResponseConfig | None = None
    triage: TriageConfig | None = None
    outreach: OutreachConfig | None = None
