"""CIFAR-10 (Krizhevsky 2009): 32x32 RGB, 10 classes.

Reads torchvision's ``ROOT/cifar-10-batches-py`` if present (or downloads it when
``dataset.download`` is true); otherwise PNG class folders ``ROOT/{train,test}/<class>/``,
e.g. the darknet export, whose train split may be absent (then the train arrays are empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.datasets.base import (
    DATASETS,
    Dataset,
    conventional_eps,
    empty_like,
    reads,
    skips_training,
)
from harness.datasets.folders import ImageFormat, read_split
from harness.datasets.lazy import LazyImages, in_memory
from harness.datasets.paths import require_dir, root_path
from harness.datasets.torchvision_sets import torchvision_dataset
from harness.spec import DataSpec

# The official label order (batches.meta, torchvision's CIFAR10.classes).
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
BATCHES = "cifar-10-batches-py"
LAYOUT = f"torchvision's ROOT/{BATCHES} or class folders ROOT/{{train,test}}/<class>/*.png"
FORMAT = ImageFormat(mode="RGB", size=32)


def _from_torchvision(name: str, root: Path, download: bool, train: bool) -> Dataset:
    test = torchvision_dataset("CIFAR10", root, False, download)
    x_te, y_te = _chw(test.data), np.asarray(test.targets, dtype=np.int64)
    x_tr, y_tr = empty_like(x_te), y_te[:0]
    if train:
        tr = torchvision_dataset("CIFAR10", root, True, download)
        x_tr, y_tr = _chw(tr.data), np.asarray(tr.targets, dtype=np.int64)
    return Dataset(name, tuple(test.classes), x_tr, y_tr, x_te, y_te, source=str(root))


def _chw(images: np.ndarray) -> LazyImages:
    """(N, 32, 32, 3) uint8 -> lazy float32 (N, 3, 32, 32), uint8 in memory (a quarter of float32)."""
    return in_memory(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _from_folders(name: str, root: Path, train: bool) -> Dataset:
    x_te, y_te = read_split(root / "test", CLASSES, FORMAT, LAYOUT)
    if train and (root / "train").exists():
        x_tr, y_tr = read_split(root / "train", CLASSES, FORMAT, LAYOUT)
    else:  # a test-only copy, or nothing trains: evaluation works, training needs weights
        x_tr, y_tr = empty_like(x_te), np.zeros(0, np.int64)
    return Dataset(name, CLASSES, x_tr, y_tr, x_te, y_te, source=str(root))


@DATASETS.register("cifar10")
@conventional_eps(8 / 255)
@reads("root", "download")
@skips_training
def load_cifar10(spec: DataSpec, train: bool = True) -> Dataset:
    """CIFAR-10 (Krizhevsky 2009): 10 classes of photos, x (N, 3, 32, 32).

    From torchvision's batches or PNG class folders; ``train`` False: the training split is
    not read."""
    root = root_path(spec)
    if (root / BATCHES).is_dir() or (spec.download and not (root / "test").is_dir()):
        return _from_torchvision(spec.name, root, spec.download, train)
    return _from_folders(spec.name, require_dir(root, LAYOUT), train)
