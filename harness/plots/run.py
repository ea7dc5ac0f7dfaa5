"""Figures of one run: robustness curve, confusion matrix, Grad-CAM, attention, noise probe,
minimal perturbations, adversarial examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from harness.perturbation import magnified
from harness.plots.camgrid import cam_cells, image_rows, show_cell
from harness.plots.canvas import CELL, hwc, new_figure, show_image
from harness.results import (
    AttentionRow,
    ExampleGrid,
    GradcamPanel,
    Measurement,
    MinimalPerturbation,
    ModelResult,
    NoiseProbe,
)

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
    size = _matrix_size(len(counts))
    fig = new_figure(size + 0.8, size)
    ax = fig.subplots()
    title = f"{model.role} ({model.arch})\nclean accuracy {model.clean_accuracy:.2%}"
    image = _matrix(ax, counts, class_names, title, counts.max(initial=0))
    fig.colorbar(image, ax=ax, shrink=0.8, label="count")
    return fig


def attack_confusion(
    model: ModelResult, attacked: Sequence[Sequence[int]], class_names: Sequence[str], what: str
) -> Figure:
    """The clean confusion matrix beside the one under attack (``what``: "fgsm at ε = 0.15"),
    on one colour scale: the mass leaving the diagonal is where the attack pushes each class."""
    clean = np.asarray(model.confusion, dtype=np.int64)
    adv = np.asarray(attacked, dtype=np.int64)
    size = _matrix_size(len(clean))
    fig = new_figure(2 * size + 1.2, size)
    axes = fig.subplots(1, 2)
    top = max(clean.max(initial=0), adv.max(initial=0))
    _matrix(axes[0], clean, class_names, f"{model.role}: clean", top)
    image = _matrix(axes[1], adv, class_names, f"{model.role}: {what}", top)
    fig.colorbar(image, ax=axes, shrink=0.8, label="count")
    return fig


def _matrix_size(n: int) -> float:
    return min(max(3.2, 0.55 * n + 1.8), 12.0)


def _matrix(ax, counts: np.ndarray, class_names: Sequence[str], title: str, top: int):
    """Counts of true (rows) vs predicted (columns) classes, each cell labelled."""
    n = len(counts)
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(top), 1))
    font = 10 if n <= 6 else 8 if n <= 12 else 6
    for (i, j), c in np.ndenumerate(counts):
        colour = "white" if c > top / 2 else "black"
        ax.text(j, i, f"{c:,}", ha="center", va="center", color=colour, fontsize=font)
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0)
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return image


# ---------------------------------------------------------------- Grad-CAM grid


def gradcam_grid(panel: GradcamPanel) -> Figure:
    """Rows: images. Columns: clean input, then per model: CAM on clean, adversarial, CAM on adv."""
    roles = list(panel.cams_clean)
    fig, axes = image_rows(panel, 1 + 3 * len(roles), 0.6)
    for row in range(len(panel.indices)):
        for r, role in enumerate(roles):
            c = 1 + 3 * r
            clean, adversarial = cam_cells(panel, role, row)
            show_cell(axes[row, c], clean, f"{role} CAM\n")
            show_image(axes[row, c + 1], hwc(panel.adversarial[role][row]), f"{role} adversarial")
            show_cell(axes[row, c + 2], adversarial, f"{role} adv CAM\n")
    fig.suptitle(
        f"Grad-CAM on clean and {panel.attack} adversarial inputs (ε = {panel.eps:.4g}); "
        "red: prediction ≠ true label"
    )
    return fig


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
        show_image(
            axes[row, 0],
            hwc(grid.clean[row]),
            f"#{grid.indices[row]} true: {true}\nclean pred: {clean_pred}",
            clean_pred != true,
        )
        title = f"perturbation ×{factor:.3g}\n{size}" if factor else "no change"
        show_image(axes[row, 1], hwc(shown), title)
        show_image(
            axes[row, 2],
            hwc(grid.adversarial[row]),
            f"adversarial\npred: {adv_pred}",
            adv_pred != true,
        )
    fig.suptitle(
        f"{grid.model}: {grid.attack} at ε = {grid.eps:.4g}\n(perturbation: grey = 0, "
        "magnified ×k; red: prediction ≠ true label)",
        fontsize=9,
    )
    return fig
