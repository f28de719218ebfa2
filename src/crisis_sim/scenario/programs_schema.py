"""Schema sections of the response-model programs (CIT, co-response, mobile crisis, ...).

Each program adds one optional field here holding its own section; a section that is absent or has
``enabled = false`` leaves the model exactly as police-as-usual.
"""

from __future__ import annotations

from crisis_sim.scenario.params import Strict


class ProgramsConfig(Strict):
    """One optional section per program; none yet in the core engine."""
