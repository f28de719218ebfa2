"""A city's own call records as the baseline: read a CSV of calls for service, write a scenario fragment and
calibration targets (see docs/ingest.md).

:func:`read_calls` reads and checks the file (one :class:`IngestError` line naming the row and column of the
first problem); :func:`profile_calls` measures what the scenario needs: calls per 1,000 residents per day, the
share of MH calls (by a configurable list of MH call types), hourly and weekday profiles of MH and other calls,
district shares, and the dispositions of MH calls with 95% Wilson intervals; :func:`scenario_fragment` and
:func:`targets_toml` write them as TOML (the fragment inherits everything else from a base scenario).

Profiles are relative rates with mean 1 (the scenario's convention). Weekday rates divide each weekday's calls
by the number of such days in the records' span, so a file that starts on a Friday is not biased to Fridays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

# The model's MH dispositions (ledger ``disposition``) and the run-summary statistic each is checked with.
DISPOSITIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "arrest": ("arrest", {"statistic": "arrest_rate"}),
    "involuntary": ("involuntary hold", {"statistic": "hold_rate"}),
    "voluntary_transport": ("voluntary transport",
                            {"statistic": "share", "numerator": ["voluntary_transports"], "denominator": ["mh_calls"]}),
    "resolved": ("resolved on scene",
                 {"statistic": "share", "numerator": ["resolved_on_scene"], "denominator": ["mh_calls"]}),
    "report": ("report only", {"statistic": "share", "numerator": ["reports"], "denominator": ["mh_calls"]}),
}  # fmt: skip
DEFAULT_MH_TYPES = ("mental health", "mh", "crisis", "suicide", "suicidal", "emotionally disturbed person", "edp")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class IngestError(Exception):
    """A call file that cannot be read as asked: one user-facing line naming the file, row and column."""


@dataclass(frozen=True)
class Columns:
    """Column names of the CSV (mapped by flags)."""

    timestamp: str = "timestamp"
    call_type: str = "call_type"
    district: str = "district"
    disposition: str = "disposition"


@dataclass(frozen=True)
class IngestOptions:
    population: int
    columns: Columns = Columns()
    mh_types: tuple[str, ...] = DEFAULT_MH_TYPES
    # the CSV's disposition values (lower case) for each model disposition; values not listed are "other"
    disposition_values: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {
        "arrest": ("arrest", "arrested"), "involuntary": ("involuntary", "hold", "involuntary hold", "apprehension"),
        "voluntary_transport": ("voluntary_transport", "transport", "voluntary transport"),
        "resolved": ("resolved", "resolved on scene", "no action"), "report": ("report", "report taken"),
    })  # fmt: skip
    time_format: str | None = None  # strftime format; None: ISO 8601 (e.g. 2024-03-01 14:05 or 2024-03-01T14:05:00)


def read_calls(path: str | Path, options: IngestOptions) -> pd.DataFrame:
    """The call records with a parsed ``timestamp`` and lower-cased text columns; an :class:`IngestError` on a
    missing file, an empty file, a missing column, a blank cell or an unparseable timestamp."""
    path = Path(path)
    cols = options.columns
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise IngestError(f"{path}: empty file; expected a header line and one row per call "
                          "(see docs/ingest.md)") from None  # fmt: skip
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    wanted = {"timestamp": cols.timestamp, "call type": cols.call_type, "district": cols.district,
              "disposition": cols.disposition}  # fmt: skip
    for what, name in wanted.items():
        if name not in df.columns:
            flag = "--" + ("time" if what == "timestamp" else what.replace(" ", "-")) + "-column"
            raise IngestError(f"{path}, column {name!r}: not found (the {what} column; the file has "
                              f"{', '.join(map(repr, df.columns[:8]))}); name it with {flag}")  # fmt: skip
    if df.empty:
        raise IngestError(f"{path}: no call records (a header line but no rows)")
    for name in wanted.values():
        blank = df[name].str.strip() == ""
        if blank.any():
            k = int(blank.to_numpy().argmax())
            raise IngestError(f"{path}, row {k + 1} (line {k + 2}), column {name!r}: empty; expected a value")
    raw = df[cols.timestamp].str.strip()
    fmt = options.time_format or "ISO8601"
    ts = pd.to_datetime(raw, format=fmt, errors="coerce")
    bad = ts.isna()
    if bad.any():
        k = int(bad.to_numpy().argmax())
        expected = f"a date and time in the format {options.time_format!r}" if options.time_format else (
            "a date and time like 2024-03-01 14:05 (ISO 8601; other formats with --time-format)")
        raise IngestError(f"{path}, row {k + 1} (line {k + 2}), column {cols.timestamp!r}: expected {expected}, "
                          f"found {raw.iloc[k]!r}")  # fmt: skip
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    return pd.DataFrame({
        "timestamp": ts,
        "call_type": df[cols.call_type].str.strip().str.lower(),
        "district": df[cols.district].str.strip(),
        "disposition": df[cols.disposition].str.strip().str.lower(),
    })  # fmt: skip


def _relative(counts: Sequence[float]) -> list[float]:
    mean = sum(counts) / len(counts)
    return [round(c / mean, 4) if mean > 0 else 1.0 for c in counts]


def hourly_profile(ts: pd.Series) -> list[float]:
    counts = ts.dt.hour.value_counts().reindex(range(24), fill_value=0).sort_index()
    return _relative(counts.tolist())


def weekday_profile(ts: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> list[float]:
    """Calls per day of each weekday (Mon-Sun) over the span, relative to their mean."""
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    n_days = pd.Series(days.day_of_week).value_counts().reindex(range(7), fill_value=0).sort_index()
    counts = ts.dt.day_of_week.value_counts().reindex(range(7), fill_value=0).sort_index()
    per_day = [c / n if n else 0.0 for c, n in zip(counts, n_days, strict=True)]
    return _relative(per_day)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def profile_calls(df: pd.DataFrame, options: IngestOptions) -> dict[str, Any]:
    """Everything the fragment and the targets need, as plain data."""
    start, end = df["timestamp"].min(), df["timestamp"].max()
    days = max(1, (end.normalize() - start.normalize()).days + 1)
    mh_types = {t.strip().lower() for t in options.mh_types}
    is_mh = df["call_type"].isin(mh_types)
    mh, other = df[is_mh], df[~is_mh]
    n, n_mh = len(df), int(is_mh.sum())
    shares = df["district"].value_counts(sort=False)
    districts = {str(k): float(v) / n for k, v in sorted(shares.items())}
    disp: dict[str, Any] = {}
    values = {v: key for key, vs in options.disposition_values.items() for v in vs}
    mapped = mh["disposition"].map(values).fillna("other")
    for key in DISPOSITIONS:
        k = int((mapped == key).sum())
        lo, hi = wilson(k, n_mh) if n_mh else (math.nan, math.nan)
        disp[key] = {"count": k, "share": k / n_mh if n_mh else math.nan, "low": lo, "high": hi}
    disp["other"] = {"count": int((mapped == "other").sum())}
    return {
        "start": str(start), "end": str(end), "days": days, "calls": n, "mh_calls": n_mh,
        "population": options.population,
        "calls_per_1000_per_day": n / days / options.population * 1000,
        "mh_share": n_mh / n,
        "mh_hourly_profile": hourly_profile(mh["timestamp"]) if n_mh else None,
        "mh_weekday_profile": weekday_profile(mh["timestamp"], start, end) if n_mh else None,
        "other_hourly_profile": hourly_profile(other["timestamp"]) if len(other) else None,
        "other_weekday_profile": weekday_profile(other["timestamp"], start, end) if len(other) else None,
        "mh_hourly_share": (mh["timestamp"].dt.hour.value_counts().reindex(range(24), fill_value=0).sort_index()
                            / max(1, n_mh)).tolist(),  # fmt: skip
        "mh_weekday_share": (mh["timestamp"].dt.day_of_week.value_counts().reindex(range(7), fill_value=0).sort_index()
                             / max(1, n_mh)).tolist(),  # fmt: skip
        "district_shares": districts,
        "dispositions": disp,
    }


def _v(x: Any) -> str:
    """A TOML value: numbers, strings and lists of them are written as JSON, which is valid TOML for these."""
    if isinstance(x, float):
        return repr(round(x, 6))
    return json.dumps(x, ensure_ascii=False)


def scenario_fragment(profile: Mapping[str, Any], base: Any, base_ref: str, name: str, source: str) -> str:
    """A scenario file that inherits ``base_ref`` (a path or built-in name's file) and replaces the city's size,
    districts (call shares; the base's patrol units per shift split in proportion, at least 1) and demand."""
    shifts = [s.name for s in base.police.shifts]
    totals = {s: sum(d.patrol_units.get(s, 0) for d in base.city.districts) for s in shifts}
    lines = [
        f"# Written by `crisis-sim ingest` from {source} ({profile['calls']:,} calls, {profile['start']} to "
        f"{profile['end']}).",
        "# Everything not set here comes from the base scenario. District population_share is the district's share",
        "# of calls (the model places calls by it); patrol units are the base's totals split by that share.",
        f"base = {_v(base_ref)}",
        f"name = {_v(name)}",
        f"description = {_v('City baseline from ' + Path(source).name + ' (' + format(profile['calls'], ',') + ' calls)')}",
        "",
        "[city]",
        f"population = {int(profile['population'])}",
        "",
    ]
    shares = profile["district_shares"]
    rounded = [round(v, 6) for v in shares.values()]
    rounded[-1] = round(1.0 - sum(rounded[:-1]), 6)  # sum to 1 exactly as the schema requires
    for (district, _share), share in zip(shares.items(), rounded, strict=True):
        units = ", ".join(f"{_v(s)} = {max(1, round(totals[s] * share))}" for s in shifts)
        lines += ["[[city.districts]]", f"name = {_v(district)}", f"population_share = {share!r}",
                  f"patrol_units = {{ {units} }}", ""]  # fmt: skip
    lines += ["[demand]", f"police_calls_per_1000_per_day = {_v(profile['calls_per_1000_per_day'])}",
              f"mh_share = {_v(profile['mh_share'])}"]  # fmt: skip
    for key in ("mh_hourly_profile", "mh_weekday_profile", "other_hourly_profile", "other_weekday_profile"):
        if profile[key] is not None:
            lines.append(f"{key} = {_v(profile[key])}")
    return "\n".join(lines) + "\n"


def targets_toml(profile: Mapping[str, Any], source: str) -> str:
    """The observed disposition shares of MH calls as ``[[validation]]`` targets in the format of
    calibration/targets.toml: value = observed share, range = its 95% Wilson interval."""
    lines = [f"# Observed dispositions of MH calls in {source} ({profile['mh_calls']:,} MH calls), written by "
             "`crisis-sim ingest`.", "# Format: calibration/targets.toml (docs/calibration.md). Ranges are 95% "
             "Wilson intervals of the observed share.", ""]  # fmt: skip
    for key, (words, stat) in DISPOSITIONS.items():
        d = profile["dispositions"][key]
        if not profile["mh_calls"]:
            continue
        lines += ["[[validation]]", f"name = {_v('city_' + key)}"]
        lines += [f"{k} = {_v(v)}" for k, v in stat.items()]
        lines += [f"value = {_v(d['share'])}", f"range = [{_v(d['low'])}, {_v(d['high'])}]",
                  f"population = {_v('MH calls in the city records (' + words + ')')}",
                  f"source = {_v('calibrated: the city records ' + Path(source).name + ', observed share')}", ""]  # fmt: skip
    return "\n".join(lines)
