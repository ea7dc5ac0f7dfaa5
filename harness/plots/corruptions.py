"""Figures of the common-corruption evaluation: accuracy heatmaps and a per-family bar chart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from harness.plots.canvas import new_figure
from harness.results.corruption import CorruptionAccuracy, accuracy_grid, family_means


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
