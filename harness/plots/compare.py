"""Figures of the run comparison and the grid: curves of many entries, confusion panels,
Grad-CAM across runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from harness.plots.camgrid import cam_cells, image_rows, show_cell
from harness.plots.canvas import new_figure
from harness.results import (
    GradcamPanel,
)

# ---------------------------------------------------------------- comparison of runs


def compare_curves(
    panels: dict[str, dict[str, tuple[list[float], list[float]]]],  # panel -> entry -> (ε, acc)
    titles: dict[str, str],  # panel -> title
    xlabels: dict[str, str],  # panel -> x axis label (ε and its norm)
    styles: dict[str, tuple[str, str]],  # entry -> (colour, line style)
    num_classes: int | None = None,  # draws the chance level when given
    spread: dict[str, dict[str, list[float]]] | None = None,  # panel -> entry -> ± band per ε
) -> Figure:
    """Robust accuracy (%) vs ε, one panel per attack, one line per entry (run/role), with a
    shaded band of ± ``spread`` around each line that has one (e.g. a std over seeds)."""
    n = max(len(panels), 1)
    fig = new_figure(5.2 * n, 4.4)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (panel, lines) in zip(axes, panels.items(), strict=False):
        for entry, (eps, acc) in lines.items():
            if not eps:
                continue
            colour, dash = styles.get(entry, (None, "-"))
            (line,) = ax.plot(eps, [100 * a for a in acc], marker="o", markersize=3, color=colour,
                              linestyle=dash, label=entry)  # fmt: skip
            band = np.asarray((spread or {}).get(panel, {}).get(entry, np.zeros(len(eps))))
            if band.any():
                mid = 100 * np.asarray(acc)
                ax.fill_between(eps, mid - 100 * band, mid + 100 * band, color=line.get_color(),
                                alpha=0.15, linewidth=0)  # fmt: skip
        if num_classes:
            ax.axhline(100 / num_classes, color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set(
            title=titles.get(panel, panel),
            xlabel=xlabels.get(panel, "ε"),
            ylabel="robust accuracy (%)",
            ylim=(0, 101),
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def confusion_panels(
    panels: Sequence[tuple[str, list[list[int]]]], class_names: Sequence[str]
) -> Figure:
    """One confusion matrix per entry, two a row (readable at a page's width): counts as text,
    colour the fraction of the true class (row), so test sets of different sizes share one
    scale."""
    k = max(len(panels), 1)
    cols = min(k, 2)
    rows = -(-k // cols)
    n = len(panels[0][1]) if panels else len(class_names)
    size = min(max(3.0, 0.4 * n + 1.8), 7.0)
    fig = new_figure(size * cols + 0.8, (size + 0.4) * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    font = 9 if n <= 6 else 7 if n <= 12 else 5
    image = None
    for ax, (title, matrix) in zip(axes, panels, strict=False):
        counts = np.asarray(matrix, dtype=np.int64)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), c in np.ndenumerate(counts):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, f"{c:,}", ha="center", va="center", color=colour, fontsize=font)
        ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0,
                      fontsize=font)  # fmt: skip
        ax.set_yticks(range(n), names, fontsize=font)
        ax.set(xlabel="predicted", ylabel="true")
        ax.set_title(title, fontsize=9)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(
            image, ax=list(axes[: len(panels)]), shrink=0.8, label="fraction of true class"
        )
    return fig


def gradcam_compare(columns: Sequence[tuple[str, GradcamPanel, str]]) -> Figure:
    """The same test images across models. Rows: images. Columns: the clean input, then per
    entry (label, its run's panel, role): the CAM on the clean input and on its adversarial input.
    The clean images, labels and indices are the first panel's (the caller checked they agree)."""
    first = columns[0][1]
    fig, axes = image_rows(first, 1 + 2 * len(columns), 1.0)
    for row in range(len(first.indices)):
        for c, (label, panel, role) in enumerate(columns):
            clean, adversarial = cam_cells(panel, role, row)
            head_c = f"{label}\nclean CAM\n" if row == 0 else ""
            head_a = f"{label}\n{panel.attack} ε={panel.eps:.3g} CAM\n" if row == 0 else ""
            show_cell(axes[row, 1 + 2 * c], clean, head_c)
            show_cell(axes[row, 2 + 2 * c], adversarial, head_a)
    fig.suptitle("Grad-CAM of the same test images across models; red: prediction ≠ true label")
    return fig
