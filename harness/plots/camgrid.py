"""What every Grad-CAM figure shares: one test image per row, its clean input in the first
column, then what each model made of it (its CAM on the clean and on the adversarial input)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from harness.cams import CAM_CMAP, overlay
from harness.plots.canvas import CELL, hwc, new_figure, show_image
from harness.results import GradcamPanel


@dataclass(frozen=True)
class CamCell:
    """A CAM overlaid on its input, with the model's prediction on that input."""

    image: np.ndarray  # (H, W, 3) in [0, 1]
    pred: str
    wrong: bool  # the prediction is not the true label (drawn in red)


def image_rows(panel: GradcamPanel, cols: int, pad: float) -> tuple[Figure, np.ndarray]:
    """A figure of one row per image of ``panel`` and ``cols`` columns (``pad`` inches for the
    title); the first column shows each clean input with its index and true label."""
    k = len(panel.indices)
    fig = new_figure(CELL * cols, CELL * k + pad)
    axes = fig.subplots(max(k, 1), cols, squeeze=False)
    for row in range(k):
        title = f"#{panel.indices[row]} clean\ntrue: {panel.labels[row]}"
        show_image(axes[row, 0], hwc(panel.clean[row]), title)
    scale = ScalarMappable(Normalize(0.0, 1.0), colormaps[CAM_CMAP])
    bar = fig.colorbar(scale, ax=axes, shrink=min(0.9, 2.5 / max(k, 1)), fraction=0.03, pad=0.02)
    bar.set_label("Grad-CAM (min-max scaled per image)", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    return fig, axes


def cam_cells(panel: GradcamPanel, role: str, row: int) -> tuple[CamCell, CamCell]:
    """Model ``role``'s CAMs for image ``row``: on the clean input, then on its adversarial one."""
    true = panel.labels[row]
    pred_c, pred_a = panel.preds_clean[role][row], panel.preds_adv[role][row]
    clean = overlay(panel.clean[row], panel.cams_clean[role][row])
    adversarial = overlay(panel.adversarial[role][row], panel.cams_adv[role][row])
    return CamCell(clean, pred_c, pred_c != true), CamCell(adversarial, pred_a, pred_a != true)


def show_cell(ax: Axes, cell: CamCell, head: str) -> None:
    """``cell`` under the title ``head`` followed by its prediction, red when wrong."""
    show_image(ax, cell.image, f"{head}pred: {cell.pred}", cell.wrong)
