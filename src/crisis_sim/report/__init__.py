"""The planner's report: one self-contained HTML file (narrative, tables, embedded figures). See docs/report.md.

- :mod:`crisis_sim.report.narrative` — scenarios and differences in plain sentences (also used by the dashboard)
- :mod:`crisis_sim.report.figures` — monthly series with bands (mean and 95% band over replications), PNG bytes
- :mod:`crisis_sim.report.html` — the HTML document and its atomic write
"""

from crisis_sim.report.html import build_report, write_report
from crisis_sim.report.narrative import describe_event, describe_scenario, difference_sentences

__all__ = ["build_report", "describe_event", "describe_scenario", "difference_sentences", "write_report"]
