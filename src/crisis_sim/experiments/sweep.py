"""Parameter sweeps over schema paths: a full grid or a Latin hypercube.

Grid: ``--param PATH=v1,v2,...`` (repeated) gives the cartesian product of the values (TOML literals).
Latin hypercube: ``--lhs N --range PATH=lo:hi`` (repeated) draws N points with
``scipy.stats.qmc.LatinHypercube`` seeded from ``--seed``; a range whose two bounds are integers gives integers
(each integer in [lo, hi] equally likely), otherwise floats. Each point becomes a variant of the base scenario;
the base itself is run first and is what the differences are measured against.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from crisis_sim.experiments.spec import ScenarioRequest, SpecError, parse_value, split_top_level


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``PATH=v1,v2,...`` → (path, [values])."""
    path, eq, values = text.partition("=")
    path = path.strip()
    if not eq or not path or not values.strip():
        raise SpecError(
            f"expected --param PATH=VALUE,VALUE,... (e.g. city.population=80000,100000), found {text!r}"
        )
    parsed = [parse_value(v) for v in split_top_level(values)]
    return path, parsed


def parse_range(text: str) -> tuple[str, float | int, float | int]:
    """``PATH=lo:hi`` → (path, lo, hi); both ints → an integer range."""
    path, eq, rng = text.partition("=")
    lo_text, colon, hi_text = rng.partition(":")
    path = path.strip()
    if not eq or not path or not colon:
        raise SpecError(
            f"expected --range PATH=LOW:HIGH (e.g. programs.outreach.nurse_fte=0:4), found {text!r}"
        )
    lo, hi = parse_value(lo_text), parse_value(hi_text)
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SpecError(f"expected numbers in --range {path}=LOW:HIGH, found {text!r}")
    if not lo < hi:
        raise SpecError(f"expected LOW < HIGH in --range {path}=LOW:HIGH, found {text!r}")
    return path, lo, hi


def grid_points(params: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    paths = [p for p, _ in params]
    _check_unique(paths)
    return [
        dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(vals for _, vals in params))
    ]


def lhs_points(ranges: Sequence[tuple[str, float, float]], n: int, seed: int) -> list[dict[str, Any]]:
    from scipy.stats import qmc

    if n < 1:
        raise SpecError(f"expected --lhs N with N >= 1, found {n}")
    _check_unique([p for p, _, _ in ranges])
    u = qmc.LatinHypercube(d=len(ranges), seed=seed).random(n)
    points = []
    for row in u:
        point: dict[str, Any] = {}
        for (path, lo, hi), x in zip(ranges, row, strict=True):
            if isinstance(lo, int) and isinstance(hi, int):
                point[path] = min(hi, lo + int(math.floor(float(x) * (hi - lo + 1))))
            else:
                point[path] = float(lo + float(x) * (hi - lo))
        points.append(point)
    return points


def _check_unique(paths: Sequence[str]) -> None:
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise SpecError(f"expected each swept path once, found {dup[0]!r} twice")


def _short_names(paths: Sequence[str]) -> dict[str, str]:
    """Last path component, or more components where the last ones collide."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for k in range(1, len(parts) + 1):
            cand = ".".join(parts[-k:])
            if sum(1 for other in paths if other.split(".")[-k:] == parts[-k:]) == 1:
                break
        names[path] = cand
    return names


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).lower() if isinstance(v, bool) else str(v)


def point_label(point: dict[str, Any], short: dict[str, str]) -> str:
    return ",".join(f"{short[p]}={_fmt(v)}" for p, v in point.items())


def sweep_requests(
    base_file: str, points: Sequence[dict[str, Any]], lhs: bool = False
) -> list[ScenarioRequest]:
    """The base scenario first ("base"), then one variant per point."""
    short = _short_names(list(points[0])) if points else {}
    requests = [ScenarioRequest(base_file, "base")]
    for i, point in enumerate(points):
        label = f"lhs{i:03d}" if lhs else point_label(point, short)
        requests.append(ScenarioRequest(base_file, label, dict(point)))
    return requests
