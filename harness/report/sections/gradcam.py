"""``## Grad-CAM``: how much each model's heatmaps move under attack, and the heatmap grid."""

from __future__ import annotations

from harness import plots
from harness.cams import cam_similarity
from harness.reading import DASH, num, table
from harness.report.engine import Figures
from harness.report.templates import prose
from harness.results import GradcamPanel, RunResult
from harness.results.rundir import GRADCAM_NPZ

GRADCAM_PNG = "gradcam.png"
HEADER = ["model", "layer", "CAM similarity clean vs adversarial", "predictions changed"]


def applies(result: RunResult) -> bool:
    return result.gradcam is not None


def markdown(result: RunResult) -> str:
    panel = result.gradcam
    assert panel is not None
    return prose(
        "gradcam",
        n=len(panel.indices),
        indices=", ".join(map(str, panel.indices)),
        attack=panel.attack,
        eps=num(panel.eps),
        arrays=GRADCAM_NPZ,
        table=table(HEADER, _rows(panel, {m.role: m.gradcam_layer for m in result.models})),
        image=GRADCAM_PNG,
    )


def figures(result: RunResult) -> Figures:
    return {GRADCAM_PNG: lambda: plots.gradcam_grid(result.gradcam)}


def _rows(panel: GradcamPanel, layers: dict[str, str]) -> list[tuple[str, ...]]:
    rows = []
    for role in panel.cams_clean:
        sim = cam_similarity(panel.cams_clean[role], panel.cams_adv[role])
        changed = sum(
            a != c for a, c in zip(panel.preds_adv[role], panel.preds_clean[role], strict=True)
        )
        mean_sim = f"{sim.mean():.3f}" if len(sim) else DASH
        rows.append((role, f"`{layers.get(role) or DASH}`", mean_sim, f"{changed} / {len(sim)}"))
    return rows
