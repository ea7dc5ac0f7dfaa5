"""Matplotlib figures for the report: ``RunResult`` pieces in, ``Figure`` objects out.

Figures are built on the Agg canvas directly (no ``pyplot``): no global figure registry to leak
into, no backend switch that would disturb an interactive user's session, safe in threads.
Only ``save`` writes to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.explain import overlay
from harness.results import GradcamPanel, Measurement, ModelResult

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


# ---------------------------------------------------------------- robustness curve


def curve_points(
    measurements: Sequence[Measurement], model: str, attack: str, clean: float
) -> tuple[list[float], list[float]]:
    """(eps, robust accuracy) for one model and attack; the eps=0 point is clean accuracy."""
    points = {0.0: clean}
    for m in measurements:
        if (m.model, m.attack, m.metric) == (model, attack, "robust_accuracy") and m.eps > 0:
            points[m.eps] = m.value
    eps = sorted(points)
    return eps, [points[e] for e in eps]


def robustness_curve(
    measurements: Sequence[Measurement],
    clean: dict[str, float],  # model -> clean accuracy
    attacks: dict[str, str],  # attack name -> its norm's label, e.g. "L∞"
    num_classes: int | None = None,  # draws the chance level when given
) -> Figure:
    """Robust accuracy (%) vs eps, one panel per attack, one line per model."""
    fig = new_figure(5.2 * max(len(attacks), 1), 4.0)
    axes = fig.subplots(1, max(len(attacks), 1), squeeze=False)[0]
    for ax, (attack, norm) in zip(axes, attacks.items(), strict=False):
        for model, acc in clean.items():
            eps, acc_curve = curve_points(measurements, model, attack, acc)
            ax.plot(eps, [100 * a for a in acc_curve], marker="o", label=model)
        if num_classes:
            ax.axhline(100 / num_classes, color="grey", linestyle=":", label="chance")
        ax.set(
            title=f"{attack}: robust accuracy vs ε",
            xlabel=f"ε ({norm}, [0, 1] pixel units)",
            ylabel="robust accuracy (%)",
            ylim=(0, 101),
        )
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


# ---------------------------------------------------------------- confusion matrix


def confusion(model: ModelResult, class_names: Sequence[str]) -> Figure:
    """Counts of true (rows) vs predicted (columns) classes on clean test inputs."""
    counts = np.asarray(model.confusion, dtype=np.int64)
    n = len(counts)
    size = min(max(3.2, 0.55 * n + 1.8), 12.0)
    fig = new_figure(size + 0.8, size)
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="count")
    dark = counts.max(initial=0) / 2
    font = 10 if n <= 6 else 8 if n <= 12 else 6
    for (i, j), c in np.ndenumerate(counts):
        colour = "white" if c > dark else "black"
        ax.text(j, i, f"{c:,}", ha="center", va="center", color=colour, fontsize=font)
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0)
    ax.set_yticks(range(n), names)
    ax.set(
        xlabel="predicted",
        ylabel="true",
        title=f"{model.role} ({model.arch})\nclean accuracy {model.clean_accuracy:.2%}",
    )
    return fig


# ---------------------------------------------------------------- Grad-CAM grid


def gradcam_grid(panel: GradcamPanel) -> Figure:
    """Rows: images. Columns: clean input, then per model: CAM on clean, adversarial, CAM on adv."""
    roles = list(panel.cams_clean)
    k, cols = len(panel.indices), 1 + 3 * len(roles)
    fig = new_figure(CELL * cols, CELL * k + 0.6)
    axes = fig.subplots(max(k, 1), cols, squeeze=False)
    for row in range(k):
        true = panel.labels[row]
        _image(axes[row, 0], _hwc(panel.clean[row]), f"#{panel.indices[row]} clean\ntrue: {true}")
        for r, role in enumerate(roles):
            c = 1 + 3 * r
            pred_c, pred_a = panel.preds_clean[role][row], panel.preds_adv[role][row]
            cam_c = overlay(panel.clean[row], panel.cams_clean[role][row])
            cam_a = overlay(panel.adversarial[role][row], panel.cams_adv[role][row])
            _image(axes[row, c], cam_c, f"{role} CAM\npred: {pred_c}", pred_c != true)
            _image(axes[row, c + 1], _hwc(panel.adversarial[role][row]), f"{role} adversarial")
            _image(axes[row, c + 2], cam_a, f"{role} adv CAM\npred: {pred_a}", pred_a != true)
    fig.suptitle(
        f"Grad-CAM on clean and {panel.attack} adversarial inputs (ε = {panel.eps:.4g}); "
        "red: prediction ≠ true label"
    )
    return fig


def _hwc(chw: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W) for grayscale, (H, W, 3) for RGB."""
    return chw[0] if chw.shape[0] == 1 else np.moveaxis(chw, 0, -1)


def _image(ax, img: np.ndarray, title: str, wrong: bool = False) -> None:
    """Show (H, W) or (H, W, 3) [0, 1] pixels without smoothing (8x8 digits stay crisp)."""
    ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=8, color=WRONG if wrong else "black")
    ax.set_axis_off()
