"""Seed 000's single-image evasion: the smallest FGSM epsilon in a fine grid that flips a prediction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from art.estimators.classification import PyTorchClassifier

from harness import metrics
from harness.attacks import ATTACKS, generate
from harness.results import EvasionRow
from harness.spec import AttackSpec, EvasionSpec


def eps_grid(spec: EvasionSpec) -> np.ndarray:
    """eps_step, 2*eps_step, ... up to eps_max inclusive (pixel units)."""
    n = int(np.floor(spec.eps_max / spec.eps_step + 1e-9))
    return np.round(spec.eps_step * np.arange(1, n + 1), 10)


def pick_per_class(y: np.ndarray, n: int) -> list[int]:
    """``n`` test indices taking classes in turn (first unused sample of each class)."""
    pools = [list(np.flatnonzero(y == c)) for c in np.unique(y)]
    picks: list[int] = []
    while len(picks) < min(n, len(y)):
        for pool in pools:
            if pool and len(picks) < n:
                picks.append(int(pool.pop(0)))
    return picks


def smallest_flips(
    model_name: str,
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    indices: Sequence[int],
    grid: np.ndarray,
    class_names: Sequence[str],
) -> list[EvasionRow]:
    """For each chosen image, FGSM at every grid eps; report the first eps that changes the prediction."""
    if len(indices) == 0 or len(grid) == 0:
        return []
    fgsm = ATTACKS.get("fgsm")
    params = fgsm.resolve(AttackSpec("fgsm"))
    xs, ys = x[list(indices)], y[list(indices)]
    clean = metrics.softmax(classifier.predict(xs))
    # probs[g] for grid eps g: (G, K_images, classes)
    probs = np.stack(
        [
            metrics.softmax(classifier.predict(generate(classifier, fgsm, params, xs, ys, e)))
            for e in grid
        ]
    )
    rows = []
    for k, idx in enumerate(indices):
        c = int(clean[k].argmax())
        flipped = np.flatnonzero(probs[:, k].argmax(1) != c)
        g = int(flipped[0]) if len(flipped) else len(grid) - 1
        a = int(probs[g, k].argmax())
        rows.append(
            EvasionRow(
                model=model_name,
                index=int(idx),
                true_label=class_names[int(ys[k])],
                clean_pred=class_names[c],
                clean_conf=float(clean[k, c]),
                flip_eps=float(grid[g]) if len(flipped) else None,
                adv_pred=class_names[a],
                adv_conf=float(probs[g, k, a]),
            )
        )
    return rows
