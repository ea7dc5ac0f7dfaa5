"""``## Certified robustness (randomized smoothing)``: certified accuracy per L2 radius."""

from __future__ import annotations

from harness import plots
from harness.reading import DASH, num, pct, pct_ci, table
from harness.report.engine import Figures
from harness.report.templates import prose
from harness.results import RunResult

CERTIFIED_PNG = "certified_accuracy.png"
HEADER = [
    "model",
    "σ",
    "images",
    "n₀ (select)",
    "n (certify)",
    "α",
    "smoothed accuracy",
    "abstained",
    "median radius",
    "largest certifiable radius",
    "time",
]


def applies(result: RunResult) -> bool:
    return bool(result.certified)


def figures(result: RunResult) -> Figures:
    return {CERTIFIED_PNG: lambda: plots.certified_accuracy(result.certified)}


def markdown(result: RunResult) -> str:
    radii = sorted({r for c in result.certified for r in c.radii})
    by_model = {
        c.model: dict(zip(c.radii, c.certified_accuracy, strict=True)) for c in result.certified
    }
    n = {c.model: c.n_images for c in result.certified}
    curve = table(
        ["L2 radius", *by_model],
        [[num(r), *(pct_ci(v.get(r), n[m]) for m, v in by_model.items())] for r in radii],
    )
    rows = [
        [
            c.model,
            num(c.sigma),
            f"{c.n_images:,}",
            f"{c.n_select:,}",
            f"{c.n:,}",
            num(c.alpha),
            pct_ci(c.smoothed_accuracy, c.n_images),
            pct(c.abstain_rate),
            DASH if c.median_radius != c.median_radius else f"{c.median_radius:.3f}",
            DASH if c.max_radius != c.max_radius else f"{c.max_radius:.3f}",
            f"{c.seconds:,.1f} s",
        ]
        for c in result.certified
    ]
    summary = table(HEADER, rows)
    return prose("certified", curve=curve, summary=summary, image=CERTIFIED_PNG)
