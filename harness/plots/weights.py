"""Figures of the weight analysis (after the noise-and-spectra study): histograms per epoch, ESD panels."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from harness.plots.canvas import new_figure
from harness.results import (
    WeightAnalysis,
)

# ---------------------------------------------------------------- weight analysis (after the noise-and-spectra study)


def weight_histograms(analysis: WeightAnalysis, title: str) -> Figure:
    """Rows: recorded layers. Columns: weights, biases. One histogram outline per epoch,
    coloured from dark (first epoch) to yellow (last)."""
    names = list(dict.fromkeys(n for e in analysis.epochs for n in e["layers"]))
    fig = new_figure(8.0, 1.9 * max(len(names), 1) + 0.8)
    axes = fig.subplots(max(len(names), 1), 2, squeeze=False)
    colours = _epoch_colours(len(analysis.epochs))
    for row, name in enumerate(names):
        for col, (part, label) in enumerate((("weight", "weights"), ("bias", "biases"))):
            ax = axes[row, col]
            for e, colour in zip(analysis.epochs, colours, strict=True):
                h = e["layers"].get(name, {}).get(part)
                if h:
                    ax.stairs(h["counts"], h["edges"], color=colour, label=f"epoch {e['epoch']}")
            ax.set_title(f"{name} {label}", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[row, 0].set_ylabel("count", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("parameter value", fontsize=7)
    if names and len(analysis.epochs) <= 12:
        axes[0, 0].legend(fontsize=6)
    if len(analysis.epochs) > 1:  # the colour is the epoch: say which
        epochs = [e["epoch"] for e in analysis.epochs]
        scale = ScalarMappable(Normalize(min(epochs), max(epochs)), colormaps["viridis"])
        bar = fig.colorbar(scale, ax=axes, fraction=0.03, pad=0.02, shrink=0.8)
        bar.set_label("epoch", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=10)
    return fig


def _epoch_colours(n: int) -> list:
    return [colormaps["viridis"](i / max(n - 1, 1)) for i in range(n)]


def esd_panels(analysis: WeightAnalysis, title: str) -> Figure:
    """One log-log panel per layer: the ESD density and the fitted power-law tail (dashed)."""
    rows = [r for r in analysis.layers if r.get("esd_counts")]
    cols = min(max(len(rows), 1), 4)
    n_rows = -(-max(len(rows), 1) // cols)
    fig = new_figure(3.2 * cols, 2.8 * n_rows + 0.5)
    axes = fig.subplots(n_rows, cols, squeeze=False).ravel()
    for ax, r in zip(axes, rows, strict=False):
        counts, edges = np.asarray(r["esd_counts"]), np.asarray(r["esd_edges"])
        total = max(counts.sum(), 1)
        density = counts / (total * np.diff(edges))
        ax.stairs(np.where(density > 0, density, np.nan), edges, color="C0", label="ESD")
        if r.get("alpha") is not None:
            a, xmin = r["alpha"], r["xmin"]
            x = np.geomspace(xmin, edges[-1], 50)
            share = r["n_tail"] / total  # the tail's share of all eigenvalues
            ax.plot(x, share * (a - 1) / xmin * (x / xmin) ** -a, "--", color="C3",
                    label=f"α = {a:.2f}")  # fmt: skip
            ax.axvline(xmin, color="grey", linestyle=":", linewidth=1)
        ax.set(xscale="log", yscale="log", xlabel="eigenvalue λ of WᵀW/N", ylabel="density")
        ax.xaxis.set_minor_formatter(NullFormatter())  # narrow ranges: labels would overlap
        ax.set_title(r["name"], fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes[len(rows) :]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return fig
