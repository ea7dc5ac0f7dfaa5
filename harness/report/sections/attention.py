"""``## Attention shift (Grad-CAM)``: how the heatmaps fade or move as ε grows."""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness import plots
from harness.reading import DASH, num, pct, table
from harness.report.engine import Figures
from harness.report.files import ATTENTION_PNG
from harness.report.templates import prose
from harness.results import AttentionRow, RunResult

HEADER = ["model", "ε", "CAM similarity", "clean mass", "adversarial mass", "ratio", "blank"]


def applies(result: RunResult) -> bool:
    return bool(result.attention)


def markdown(result: RunResult) -> str:
    return render(result.attention)


def figures(result: RunResult) -> Figures:
    return {ATTENTION_PNG: lambda: plots.attention_shift(result.attention)}


def render(rows: Sequence[AttentionRow]) -> str:
    if not rows:
        return ""
    table_rows = [
        (
            r.model,
            num(r.eps),
            f"{r.similarity:.3f}",
            f"{r.clean_mass:.4g}",
            f"{r.adv_mass:.4g}",
            DASH if math.isnan(r.mass_ratio) else f"{r.mass_ratio:.3f}",
            f"{pct(r.blank_fraction)} ({round(r.blank_fraction * r.n)} / {r.n})",
        )
        for r in rows
    ]
    attacks = ", ".join(dict.fromkeys(r.attack for r in rows))
    return prose("attention", attacks=attacks, table=table(HEADER, table_rows), image=ATTENTION_PNG)
