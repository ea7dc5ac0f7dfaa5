"""The official CIFAR-10-C / CIFAR-100-C layout (Hendrycks & Dietterich; zenodo 2535967).

A folder holds ``<corruption>.npy``, uint8 (5 * n, 32, 32, 3): severities 1 to 5 in turn, n
images each (n = 10,000 for the published sets), and ``labels.npy`` with the matching labels
(5 * n, or n). Reading these files reproduces the published benchmark exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from harness.batching import chunks as slices
from harness.datasets.lazy import NpyRows, to_float
from harness.errors import HarnessError
from harness.userfiles import check_regular

N_SEVERITIES = 5


def chunks(
    root: str | Path, name: str, severity: int, n: int | None, size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The first ``n`` images (all: None) of ``name`` at ``severity`` (1-5), ``size`` at a time:
    x (k, 3, H, W) float32 in [0, 1] and y (k,) int64. Only the rows of one chunk are read
    (``os.pread``, not a memory map, whose pages would count as resident)."""
    images = _images(Path(root), name)
    per = images.shape[0] // N_SEVERITIES
    count = per if n is None else min(n, per)
    start = (severity - 1) * per
    labels = _labels(Path(root), per, start, count)
    for s in slices(count, size):
        hwc = images.read(np.arange(start + s.start, start + s.stop))
        yield np.ascontiguousarray(to_float(hwc).transpose(0, 3, 1, 2)), labels[s]


def _images(root: Path, name: str) -> NpyRows:
    """``<name>.npy``, its shape checked, nothing read yet."""
    images = NpyRows(_existing(root, f"{name}.npy"))
    if len(images.shape) != 4 or images.shape[-1] != 3 or images.shape[0] % N_SEVERITIES:
        raise HarnessError(
            f"corruptions.root: {name}.npy has shape {images.shape}; expected (5 * n, H, W, 3)"
        )
    return images


def _labels(root: Path, per: int, start: int, count: int) -> np.ndarray:
    labels = np.load(_existing(root, "labels.npy"), mmap_mode="r").astype(np.int64)
    if len(labels) == per:  # one label per image, the same for every severity
        start = 0
    elif len(labels) != N_SEVERITIES * per:
        raise HarnessError(
            f"corruptions.root: labels.npy has {len(labels)} labels; expected {per} or {5 * per}"
        )
    return labels[start : start + count]


def _existing(root: Path, name: str) -> Path:
    path = root / name
    check_regular(path, "a CIFAR-10-C .npy file", "corruptions.root")
    if not path.is_file():
        raise HarnessError(f"corruptions.root: {path} does not exist; expected a CIFAR-10-C folder")
    return path
