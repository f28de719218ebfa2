"""The mechanisms of the model (residents, encounters, other calls, staffing, destinations), with no program and
no timeline effect imported: those see the model through :mod:`crisis_sim.model.context`."""
