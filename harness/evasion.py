"""Single-image evasion (after the CIFAKE study): the smallest FGSM epsilon in a fine grid that flips a prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness import metrics
from harness.attacks import ATTACKS
from harness.results import EvasionRow
from harness.spec import AttackSpec, EvasionSpec

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


def eps_grid(spec: EvasionSpec) -> np.ndarray:
    """eps_step, 2*eps_step, ... up to eps_max inclusive (pixel units)."""
    return np.round(spec.eps_step * np.arange(1, spec.steps + 1), 10)


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
    xs, ys = x[list(indices)], y[list(indices)]
    clean = metrics.softmax(classifier.predict(xs))
    probs = _fgsm_probs(classifier, xs, ys, grid)  # (G, K_images, classes)
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


def _fgsm_probs(
    classifier: PyTorchClassifier, x: np.ndarray, y: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """Softmax (G, K, classes) of FGSM at each grid eps. FGSM's step direction does not depend
    on eps (the sweep's ``one_step``), so it is taken once and every eps's images are scored in
    one ``predict``: the numbers of running FGSM once per eps, at one gradient's cost."""
    fgsm = ATTACKS.get("fgsm")
    params = fgsm.resolve(AttackSpec("fgsm"))
    _, direction = fgsm.step(classifier, params, x, y)  # logits (K, classes), (K, C, H, W)
    adv = np.concatenate([np.clip(x + np.float32(e) * direction, 0.0, 1.0) for e in grid])
    return metrics.softmax(classifier.predict(adv)).reshape(len(grid), len(x), -1)
