"""Outcomes: the encounter ledger, metrics derived from it, monthly series."""

from crisis_sim.outcomes.ledger import build_ledger, build_referrals
from crisis_sim.outcomes.metrics import KEY_METRICS, summarize
from crisis_sim.outcomes.timeseries import monthly

__all__ = ["KEY_METRICS", "build_ledger", "build_referrals", "monthly", "summarize"]
