"""Which crisis_sim produced a result: its version and, when the package is imported from a git checkout, the
commit (and whether the package's files differ from it).

Results of different model versions must not be mixed silently: results stores, calibration studies,
sensitivity outputs, ``crisis-sim run --out`` summaries and reports record :func:`provenance`, and a store made
by another version is resumed only on request (``--allow-version-change``).

Nothing here imports the rest of crisis_sim (only the version string from the package itself); git is asked with
a short timeout and its absence or failure only means "commit unknown".
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crisis_sim import __version__

GIT_TIMEOUT_S = 2.0
PACKAGE_DIR = Path(__file__).resolve().parent


def _git(*args: str) -> str | None:
    """stdout of ``git -C PACKAGE_DIR args``, or None if git is missing, fails or is slow."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", str(PACKAGE_DIR), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) when this package's own files are tracked in a git checkout, else (None, None).

    An installed copy that merely sits inside some repository's folder (a virtual environment in a clone, say)
    has untracked files, so it reports no commit. ``dirty`` covers the package's files only."""
    if _git("ls-files", "--error-unmatch", "--", "__init__.py") is None:
        return None, None
    head = _git("rev-parse", "HEAD")
    commit = head.strip() if head else None
    if not commit:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return commit, (bool(status.strip()) if status is not None else None)


@functools.cache
def provenance() -> dict[str, Any]:
    """``{"crisis_sim_version": "0.1.0", "git_commit": "<40 hex>" or None, "git_dirty": bool or None}``;
    computed once per process."""
    commit, dirty = _git_state()
    return {"crisis_sim_version": __version__, "git_commit": commit, "git_dirty": dirty}


def describe(prov: Mapping[str, Any] | None = None) -> str:
    """One phrase: ``crisis_sim 0.1.0 (commit abc1234)``; ``prov`` defaults to this process's provenance."""
    prov = provenance() if prov is None else prov
    version = prov.get("crisis_sim_version") or "(unrecorded version)"
    commit = prov.get("git_commit")
    if not commit:
        return f"crisis_sim {version}"
    dirty = ", with uncommitted changes" if prov.get("git_dirty") else ""
    return f"crisis_sim {version} (commit {str(commit)[:7]}{dirty})"


def version_change(stored: Mapping[str, Any] | None, current: Mapping[str, Any] | None = None) -> str | None:
    """None when results recorded under ``stored`` may be mixed with this process's; otherwise the reason, as
    "made by X, this is Y". A different version always differs; commits only when both are known. A missing
    record (a store written before versions were recorded) counts as different."""
    current = provenance() if current is None else current
    if not isinstance(stored, Mapping) or not stored.get("crisis_sim_version"):
        return f"made by an unrecorded crisis_sim version, this is {describe(current)}"
    same_version = stored.get("crisis_sim_version") == current.get("crisis_sim_version")
    a, b = stored.get("git_commit"), current.get("git_commit")
    same_commit = not (a and b) or a == b
    if same_version and same_commit:
        return None
    return f"made by {describe(stored)}, this is {describe(current)}"
