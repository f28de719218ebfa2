"""Honest validation: which targets only return an input of the model.

A target whose simulated statistic follows one input monotonically is a *consistency check* — it shows the model
passes the input through, not that the model predicts something it was not told. The check draws joint parameter
sets from an evidence file (``crisis_sim/evidence/default.toml``; a scrambled Latin hypercube through each entry's
inverse CDF, :func:`crisis_sim.analysis.evidence.draw`), applies each draw to every scenario the targets need,
simulates the same replications 0..R-1 for every draw (common random numbers, through the calibration's runner on
the experiment engine's executors), computes each target's statistic per draw exactly as the calibration does
(:func:`crisis_sim.analysis.calibration.measure`, mean over replications) and rank-correlates it with every input
that applies to the target's scenarios (``scipy.stats.spearmanr``). A target with ``|rho| > threshold`` (0.9) for
some input is labelled ``consistency check (tracks <input>)``; the others ``independent of any single input``.

Limits (say them with the result): an input the evidence file does not vary cannot be detected; with few draws
and replications, simulation noise lowers ``|rho|``, so a borderline target is reported with its ``rho``.

Two designs. ``joint`` (above) varies every input at once, so the other inputs' spread and the simulation noise
both dilute the correlation of a target whose statistic rests on rare events (a backup rate of 0.5%, an odds
ratio of arrests). ``oat`` (:func:`check_consistency_oat`, one at a time) varies each input in turn over
``points`` quantiles of its distribution ((j + 0.5) / points) with every other input at its point value (the
scenario's own value), runs more replications per point (the same seeds for every point), and rank-correlates
each target's statistic with that input over its points: the noise left is the simulation's only.
See docs/calibration.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crisis_sim.analysis import calibration as cal
from crisis_sim.analysis.evidence import Evidence, apply_draw, draw
from crisis_sim.analysis.evidence import overrides_for as evidence_overrides
from crisis_sim.provenance import describe as describe_version
from crisis_sim.provenance import provenance
from crisis_sim.scenario.schema import Scenario
from crisis_sim.serialize import dumps, write_atomically

THRESHOLD = 0.9
MIN_DRAWS = 10  # below this a chance |rho| > 0.9 with one of ~40 inputs is no longer rare
MIN_POINTS = 7  # one at a time: with 7 points a chance |rho| > 0.9 has probability 34/5040 per input
OAT_POINTS = 9
CONSISTENCY = "consistency check"
INDEPENDENT = "independent of any single input"
NOT_VARYING = "undetermined (the statistic did not vary over the draws)"


@dataclass
class TargetCheck:
    target: cal.Target
    values: list[float]  # the target's statistic per draw (mean over replications)
    correlations: dict[str, float]  # input name -> Spearman rho (inputs that apply to the target's scenarios)
    swings: dict[str, float] | None = None  # one at a time: input -> max - min of the statistic over its points

    @property
    def strongest(self) -> tuple[str | None, float]:
        """The input with the largest |rho|; one at a time, ties (several inputs past the threshold or at the same
        |rho|) go to the input that moves the statistic most over its points."""
        finite = {k: v for k, v in self.correlations.items() if math.isfinite(v)}
        if not finite:
            return None, math.nan
        if self.swings:
            past = [k for k, v in finite.items() if abs(v) > THRESHOLD]
            pool = past or [k for k, v in finite.items() if abs(v) == max(abs(x) for x in finite.values())]
            name = max(pool, key=lambda k: self.swings.get(k, 0.0))
        else:
            name = max(finite, key=lambda k: abs(finite[k]))
        return name, finite[name]

    def also_past(self, threshold: float = THRESHOLD) -> list[str]:
        """Other inputs whose |rho| also exceeds the threshold (one at a time, the statistic follows each)."""
        name, _ = self.strongest
        return [k for k, v in self.correlations.items() if k != name and math.isfinite(v) and abs(v) > threshold]

    def label(self, threshold: float = THRESHOLD) -> str:
        name, rho = self.strongest
        if name is None:
            return NOT_VARYING
        if abs(rho) > threshold:
            return f"{CONSISTENCY} (tracks {name})"
        return INDEPENDENT

    def tracks(self, threshold: float = THRESHOLD) -> str | None:
        name, rho = self.strongest
        return name if name is not None and abs(rho) > threshold else None

    def row(self, threshold: float = THRESHOLD) -> dict[str, Any]:
        name, rho = self.strongest
        xs = np.asarray(self.values, dtype=float)
        ok = xs[np.isfinite(xs)]
        return {
            "target": self.target.name, "role": self.target.role, "statistic": cal.describe(self.target),
            "classification": self.label(threshold), "tracks": self.tracks(threshold),
            "strongest_input": name, "spearman": rho,
            "stat_low": float(ok.min()) if ok.size else math.nan,
            "stat_high": float(ok.max()) if ok.size else math.nan,
            "draws": int(ok.size), "inputs_checked": len(self.correlations),
            "swing": self.swings.get(name) if self.swings and name else None,
            "also_tracks": self.also_past(threshold),
        }  # fmt: skip


@dataclass
class ConsistencyResult:
    checks: list[TargetCheck]
    draws: pd.DataFrame
    replications: int
    days: int | None
    seed: int
    threshold: float
    evidence: str
    design: str = "joint"  # or "oat": then ``draws`` has one row per (input, point): input, quantile, value

    def describe_design(self) -> str:
        if self.design == "oat":
            inputs = self.draws["input"].nunique() if len(self.draws) else 0
            points = int(self.draws.groupby("input").size().max()) if len(self.draws) else 0
            return (f"one at a time: {inputs} inputs, each over {points} quantiles of its distribution with the "
                    "others at their point values, common random numbers")
        return "scrambled Latin hypercube of the evidence entries (joint), common random numbers"

    def document(self) -> dict[str, Any]:
        return {
            "evidence": self.evidence, "draws": len(self.draws), "replications": self.replications,
            "days": self.days, "seed": self.seed, "threshold": self.threshold,
            "design": self.describe_design(), "design_key": self.design,
            "targets": [c.row(self.threshold) for c in self.checks],
            "correlations": {c.target.name: c.correlations for c in self.checks},
            "swings": {c.target.name: c.swings for c in self.checks if c.swings is not None},
            "provenance": provenance(),
        }  # fmt: skip


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    return float(spearmanr(x[ok], y[ok]).statistic)


def check_consistency(
    problem: cal.Problem,
    evidence: Evidence,
    n_draws: int,
    runner: cal.Runner,
    draw_seed: int = 0,
    threshold: float = THRESHOLD,
) -> ConsistencyResult:
    """Classify every target of ``problem`` (see the module docstring). A draw outside a schema bound raises
    :class:`crisis_sim.scenario.ScenarioError` before anything runs."""
    files = problem.files(None)
    draws = draw(evidence, n_draws, seed=draw_seed)
    scenarios = []
    for d, row in enumerate(draws.to_dict("records")):
        for f in files:
            scenarios.append(apply_draw(problem.base(f), evidence, row, d))
    tasks = [(k, sc, r, problem.seed) for r in range(problem.replications) for k, sc in enumerate(scenarios)]
    runs: list[dict[str, list[dict[str, float]]]] = [
        {f: [{}] * problem.replications for f in files} for _ in range(n_draws)
    ]
    for k, r, summary in runner.map(tasks):
        d, i = divmod(k, len(files))
        runs[d][files[i]][r] = summary
    per_draw = {
        t.name: [cal.measure(t, runs[d], problem.scenario).mean for d in range(n_draws)] for t in problem.targets
    }
    checks = []
    for t in problem.targets:
        applies = _inputs_for(problem, evidence, t)
        y = np.asarray(per_draw[t.name], dtype=float)
        corr = {name: _spearman(draws[name].to_numpy(dtype=float), y) for name in applies}
        checks.append(TargetCheck(t, [float(v) for v in y], corr))
    return ConsistencyResult(checks, draws, problem.replications, problem.days, problem.seed, threshold,
                             evidence.file)  # fmt: skip


def check_consistency_oat(
    problem: cal.Problem,
    evidence: Evidence,
    points: int,
    runner: cal.Runner,
    threshold: float = THRESHOLD,
) -> ConsistencyResult:
    """The one-at-a-time design (module docstring): every input that applies to some target, over ``points``
    quantiles, the others at their point values; Spearman per (target, input) over that input's points."""
    files = problem.files(None)
    # a scenario named twice (by name and by path) is simulated once: the same runs serve both names
    first: dict[str, str] = {}
    same = {f: first.setdefault(problem.base(f).model_dump_json(), f) for f in files}
    unique = list(dict.fromkeys(same.values()))
    names = {n for t in problem.targets for n in _inputs_for(problem, evidence, t)}
    entries = [e for e in evidence.entries if e.name in names]
    quantiles = (np.arange(points) + 0.5) / points
    design_rows: list[dict[str, Any]] = []
    jobs: list[tuple[int, str, Scenario]] = []  # (design row, file, scenario) for the files the input changes
    for e in entries:
        one = Evidence(evidence.file, (e,))
        for q, value in zip(quantiles, e.ppf(quantiles), strict=True):
            row = len(design_rows)
            design_rows.append({"input": e.name, "quantile": float(q), "value": float(value)})
            for f in unique:
                base = problem.base(f)
                if evidence_overrides(base, one, {e.name: float(value)}):
                    jobs.append((row, f, apply_draw(base, one, {e.name: float(value)}, row)))
    scenarios = [problem.base(f) for f in unique] + [sc for _, _, sc in jobs]
    tasks = [(k, sc, r, problem.seed) for r in range(problem.replications) for k, sc in enumerate(scenarios)]
    done: dict[int, list[dict[str, float]]] = {k: [{}] * problem.replications for k in range(len(scenarios))}
    for k, r, summary in runner.map(tasks):
        done[k][r] = summary
    point_runs = {f: done[unique.index(same[f])] for f in files}
    per_row: dict[int, dict[str, list[dict[str, float]]]] = {}
    for j, (row, f, _) in enumerate(jobs):
        runs_here = per_row.setdefault(row, dict(point_runs))
        for alias in (g for g in files if same[g] == f):
            runs_here[alias] = done[len(unique) + j]
    design = pd.DataFrame(design_rows)
    checks = []
    for t in problem.targets:
        corr: dict[str, float] = {}
        swings: dict[str, float] = {}
        values: list[float] = []
        for name in _inputs_for(problem, evidence, t):
            rows = design.index[design["input"] == name].tolist()
            y = np.asarray([cal.measure(t, per_row.get(i, point_runs), problem.scenario).mean for i in rows],
                           dtype=float)  # fmt: skip
            values.extend(float(v) for v in y)
            corr[name] = _spearman(design.loc[rows, "value"].to_numpy(dtype=float), y)
            ok = y[np.isfinite(y)]
            swings[name] = float(np.ptp(ok)) if ok.size else 0.0
        checks.append(TargetCheck(t, values, corr, swings))
    return ConsistencyResult(checks, design, problem.replications, problem.days, problem.seed, threshold,
                             evidence.file, design="oat")  # fmt: skip


def _inputs_for(problem: cal.Problem, evidence: Evidence, target: cal.Target) -> list[str]:
    """The evidence entries that change at least one of the scenarios the target is computed from."""
    probe = {e.name: 1.0 for e in evidence.entries}
    names: set[str] = set()
    for f in target.scenarios(problem.scenario):
        paths = set(evidence_overrides(problem.base(f), evidence, probe))
        for e in evidence.entries:
            if e.path in paths or any(p.startswith(e.path + ".") for p in paths):
                names.add(e.name)
    return [e.name for e in evidence.entries if e.name in names]


def table_md(result: ConsistencyResult) -> str:
    oat = result.design == "oat"
    extra = " swing over its points | other inputs past the threshold |" if oat else ""
    lines = ["| target | role in targets file | statistic | classification | strongest input | Spearman rho | "
             "statistic over the draws |" + extra, "|---|---|---|---|---|---|---|" + ("---|---|" if oat else "")]  # fmt: skip
    for c in result.checks:
        r = c.row(result.threshold)
        cells = [r["target"], r["role"], r["statistic"], r["classification"], r["strongest_input"] or "–",
                 cal.fmt(r["spearman"]), f"{cal.fmt(r['stat_low'])} – {cal.fmt(r['stat_high'])}"]  # fmt: skip
        if oat:
            others = ", ".join(f"{k} ({cal.fmt(c.correlations[k])})" for k in r["also_tracks"]) or "–"
            cells += [cal.fmt(r["swing"]) if r["swing"] is not None else "–", others]
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


def misplaced(result: ConsistencyResult) -> list[str]:
    """Targets filed as [[validation]] (or [[fit]]) that the check finds tracking an input, and [[consistency]]
    targets that it finds independent: the lines to act on."""
    out = []
    for c in result.checks:
        tracked = c.tracks(result.threshold)
        if tracked and c.target.role == "validation":
            out.append(f"{c.target.name}: filed as validation but tracks {tracked}; move it to [[consistency]]")
        elif c.target.role == "consistency" and c.label(result.threshold) == INDEPENDENT:
            out.append(f"{c.target.name}: filed as consistency but tracks no single input")
    return out


def write_outputs(result: ConsistencyResult, out: Path, title: str) -> None:
    """``consistency_check.md``, ``.csv`` and ``.json`` (with the per-input correlations and provenance), all or
    nothing."""
    notes = misplaced(result)
    md = (
        f"# {title}\n\n{_design_sentence(result)}, "
        f"{result.replications} replications each (the same seeds for every draw), days "
        f"{result.days or 'as in the scenarios'}. A target whose statistic has |Spearman rho| > "
        f"{result.threshold:g} with one input is a consistency check, never held-out validation.\n\n"
        f"{table_md(result)}\n" + ("".join(f"- {n}\n" for n in notes) + "\n" if notes else "")
        + f"Simulated by {describe_version()}.\n"
    )
    rows = pd.DataFrame([c.row(result.threshold) for c in result.checks])
    write_atomically(out, {
        "consistency_check.md": lambda p: p.write_text(md),
        "consistency_check.csv": lambda p: rows.to_csv(p, index=False),
        "consistency_check.json": lambda p: p.write_text(dumps(result.document()) + "\n"),
    })  # fmt: skip


def _design_sentence(result: ConsistencyResult) -> str:
    if result.design == "oat":
        return (f"One at a time: {result.describe_design().split(': ', 1)[1].split(', common')[0]} of "
                f"{result.evidence} ({len(result.draws)} points)")
    return f"{len(result.draws)} joint draws of {result.evidence} (Latin hypercube)"


def summary_lines(result: ConsistencyResult) -> list[str]:
    return [f"{c.target.name} ({c.target.role}): {c.label(result.threshold)}"
            + (f", rho {c.strongest[1]:.2f} with {c.strongest[0]}" if c.strongest[0] else "")
            for c in result.checks]  # fmt: skip


__all__ = ["THRESHOLD", "ConsistencyResult", "TargetCheck", "check_consistency", "check_consistency_oat",
           "misplaced", "table_md",
           "write_outputs"]  # fmt: skip

