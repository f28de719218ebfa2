"""Evidence files (package data): ``default.toml`` gives each uncertain input of the model a distribution built
from the published interval or counts it rests on, or a stated range where it is an assumption. Read with
:func:`crisis_sim.analysis.evidence.load_evidence`; documented in docs/uncertainty.md."""
