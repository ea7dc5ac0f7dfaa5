"""Matplotlib figures for the report: ``RunResult`` pieces in, ``Figure`` objects out.

Figures are built on the Agg canvas directly (no ``pyplot``): no global figure registry to leak
into, no backend switch that would disturb an interactive user's session, safe in threads.
Only ``save`` writes to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from harness.explain import overlay
from harness.results import (
    AttentionRow,
    CertifiedCurve,
    ExampleGrid,
    GradcamPanel,
    Measurement,
    MinimalPerturbation,
    ModelResult,
    NoiseProbe,
    WeightAnalysis,
)

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
    titles: dict[str, str] | None = None,  # attack name -> panel title (default: the name)
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
            title=f"{(titles or {}).get(attack, attack)}: robust accuracy vs ε",
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


# ---------------------------------------------------------------- attention shift


def attention_shift(rows: Sequence[AttentionRow]) -> Figure:
    """Left: mean clean-vs-adversarial CAM similarity vs eps. Right: CAM mass ratio vs eps."""
    fig = new_figure(10.0, 4.0)
    left, right = fig.subplots(1, 2)
    for i, model in enumerate(dict.fromkeys(r.model for r in rows)):
        mine = sorted((r for r in rows if r.model == model), key=lambda r: r.eps)
        eps = [r.eps for r in mine]
        left.plot(eps, [r.similarity for r in mine], "o-", color=f"C{i}", label=model)
        right.plot(eps, [r.mass_ratio for r in mine], "o-", color=f"C{i}", label=model)
    for ax in (left, right):
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)  # unchanged attention
        ax.set_xlabel("ε ([0, 1] pixel units)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    left.set(title="CAM similarity, clean vs adversarial", ylabel="mean cosine similarity")
    right.set(title="CAM mass, adversarial / clean", ylabel="mean per-image mass ratio")
    right.set_ylim(bottom=0)
    attacks = ", ".join(dict.fromkeys(r.attack for r in rows))
    fig.suptitle(f"Grad-CAM attention shift under {attacks}")
    return fig


# ---------------------------------------------------------------- noise probe


def noise_probe(probes: Sequence[NoiseProbe]) -> Figure:
    """Left: overconfident fraction of noise images per model. Right: their predicted classes."""
    labels = [_probe_label(p, probes) for p in probes]
    classes = list(dict.fromkeys(c for p in probes for c in p.class_counts))
    fig = new_figure(4.0 + min(max(5.0, 0.55 * len(classes) * max(len(probes), 1)), 12.0), 4.0)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2.2]})
    fractions = [100 * p.overconfident_fraction for p in probes]
    bars = left.bar(labels, fractions, color=[f"C{i}" for i in range(len(probes))])
    left.bar_label(bars, [f"{f:.1f}%" for f in fractions], fontsize=8)
    left.set(ylabel="overconfident noise images (%)", ylim=(0, 105), title="overconfident on noise")
    left.tick_params(axis="x", labelrotation=20)
    width = 0.8 / max(len(probes), 1)
    for i, (p, label) in enumerate(zip(probes, labels, strict=True)):
        x = np.arange(len(classes)) + (i - (len(probes) - 1) / 2) * width
        right.bar(x, [p.class_counts.get(c, 0) for c in classes], width, label=label, color=f"C{i}")
    right.set_xticks(range(len(classes)), classes, rotation=45 if len(classes) > 6 else 0)
    right.set(ylabel="overconfident images", title="their predicted class")
    right.legend(fontsize=8)
    thresholds = ", ".join(sorted({f"{p.threshold:g}" for p in probes}))
    n = ", ".join(sorted({f"{p.n_images:,}" for p in probes}))
    fig.suptitle(f"Uniform noise ({n} images): max softmax ≥ {thresholds}")
    return fig


def _probe_label(p: NoiseProbe, probes: Sequence[NoiseProbe]) -> str:
    """The model name, with the threshold when a model has several probes."""
    several = sum(q.model == p.model for q in probes) > 1
    return f"{p.model} (≥ {p.threshold:g})" if several else p.model


# ---------------------------------------------------------------- minimal perturbations


def cdf_points(norms: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(norm, fraction of samples with minimal norm <= norm) at each finite norm, from (0, 0).

    Infinite norms (not found) count in the denominator only, so the curve ends below 1.
    """
    values = np.sort(np.asarray(norms, dtype=np.float64))
    finite = values[np.isfinite(values)]
    fraction = np.arange(1, len(finite) + 1) / max(len(values), 1)
    return np.concatenate([[0.0], finite]), np.concatenate([[0.0], fraction])


def minimal_cdf(probes: Sequence[MinimalPerturbation]) -> Figure:
    """Fraction of samples broken by a perturbation of at most x, one panel per norm."""
    norms = list(dict.fromkeys(p.norm for p in probes))
    fig = new_figure(5.2 * max(len(norms), 1), 4.0)
    axes = fig.subplots(1, max(len(norms), 1), squeeze=False)[0]
    methods = {p.method for p in probes}
    for ax, norm in zip(axes, norms, strict=False):
        panel = [q for q in probes if q.norm == norm]
        finite = [v for q in panel for v in q.norms if np.isfinite(v)]
        right = 1.05 * max(finite, default=1.0)  # every curve runs to the same right edge
        for p in panel:
            x, y = cdf_points(p.norms)
            label = p.model if len(methods) == 1 else f"{p.model} ({p.method})"
            median = f"{p.median:.3g}" if np.isfinite(p.median) else "∞"
            ax.step([*x, right], [*y, y[-1]], where="post", label=f"{label}, median {median}")
        label = {"linf": "L∞", "l2": "L2"}.get(norm, norm)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set(
            title=f"Minimal {label} perturbation ({', '.join(sorted(methods))})",
            xlabel=f"perturbation norm ({label}, [0, 1] pixel units)",
            ylabel="fraction of samples with minimal norm ≤ x",
            ylim=(0, 1.02),
            xlim=(0, right),
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------- adversarial examples


def magnified(delta: np.ndarray) -> tuple[np.ndarray, float]:
    """A perturbation (C, H, W) for display: 0.5 + k * delta in [0, 1], k = 0.5 / max |delta|.

    Returns (the image, k); k = 0 when nothing changed (a flat grey image).
    """
    peak = float(np.abs(delta).max(initial=0.0))
    k = 0.5 / peak if peak > 0 else 0.0
    return np.clip(0.5 + k * delta, 0.0, 1.0), k


def example_grid(grid: ExampleGrid) -> Figure:
    """Rows: images. Columns: clean (true label, prediction), magnified perturbation, adversarial."""
    k = len(grid.indices)
    fig = new_figure(CELL * 3, CELL * k + 0.6)
    axes = fig.subplots(max(k, 1), 3, squeeze=False)
    for row in range(k):
        true, clean_pred, adv_pred = (
            grid.true_labels[row],
            grid.clean_preds[row],
            grid.adv_preds[row],
        )
        delta = grid.adversarial[row].astype(np.float64) - grid.clean[row]
        shown, factor = magnified(delta)
        size = f"L∞ {np.abs(delta).max(initial=0.0):.3f}"
        _image(
            axes[row, 0],
            _hwc(grid.clean[row]),
            f"#{grid.indices[row]} true: {true}\nclean pred: {clean_pred}",
            clean_pred != true,
        )
        title = f"perturbation ×{factor:.3g}\n{size}" if factor else "no change"
        _image(axes[row, 1], _hwc(shown), title)
        _image(
            axes[row, 2],
            _hwc(grid.adversarial[row]),
            f"adversarial\npred: {adv_pred}",
            adv_pred != true,
        )
    fig.suptitle(
        f"{grid.model}: {grid.attack} at ε = {grid.eps:.4g}\n(perturbation: grey = 0, "
        "magnified ×k; red: prediction ≠ true label)",
        fontsize=9,
    )
    return fig


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
    """One confusion matrix per entry, side by side (at most 4 a row): counts as text, colour
    the fraction of the true class (row), so test sets of different sizes share one scale."""
    k = max(len(panels), 1)
    cols = min(k, 4)
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
    k, cols = len(first.indices), 1 + 2 * len(columns)
    fig = new_figure(CELL * cols, CELL * k + 1.0)
    axes = fig.subplots(max(k, 1), cols, squeeze=False)
    for row in range(k):
        true = first.labels[row]
        _image(axes[row, 0], _hwc(first.clean[row]), f"#{first.indices[row]} clean\ntrue: {true}")
        for c, (label, panel, role) in enumerate(columns):
            pred_c, pred_a = panel.preds_clean[role][row], panel.preds_adv[role][row]
            cam_c = overlay(panel.clean[row], panel.cams_clean[role][row])
            cam_a = overlay(panel.adversarial[role][row], panel.cams_adv[role][row])
            head_c = f"{label}\nclean CAM\n" if row == 0 else ""
            head_a = f"{label}\n{panel.attack} ε={panel.eps:.3g} CAM\n" if row == 0 else ""
            _image(axes[row, 1 + 2 * c], cam_c, f"{head_c}pred: {pred_c}", pred_c != true)
            _image(axes[row, 2 + 2 * c], cam_a, f"{head_a}pred: {pred_a}", pred_a != true)
    fig.suptitle("Grad-CAM of the same test images across models; red: prediction ≠ true label")
    return fig


# ---------------------------------------------------------------- weight analysis (seed 003)


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
    if names and len(analysis.epochs) <= 12:
        axes[0, 0].legend(fontsize=6)
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
