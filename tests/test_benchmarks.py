"""Smoke test: the engine benchmark script runs and prints its figures (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_engine.py"


def test_bench_engine_prints_the_ratio():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--days", "3", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if ":" in line}
    assert "ratio model/bare" in lines, out
    for key in ("model events/s", "bare SimPy events/s", "model wall time", "peak memory"):
        assert key in lines, out
