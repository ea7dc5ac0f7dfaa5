"""The official CIFAR-10-C / CIFAR-100-C layout (Hendrycks & Dietterich; zenodo 2535967).

A folder holds ``<corruption>.npy``, uint8 (5 * n, 32, 32, 3): severities 1 to 5 in turn, n
images each (n = 10,000 for the published sets), and ``labels.npy`` with the matching labels
(5 * n, or n). Reading these files reproduces the published benchmark exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import HarnessError

N_SEVERITIES = 5


def load(
    root: str | Path, name: str, severity: int, n: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images (all: None) of ``name`` at ``severity`` (1-5): x (N, 3, H, W)
    float32 in [0, 1] and y (N,) int64."""
    images = _array(Path(root), f"{name}.npy")
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) % N_SEVERITIES:
        raise HarnessError(
            f"corruptions.root: {name}.npy has shape {images.shape}; expected (5 * n, H, W, 3)"
        )
    per = len(images) // N_SEVERITIES
    count = per if n is None else min(n, per)
    start = (severity - 1) * per
    x = np.asarray(images[start : start + count], dtype=np.float32).transpose(0, 3, 1, 2) / 255
    return np.ascontiguousarray(x), _labels(Path(root), per, start, count)


def _labels(root: Path, per: int, start: int, count: int) -> np.ndarray:
    labels = _array(root, "labels.npy").astype(np.int64)
    if len(labels) == per:  # one label per image, the same for every severity
        start = 0
    elif len(labels) != N_SEVERITIES * per:
        raise HarnessError(
            f"corruptions.root: labels.npy has {len(labels)} labels; expected {per} or {5 * per}"
        )
    return labels[start : start + count]


def _array(root: Path, name: str) -> np.ndarray:
    path = root / name
    if not path.is_file():
        raise HarnessError(f"corruptions.root: {path} does not exist; expected a CIFAR-10-C folder")
    return np.load(path, mmap_mode="r")
