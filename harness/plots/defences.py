"""Figures of the defences: naive vs adaptive robust accuracy, certified accuracy."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from harness.plots.canvas import new_figure
from harness.plots.run import curve_points
from harness.results import (
    CertifiedCurve,
    Measurement,
)

# ---------------------------------------------------------------- defences


def naive_vs_adaptive(
    measurements: Sequence[Measurement],
    panels: Sequence[tuple[str, str, str]],  # (model, adaptive attack, its naive twin)
    clean: dict[str, float],  # model -> clean accuracy
) -> Figure:
    """One panel per defence and attack: robust accuracy against the naive attacker (dashed)
    and the adaptive one (solid), with the undefended baseline under the same attack (dotted)."""
    fig = new_figure(4.6 * max(len(panels), 1), 3.8)
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, (model, attack, naive) in zip(axes, panels, strict=False):
        lines = (
            (model, naive, "--", "C1", "naive: crafted on the baseline"),
            (model, attack, "-", "C3", "adaptive: through the defence"),
            ("baseline", attack, ":", "grey", "baseline (no defence)"),
        )
        for who, name, style, colour, label in lines:
            if who in clean:
                eps, acc = curve_points(measurements, who, name, clean[who])
                ax.plot(eps, [100 * a for a in acc], style, marker="o", color=colour, label=label)
        ax.set(
            title=f"{model}: {attack}",
            xlabel="ε (L∞, [0, 1] pixel units)",
            ylabel="robust accuracy (%)",
            ylim=(0, 101),
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def certified_accuracy(curves: Sequence[CertifiedCurve]) -> Figure:
    """Certified accuracy (%) vs L2 radius, one line per smoothed model (abstain = wrong)."""
    fig = new_figure(5.6, 4.0)
    ax = fig.subplots()
    for i, c in enumerate(curves):
        label = f"{c.model} (σ = {c.sigma:g})"
        ax.step(
            c.radii,
            [100 * a for a in c.certified_accuracy],
            "o-",
            where="post",
            color=f"C{i}",
            label=label,
        )
    ax.set(
        title="Randomized smoothing: certified accuracy",
        xlabel="L2 radius ([0, 1] pixel units)",
        ylabel="certified accuracy (%)",
        ylim=(0, 101),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
