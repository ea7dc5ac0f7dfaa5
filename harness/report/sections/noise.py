"""``## Noise overconfidence probe``: how sure each model is about images of uniform noise."""

from __future__ import annotations

from harness import plots
from harness.reading import pct, table
from harness.report.engine import Figures
from harness.report.files import NOISE_PNG
from harness.report.templates import prose
from harness.results import RunResult

HEADER = [
    "model",
    "noise images",
    "threshold",
    "overconfident",
    "mean confidence",
    "overconfident predicted as",
]


def applies(result: RunResult) -> bool:
    return bool(result.noise)


def markdown(result: RunResult) -> str:
    rows = [
        (
            p.model,
            f"{p.n_images:,}",
            f"{p.threshold:g}",
            f"{pct(p.overconfident_fraction)} ({round(p.overconfident_fraction * p.n_images):,})",
            pct(p.mean_confidence),
            _counts_text(p.class_counts),
        )
        for p in result.noise
    ]
    return prose("noise", table=table(HEADER, rows), image=NOISE_PNG)


def figures(result: RunResult) -> Figures:
    return {NOISE_PNG: lambda: plots.noise_probe(result.noise)}


def _counts_text(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return ", ".join(
        f"{name} {n:,}" + (f" ({n / total:.1%})" if total else "") for name, n in counts.items()
    )
