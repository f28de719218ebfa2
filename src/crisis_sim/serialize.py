"""Serialisation shared by the command line, the report, the dashboard and the experiments: plain JSON values,
JSON text, and all-or-nothing writes of a set of output files."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any) -> str:
    """Indented JSON text of :func:`jsonable` values."""
    return json.dumps(jsonable(obj), indent=2, sort_keys=False)


def write_atomically(out_dir: str | Path, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write every file into a temporary folder next to ``out_dir``, then move them in; all or nothing."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        out.mkdir(exist_ok=True)
        for name in writers:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
