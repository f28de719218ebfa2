"""One PNG per metric: the mean of each scenario with its 95% CI as error bars (matplotlib, Agg backend)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any


def plot_comparison(result: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``<metric>.png`` for every metric of a :func:`compare_runs` result; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = result["scenarios"]
    paths = []
    for metric, per in result["metrics"].items():
        means = [_f(per[lab]["mean"]) for lab in labels]
        lows = [_f(per[lab]["ci_low"]) for lab in labels]
        highs = [_f(per[lab]["ci_high"]) for lab in labels]
        err = [[_nz(m - lo) for m, lo in zip(means, lows, strict=True)],
               [_nz(hi - m) for m, hi in zip(means, highs, strict=True)]]  # fmt: skip
        fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(labels) + 2), 3.8), dpi=100)
        x = list(range(len(labels)))
        colors = ["#4c72b0" if i == 0 else ("#dd8452" if per[lab]["significant"] else "#8c8c8c")
                  for i, lab in enumerate(labels)]  # fmt: skip
        ax.bar(x, means, color=colors, alpha=0.8)
        ax.errorbar(x, means, yerr=err, fmt="none", ecolor="black", capsize=4, linewidth=1)
        ax.set_xticks(
            x, labels, rotation=30 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center"
        )
        ax.set_title(
            f"{metric}\nmean and 95% CI; orange: paired difference vs {labels[0]} excludes 0", fontsize=8
        )
        ax.set_ylabel(metric)
        fig.tight_layout()
        path = out / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', metric)}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def _f(x: Any) -> float:
    return float(x) if x is not None else math.nan


def _nz(x: float) -> float:
    return x if math.isfinite(x) else 0.0
