"""The coordinators' dashboard: a small local web app (standard-library HTTP server, JSON endpoints, one static
page with vanilla JavaScript; charts are PNGs drawn by matplotlib on the server). See docs/dashboard.md."""

from crisis_sim.dashboard.app import DashboardApp, JobState
from crisis_sim.dashboard.server import make_server, serve

__all__ = ["DashboardApp", "JobState", "make_server", "serve"]
