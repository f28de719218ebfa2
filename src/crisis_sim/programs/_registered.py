"""Imports every program module so that each registers itself (one import line per program)."""

import crisis_sim.programs.cit  # noqa: F401
import crisis_sim.programs.co_response  # noqa: F401
import crisis_sim.programs.mobile_crisis  # noqa: F401
import crisis_sim.programs.outreach  # noqa: F401
import crisis_sim.programs.stabilization  # noqa: F401
import crisis_sim.programs.triage  # noqa: F401
