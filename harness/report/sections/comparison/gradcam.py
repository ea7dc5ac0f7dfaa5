"""``## Grad-CAM``: the same test images' heatmaps for every entry, when the runs allow it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness import plots
from harness.reading import num
from harness.report.engine import Figures
from harness.report.leaderboard import Comparison, Run, entries
from harness.report.templates import prose
from harness.results import GradcamPanel

GRADCAM_PNG = "gradcam.png"


def markdown(c: Comparison) -> str:
    plan = gradcam_plan(c.runs)
    if not plan.columns:
        return prose("comparison/gradcam", n=0, note=plan.note)
    first = plan.columns[0][1]
    attacks = sorted({f"{p.attack} at ε = {num(p.eps)}" for _, p, _ in plan.columns})
    return prose(
        "comparison/gradcam",
        n=len(first.indices),
        indices=", ".join(map(str, first.indices)),
        attacks="; ".join(attacks),
        image=GRADCAM_PNG,
        note=plan.note,
    )


def figures(c: Comparison) -> Figures:
    plan = gradcam_plan(c.runs)
    return {GRADCAM_PNG: lambda: plots.gradcam_compare(plan.columns)} if plan.columns else {}


@dataclass(frozen=True)
class GradcamPlan:
    columns: list[tuple[str, GradcamPanel, str]]  # (entry label, its run's panel, role)
    note: str  # why there is no grid (columns empty), or what was left out


def gradcam_plan(runs: Sequence[Run]) -> GradcamPlan:
    """The entries for a Grad-CAM grid of the same test images, or why there is none."""
    missing = [f"{r.path} ({r.gradcam_note})" for r in runs if r.gradcam is None]
    if missing:
        return GradcamPlan([], f"Skipped: {', '.join(missing)}.")
    first = runs[0].gradcam
    assert first is not None
    for run in runs[1:]:
        panel = run.gradcam
        assert panel is not None
        if panel.indices != first.indices:
            return GradcamPlan(
                [],
                f"Skipped: the runs show different test images: indices {first.indices} in "
                f"{runs[0].path}, {panel.indices} in {run.path}.",
            )
        if panel.clean.shape != first.clean.shape or not np.allclose(panel.clean, first.clean):
            return GradcamPlan(
                [], f"Skipped: the test images at the same indices differ in {run.path}."
            )
    columns, left_out = [], []
    for e in entries(runs):
        panel = e.run.gradcam
        assert panel is not None
        if e.role in panel.cams_clean:
            columns.append((e.label, panel, e.role))
        else:
            left_out.append(e.label)
    note = f"No Grad-CAM arrays for {', '.join(left_out)}." if left_out else ""
    return GradcamPlan(columns, note)
