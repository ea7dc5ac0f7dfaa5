"""Stratified, seed-reproducible subsets and splits. Inputs are never modified; a lazy split
(``harness.datasets.lazy``) gives lazy subsets, nothing read.

Per-class counts follow the class proportions (largest-remainder rounding, like sklearn's
``_approximate_mode`` but with deterministic ties), so tiny classes never raise an error;
the samples within each class are drawn with ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np

from harness.datasets.lazy import ImageArray, take

FIXED_TEST_FRACTION = 0.2  # datasets without an official split: 80/20 train/test ...
FIXED_SPLIT_SEED = 0  # ... drawn with this seed, whatever the run seed


def _allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Per-class counts summing to ``n`` (<= counts.sum()), proportional to ``counts``."""
    quota = counts * (n / counts.sum())
    take = np.floor(quota).astype(np.int64)
    # The fractional parts sum to the remainder and each is < 1, so only classes with a
    # positive fraction receive the extra sample and take never exceeds counts.
    order = np.argsort(take - quota, kind="stable")
    take[order[: n - take.sum()]] += 1
    return take


def _draw(y: np.ndarray, per_class: np.ndarray, classes: np.ndarray, seed: int) -> np.ndarray:
    """Sorted indices: ``per_class[i]`` random samples of ``classes[i]``."""
    rng = np.random.default_rng(seed)
    picks = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, per_class, strict=True)
    ]
    return np.sort(np.concatenate([np.empty(0, np.int64), *picks]))


def stratified_indices(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a stratified random subset of ``n`` samples (all if None or >= N)."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    return _draw(y, _allocate(counts, n), classes, seed)


def stratified_subset(
    x: ImageArray, y: np.ndarray, n: int | None, seed: int
) -> tuple[ImageArray, np.ndarray]:
    """(x, y) restricted to a stratified subset of ``n``; the inputs themselves when n covers all."""
    if n is None or n >= len(y):
        return x, y
    idx = stratified_indices(y, n, seed)
    return take(x, idx), y[idx]


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted index arrays (keep, held): about ``fraction`` of each class is held out.

    A class never loses its last kept sample, so tiny classes stay on the kept side.
    """
    if len(y) == 0 or fraction <= 0:
        return np.arange(len(y)), np.empty(0, np.int64)
    classes, counts = np.unique(y, return_counts=True)
    per_class = np.minimum(_allocate(counts, round(fraction * len(y))), counts - 1)
    held = _draw(y, per_class, classes, seed)
    return np.setdiff1d(np.arange(len(y)), held), held


def train_val_split(
    x: ImageArray, y: np.ndarray, fraction: float, seed: int
) -> tuple[ImageArray, np.ndarray, ImageArray, np.ndarray]:
    """Stratified (x_tr, y_tr, x_val, y_val); ``fraction`` 0 gives an empty validation set."""
    keep, held = stratified_split(y, fraction, seed)
    return take(x, keep), y[keep], take(x, held), y[held]


def fixed_test_split(
    x: ImageArray, y: np.ndarray
) -> tuple[ImageArray, np.ndarray, ImageArray, np.ndarray]:
    """The fixed stratified 80/20 (x_train, y_train, x_test, y_test) split (internal seed 0)."""
    return train_val_split(x, y, FIXED_TEST_FRACTION, FIXED_SPLIT_SEED)
