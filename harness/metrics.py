"""Pure metric functions over predictions and perturbations. All values are fractions.

- clean accuracy: correct clean predictions / all test samples.
- robust accuracy: samples still correct under attack / all test samples (a sample that is
  misclassified clean counts as broken).
- attack success rate: clean-correct samples the attack made wrong / clean-correct samples.
"""

from __future__ import annotations

import numpy as np


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``pred == y`` (0.0 for no samples)."""
    return float(np.mean(pred == y)) if len(y) else 0.0


def robust_accuracy(robust_correct: np.ndarray, n_total: int) -> float:
    """Samples correct under attack over all ``n_total`` samples (attacked or not)."""
    return float(np.sum(robust_correct)) / n_total if n_total else 0.0


def attack_success_rate(robust_correct: np.ndarray) -> float:
    """Among the attacked (clean-correct) samples, the fraction the attack broke."""
    return float(1.0 - np.mean(robust_correct)) if len(robust_correct) else 0.0


def perturbation_norms(x: np.ndarray, x_adv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample L-inf and L2 norms of ``x_adv - x`` (pixel units), each shape (N,)."""
    per_sample = int(np.prod(x.shape[1:]))  # explicit: reshape(0, -1) is ambiguous and raises
    delta = (x_adv.astype(np.float64) - x.astype(np.float64)).reshape(len(x), per_sample)
    return np.abs(delta).max(axis=1, initial=0.0), np.linalg.norm(delta, axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, numerically stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
