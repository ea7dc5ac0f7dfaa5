"""``## Minimal perturbations``: the size of the smallest perturbation that flips each sample."""

from __future__ import annotations

import math

from harness import plots
from harness.reading import DASH, NORMS, pct, table
from harness.report.engine import Figures
from harness.report.files import MINIMAL_PNG
from harness.report.templates import prose
from harness.results import MinimalPerturbation, RunResult

HEADER = [
    "model",
    "method",
    "norm",
    "samples",
    "median minimal norm",
    "found",
    "ART empirical robustness",
]


def applies(result: RunResult) -> bool:
    return bool(result.minimal)


def markdown(result: RunResult) -> str:
    rows = [_row(p) for p in result.minimal]
    return prose("minimal", table=table(HEADER, rows), image=MINIMAL_PNG)


def figures(result: RunResult) -> Figures:
    return {MINIMAL_PNG: lambda: plots.minimal_cdf(result.minimal)}


def _row(p: MinimalPerturbation) -> tuple[str, ...]:
    found = sum(math.isfinite(v) for v in p.norms)
    share = pct(found / p.n_samples) if p.n_samples else DASH
    return (
        p.model,
        p.method,
        NORMS.get(p.norm, p.norm),
        f"{p.n_samples:,}",
        f"{p.median:.4f}" if math.isfinite(p.median) else "∞ (half or more not found)",
        f"{found:,} / {p.n_samples:,} ({share})",
        f"{p.empirical_robustness:.4f}",
    )
