"""The results store of an experiment: a folder that survives ``kill -9`` and resumes where it stopped.

Layout of ``--out DIR``::

    manifest.json              spec hash, runs done / total, chunk count, provenance (the crisis_sim version and
                               git commit that made the store; rewritten atomically per chunk)
    spec.json                  the full experiment (readable spec + hashed identity), written once
    runs/part-*.parquet        one row per (scenario, replication): identity, stored metrics, extra JSON, timings
    series/part-*.parquet      monthly series, long format: scenario_index, replication, month, day_end, variable, value
    .tmp/                      files being written (never read; cleared on open)
    .lock                      held (flock) while a process writes; released by the OS even after kill -9

A chunk is written to ``.tmp/`` and moved into place with ``os.replace`` (series first, runs last): a file in
``runs/`` is complete by construction and is the only record of what is done. On reopening, the pairs found in
``runs/`` are skipped, orphaned series files (runs file never renamed) are removed and the rest is rerun, so no
row is lost or duplicated. A store made by another crisis_sim version (or git commit, when both are known) is
refused (:class:`VersionChangeError`) unless opened with ``allow_version_change=True``; the manifest then lists
the later versions under ``resumed_by``. Readable in place: ``pd.read_parquet(DIR / "runs")`` or DuckDB
``SELECT * FROM read_parquet('DIR/runs/*.parquet')``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crisis_sim.experiments.spec import FORMAT, TIMING_KEYS, ExperimentSpec, spec_difference
from crisis_sim.provenance import provenance, version_change

ID_COLUMNS = ("scenario", "scenario_index", "replication", "root_seed")


class StoreError(Exception):
    """A store that cannot be used for this command; one user-facing line."""


class VersionChangeError(StoreError):
    """The store was made by another crisis_sim version or commit (resumable with allow_version_change)."""


# --- rows ----------------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def runs_schema(metrics: tuple[str, ...]) -> pa.Schema:
    fields = [
        pa.field("scenario", pa.string()),
        pa.field("scenario_index", pa.int32()),
        pa.field("replication", pa.int32()),
        pa.field("root_seed", pa.int64()),
        *(pa.field(m, pa.float64()) for m in metrics),
        pa.field("extra", pa.string()),
        pa.field("wall_s", pa.float64()),
        pa.field("sim_wall_s", pa.float64()),
        pa.field("events", pa.int64()),
    ]
    return pa.schema(fields)


SERIES_SCHEMA = pa.schema(
    [
        pa.field("scenario_index", pa.int32()),
        pa.field("replication", pa.int32()),
        pa.field("month", pa.int32()),
        pa.field("day_end", pa.int32()),
        pa.field("variable", pa.string()),
        pa.field("value", pa.float64()),
    ]
)


def summary_row(
    label: str,
    index: int,
    replication: int,
    root_seed: int,
    summary: Mapping[str, Any],
    metrics: tuple[str, ...],
) -> dict[str, Any]:
    """One runs-table row: stored metrics as floats (None → null), everything else non-timing as JSON."""
    row: dict[str, Any] = {"scenario": label, "scenario_index": index, "replication": replication,
                           "root_seed": root_seed}  # fmt: skip
    for m in metrics:
        row[m] = _number(summary.get(m))
    extra = {k: _plain(v) for k, v in summary.items() if k not in metrics and k not in TIMING_KEYS}
    row["extra"] = json.dumps(extra, sort_keys=True)
    row["wall_s"] = _number(summary.get("wall_s"))
    row["sim_wall_s"] = _number(summary.get("sim_wall_s"))
    events = summary.get("events")
    row["events"] = int(events) if events is not None else None
    return row


def series_columns(index: int, replication: int, timeseries: pd.DataFrame) -> dict[str, list]:
    """The monthly series of one run in long format (one schema whatever variables a scenario collects)."""
    cols: dict[str, list] = {f.name: [] for f in SERIES_SCHEMA}
    if timeseries is None or timeseries.empty:
        return cols
    variables = [c for c in timeseries.columns if c not in ("month", "day_end")]
    months = (
        timeseries["month"].astype(int).tolist()
        if "month" in timeseries
        else list(range(1, len(timeseries) + 1))
    )
    ends = timeseries["day_end"].astype(int).tolist() if "day_end" in timeseries else [None] * len(timeseries)
    for var in variables:
        values = [_number(v) for v in timeseries[var].tolist()]
        n = len(values)
        cols["scenario_index"] += [index] * n
        cols["replication"] += [replication] * n
        cols["month"] += months
        cols["day_end"] += ends
        cols["variable"] += [str(var)] * n
        cols["value"] += values
    return cols


def merge_columns(parts: list[dict[str, list]]) -> dict[str, list]:
    out: dict[str, list] = {f.name: [] for f in SERIES_SCHEMA}
    for part in parts:
        for k in out:
            out[k] += part[k]
    return out


# --- the store -----------------------------------------------------------------------------------------------
class ResultStore:
    """Open with ``with ResultStore(dir, spec) as store:``; refuses a folder holding another experiment, or one
    made by another crisis_sim version unless ``allow_version_change``."""

    def __init__(self, root: str | Path, spec: ExperimentSpec, allow_version_change: bool = False):
        self.root = Path(root)
        self.spec = spec
        self.hash = spec.content_hash()
        self.runs_dir = self.root / "runs"
        self.series_dir = self.root / "series"
        self.tmp_dir = self.root / ".tmp"
        self.manifest_path = self.root / "manifest.json"
        self.spec_path = self.root / "spec.json"
        self.schema = runs_schema(spec.metrics)
        self._lock_fd: int | None = None
        self._chunks: list[str] = []
        self._done: set[tuple[int, int]] = set()
        self.allow_version_change = allow_version_change
        self.provenance: dict[str, Any] = dict(provenance())  # who made the store (the stored one on resume)
        self.resumed_by: list[dict[str, Any]] = []  # later versions that added runs (allow_version_change)

    # opening and closing
    def __enter__(self) -> ResultStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        root = self.root
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: expected a folder for the results store, found a file")
        root.mkdir(parents=True, exist_ok=True)
        existing = [p.name for p in root.iterdir() if p.name != ".lock"]
        # A store killed while being created holds only our empty folders: treat it as new.
        fresh = set(existing) <= {"runs", "series", ".tmp", "spec.json"} and not any(
            self.runs_dir.glob("*.parquet")
        )
        if existing and not self.manifest_path.exists() and not fresh:
            raise StoreError(f"{root}: expected an empty folder or a crisis-sim results store (manifest.json), "
                             f"found other files ({', '.join(sorted(existing)[:3])}); choose another --out")  # fmt: skip
        self._lock()
        try:
            if self.manifest_path.exists():
                self._check_manifest()
            for d in (self.runs_dir, self.series_dir):
                d.mkdir(exist_ok=True)
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir.mkdir()
            self._scan()
            if not self.manifest_path.exists():
                spec_doc = {
                    "spec_hash": self.hash,
                    "provenance": self.provenance,
                    "spec": self.spec.describe(),
                    "identity": self.spec.identity(),
                }
                self._write_json(spec_doc, self.spec_path)
            self._write_manifest()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _lock(self) -> None:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.root}: another crisis-sim process is writing to this store; wait for it "
                             "or choose another --out") from None  # fmt: skip
        self._lock_fd = fd

    def _check_manifest(self) -> None:
        try:
            manifest = json.loads(self.manifest_path.read_text())
            stored_hash = manifest["spec_hash"]
        except (OSError, ValueError, KeyError, TypeError):
            raise StoreError(f"{self.manifest_path}: expected a crisis-sim results manifest, found an unreadable "
                             "file; choose another --out") from None  # fmt: skip
        if stored_hash != self.hash:
            try:
                old = json.loads(self.spec_path.read_text()).get("identity", {})
            except (OSError, ValueError, AttributeError):
                old = {}
            why = spec_difference(old, self.spec.identity()) if old else "different spec hash"
            raise StoreError(f"{self.root}: holds results of a different experiment ({why}); rerun the original "
                             "command to resume it, or choose another --out")  # fmt: skip
        self._check_version(manifest)

    def _check_version(self, manifest: Mapping[str, Any]) -> None:
        stored = manifest.get("provenance")
        earlier = manifest.get("resumed_by")
        self.resumed_by = [dict(p) for p in earlier if isinstance(p, Mapping)] if isinstance(earlier, list) else []
        why = version_change(stored)
        if isinstance(stored, Mapping):
            self.provenance = dict(stored)
        else:
            self.provenance = {"crisis_sim_version": None, "git_commit": None, "git_dirty": None}
        if why is None:
            return
        if not self.allow_version_change:
            raise VersionChangeError(f"{self.root}: results store {why}; give --allow-version-change to add "
                                     "runs of this version anyway, or choose another --out")  # fmt: skip
        current = dict(provenance())
        if current not in self.resumed_by:
            self.resumed_by.append(current)

    def _scan(self) -> None:
        """Rebuild what is done from runs/ (the only truth); drop series files whose runs file never landed."""
        chunks, done = [], set()
        for path in sorted(self.runs_dir.glob("*.parquet")):
            table = pq.read_table(path, columns=["scenario_index", "replication"])
            pairs = set(
                zip(table["scenario_index"].to_pylist(), table["replication"].to_pylist(), strict=True)
            )
            if pairs & done:  # only possible if files were copied in by hand
                raise StoreError(
                    f"{path}: expected each run once in the store, found runs already in another file"
                )
            done |= pairs
            chunks.append(path.name)
        for path in self.series_dir.glob("*.parquet"):
            if path.name not in chunks:
                path.unlink()
        self._chunks, self._done = chunks, done

    # progress
    def done_pairs(self) -> set[tuple[int, int]]:
        return set(self._done)

    def missing_pairs(self) -> list[tuple[int, int]]:
        return [p for p in self.spec.pairs() if p not in self._done]

    def count_on_disk(self) -> int:
        """Runs in finished chunk files (after an interrupt the in-memory count may lag one rename behind)."""
        return sum(pq.read_metadata(path).num_rows for path in self.runs_dir.glob("*.parquet"))

    @property
    def complete(self) -> bool:
        return not self.missing_pairs()

    # writing
    def write_chunk(self, rows: list[dict[str, Any]], series: dict[str, list] | None = None) -> str:
        """Write one finished chunk (series first, runs last; each atomically) and update the manifest."""
        if not rows:
            return ""
        first = rows[0]
        name = (
            f"part-r{first['replication']:06d}-s{first['scenario_index']:04d}-{uuid.uuid4().hex[:8]}.parquet"
        )
        if series is not None:
            self._write_table(pa.Table.from_pydict(series, schema=SERIES_SCHEMA), self.series_dir / name)
        self._write_table(pa.Table.from_pylist(rows, schema=self.schema), self.runs_dir / name)
        self._chunks.append(name)
        self._done |= {(r["scenario_index"], r["replication"]) for r in rows}
        self._write_manifest()
        return name

    def _write_table(self, table: pa.Table, dest: Path) -> None:
        tmp = self.tmp_dir / dest.name
        pq.write_table(table, tmp)
        _fsync(tmp)
        os.replace(tmp, dest)

    def _write_manifest(self) -> None:
        manifest = {
            "tool": "crisis-sim experiments",
            "format": FORMAT,
            "spec_hash": self.hash,
            "scenarios": self.spec.labels if len(self.spec.scenarios) <= 50 else len(self.spec.scenarios),
            "replications": self.spec.replications,
            "total_runs": len(self.spec.pairs()),
            "done_runs": len(self._done),
            "complete": self.complete,
            "chunk_files": len(self._chunks),
            "provenance": self.provenance,
            "resumed_by": self.resumed_by,
            "note": "runs/*.parquet is the record of what is done; spec.json holds the full experiment",
        }
        self._write_json(manifest, self.manifest_path)

    def _write_json(self, doc: dict[str, Any], dest: Path) -> None:
        tmp = self.tmp_dir / dest.name
        tmp.write_text(json.dumps(_plain(doc), indent=1) + "\n")
        _fsync(tmp)
        os.replace(tmp, dest)

    # reading
    def read_runs(self) -> pd.DataFrame:
        return read_runs(self.root)

    def read_series(self) -> pd.DataFrame:
        return read_series(self.root)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_runs(root: str | Path) -> pd.DataFrame:
    """The runs table of a store, sorted by (scenario_index, replication); refuses duplicate rows."""
    runs = Path(root) / "runs"
    if not any(runs.glob("*.parquet")):
        return pd.DataFrame(columns=list(ID_COLUMNS))
    df = pd.read_parquet(runs)
    df = df.sort_values(["scenario_index", "replication"], kind="stable").reset_index(drop=True)
    if df.duplicated(["scenario_index", "replication"]).any():
        raise StoreError(f"{runs}: expected each (scenario, replication) once, found duplicates")
    return df


def read_series(root: str | Path) -> pd.DataFrame:
    series = Path(root) / "series"
    if not any(series.glob("*.parquet")):
        return pd.DataFrame(columns=[f.name for f in SERIES_SCHEMA])
    df = pd.read_parquet(series)
    keys = ["scenario_index", "replication", "variable", "month"]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
