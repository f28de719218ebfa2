"""Experiments at scale: many scenarios x replications, run by a process pool or Dask into a resumable
Parquet store, compared pairwise over common random numbers. See docs/experiments.md."""

from crisis_sim.experiments.compare import compare_runs, format_table, paired_interval, t_interval
from crisis_sim.experiments.runner import Interrupted, run_batch
from crisis_sim.experiments.spec import (
    STORED_METRICS,
    ExperimentSpec,
    ScenarioRequest,
    SpecError,
    build_spec,
    parse_scenario_arg,
)
from crisis_sim.experiments.store import ResultStore, StoreError, VersionChangeError, read_runs, read_series

__all__ = [
    "STORED_METRICS",
    "ExperimentSpec",
    "Interrupted",
    "ResultStore",
    "ScenarioRequest",
    "SpecError",
    "StoreError",
    "VersionChangeError",
    "build_spec",
    "compare_runs",
    "format_table",
    "paired_interval",
    "parse_scenario_arg",
    "read_runs",
    "read_series",
    "run_batch",
    "t_interval",
]
