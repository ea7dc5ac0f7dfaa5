"""Figures of the common-corruption evaluation: accuracy heatmaps and a per-family bar chart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from harness.cams import overlay
from harness.plots.camgrid import CamCell, cam_cells, image_rows, show_cell
from harness.plots.canvas import hwc, new_figure, show_image
from harness.results import GradcamPanel
from harness.results.corruption import (
    CorruptionAccuracy,
    CorruptionCams,
    accuracy_grid,
    family_means,
)


def heatmap(rows: Sequence[CorruptionAccuracy], model: str) -> Figure:
    """One model's accuracy (%), corruption (rows) x severity (columns), values written in."""
    names, severities, grid = accuracy_grid(rows, model)
    fig = new_figure(1.6 + 0.7 * len(severities), 1.0 + 0.32 * len(names))
    ax = fig.subplots()
    image = ax.imshow(100 * grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        if not np.isnan(v):
            ax.text(
                j,
                i,
                f"{100 * v:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v < 0.6 else "black",
            )
    ax.set_xticks(range(len(severities)), [str(s) for s in severities])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set(xlabel="severity", title=f"{model}: accuracy under corruption (%)")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def families(rows: Sequence[CorruptionAccuracy]) -> Figure:
    """Mean accuracy (%) per corruption family, one bar per model (the baseline first)."""
    means = family_means(rows)  # model -> family -> mean accuracy
    models = list(means)
    fams = list(dict.fromkeys(f for m in means.values() for f in m))
    fig = new_figure(2.0 + 1.2 * len(fams), 3.6)
    ax = fig.subplots()
    width = 0.8 / max(len(models), 1)
    for i, m in enumerate(models):
        x = np.arange(len(fams)) + (i - (len(models) - 1) / 2) * width
        values = [100 * means[m].get(f, np.nan) for f in fams]
        bars = ax.bar(x, values, width, label=m, color=f"C{i}")
        ax.bar_label(bars, [f"{v:.0f}" for v in values], fontsize=7)
    ax.set_xticks(range(len(fams)), fams)
    ax.set(ylabel="mean accuracy (%)", ylim=(0, 105), title="Accuracy per corruption family")
    ax.legend(fontsize=8)
    return fig


def corruption_cams(panel: GradcamPanel, cams: CorruptionCams) -> Figure:
    """Rows: the Grad-CAM panel's images. Columns: clean input, corrupted input, then per model
    its CAM on the clean, the corrupted and the adversarial input (red: prediction wrong)."""
    roles = [r for r in panel.cams_clean if r in cams.cams]
    fig, axes = image_rows(panel, 2 + 3 * len(roles), 0.6)
    for row in range(len(panel.indices)):
        show_image(
            axes[row, 1], hwc(cams.images[row]), f"{cams.corruption}\nseverity {cams.severity}"
        )
        for r, role in enumerate(roles):
            c = 2 + 3 * r
            clean, adversarial = cam_cells(panel, role, row)
            pred = cams.preds[role][row]
            corrupted = CamCell(
                overlay(cams.images[row], cams.cams[role][row]), pred, pred != panel.labels[row]
            )
            show_cell(axes[row, c], clean, f"{role} clean\n")
            show_cell(axes[row, c + 1], corrupted, f"{role} corrupted\n")
            show_cell(axes[row, c + 2], adversarial, f"{role} adversarial\n")
    fig.suptitle(
        f"Grad-CAM on clean, {cams.corruption} (severity {cams.severity}) and {panel.attack} "
        f"adversarial (ε = {panel.eps:.4g}) inputs; red: prediction ≠ true label"
    )
    return fig
