"""The figures' canvas: Agg figures without ``pyplot``, saved as PNG; shared image helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 120
CELL = 1.7  # inches per image in the Grad-CAM grid
WRONG = "#c0392b"  # title colour when a prediction differs from the true label


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` as PNG and release its canvas."""
    try:
        fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        fig.clear()


def hwc(chw: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W) for grayscale, (H, W, 3) for RGB."""
    return chw[0] if chw.shape[0] == 1 else np.moveaxis(chw, 0, -1)


def show_image(ax, img: np.ndarray, title: str, wrong: bool = False) -> None:
    """Show (H, W) or (H, W, 3) [0, 1] pixels without smoothing (8x8 digits stay crisp)."""
    ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=8, color=WRONG if wrong else "black")
    ax.set_axis_off()
