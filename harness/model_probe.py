"""Probing a live model once for the sanity checks (``harness.sanity`` grades what it finds).

On a few hundred samples: input gradients that are all zero or not finite, probabilities
instead of logits out, non-deterministic outputs, clean accuracy, and the accuracy left by an
*unbounded* PGD (eps = 1 covers the whole [0, 1] pixel range; Carlini et al. 2019, §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from harness.attacks import ATTACKS, generate
from harness.estimator import predict_logits
from harness.results.checks import ModelProbe
from harness.spec import AttackSpec

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

UNBOUNDED_ATTACK = "pgd"  # the probe's own instrument (L-inf PGD), not a choice among attacks
UNBOUNDED_EPS = 1.0  # L-inf radius covering the whole [0, 1] pixel range
# No random start: in an eps = 1 ball it is a uniform-noise image, which reaches chance even when
# the gradients are fully masked; from x itself only the gradient can move the input.
UNBOUNDED_PGD = {"steps": 20, "step_size": 0.1, "random_start": False, "restarts": 0}
PROBABILITY_TOL = 1e-4  # rows summing to 1 within this (and non-negative) are probabilities
GRADIENT_BATCH = 128


def probe_model(
    model: nn.Module,
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    n: int = 256,
    seed: int = 0,
    randomized: bool = False,
) -> ModelProbe:
    """Probe ``model`` (and its ART ``classifier``) on up to ``n`` samples of x (N, C, H, W) in
    [0, 1] with labels y (N,), drawn without replacement by a generator seeded with ``seed``.
    x is not modified. ``randomized``: the model is random by design (graded WARN, not FAIL, if
    its outputs vary)."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    xs, ys = x[pick].astype(np.float32), y[pick].astype(np.int64)  # fancy indexing: a copy
    grads = _input_gradients(classifier, xs, ys)  # (n, C, H, W)
    flat = grads.reshape(len(xs), -1)
    first, second = predict_logits(model, xs), predict_logits(model, xs)  # (n, K) raw outputs
    return ModelProbe(
        n=len(xs),
        zero_grad_share=_share(np.all(flat == 0, axis=1)),
        nonfinite_grad_share=_share(~np.all(np.isfinite(flat), axis=1)),
        outputs_probabilities=_are_probabilities(first),
        min_output=float(first.min()) if first.size else 0.0,
        max_row_sum_error=float(np.abs(first.sum(1) - 1).max()) if first.size else 0.0,
        deterministic=bool(np.array_equal(first, second, equal_nan=True)),
        max_output_diff=float(np.nan_to_num(np.abs(first - second)).max()) if first.size else 0.0,
        unbounded_eps=UNBOUNDED_EPS,
        unbounded_steps=int(UNBOUNDED_PGD["steps"]),
        unbounded_accuracy=_unbounded_accuracy(classifier, xs, ys),
        num_classes=int(classifier.nb_classes),
        randomized=randomized,
        clean_accuracy=_share(first.argmax(1) == ys) if first.size else None,
        majority_share=float(np.bincount(ys).max() / len(ys)) if len(ys) else None,
    )


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _input_gradients(classifier: PyTorchClassifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the cross-entropy on the true labels w.r.t. x, in batches (eval mode)."""
    onehot = np.eye(classifier.nb_classes, dtype=np.float32)[y]
    parts = [
        classifier.loss_gradient(x[i : i + GRADIENT_BATCH], onehot[i : i + GRADIENT_BATCH])
        for i in range(0, len(x), GRADIENT_BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros_like(x)


def _are_probabilities(out: np.ndarray) -> bool:
    rows_sum_to_one = np.abs(out.sum(axis=1) - 1) <= PROBABILITY_TOL
    return bool(out.size and (out >= 0).all() and rows_sum_to_one.all())


def _unbounded_accuracy(classifier: PyTorchClassifier, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy under L-inf PGD with eps = 1 (``UNBOUNDED_PGD``), through ``generate``."""
    pgd = ATTACKS.get(UNBOUNDED_ATTACK)
    params = pgd.resolve(AttackSpec(pgd.name, dict(UNBOUNDED_PGD)), "sanity")
    x_adv = generate(classifier, pgd, params, x, y, UNBOUNDED_EPS)
    pred = classifier.predict(x_adv).argmax(1) if len(x) else np.zeros(0, np.int64)
    return float(np.mean(pred == y)) if len(y) else 0.0
