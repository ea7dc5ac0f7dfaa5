"""CIFAKE (Bird & Lotfi 2024): real CIFAR-10 photos vs Stable Diffusion 1.4 images, 32x32 JPEG.

Kaggle layout ``ROOT/{train,test}/{REAL,FAKE}/*.jpg``; decoded arrays are cached.
"""

from __future__ import annotations

from harness.datasets.base import (
    DATASETS,
    Dataset,
    conventional_eps,
    empty_like,
    reads,
    skips_training,
)
from harness.datasets.folders import ImageFormat, read_split
from harness.datasets.paths import dataset_root
from harness.spec import DataSpec

CLASSES = ("FAKE", "REAL")  # label = index: FAKE=0, REAL=1
LAYOUT = "the CIFAKE layout ROOT/{train,test}/{REAL,FAKE}/*.jpg"
FORMAT = ImageFormat(mode="RGB", size=32)


@DATASETS.register("cifake")
@conventional_eps(8 / 255)
@reads("root")
@skips_training
def load_cifake(spec: DataSpec, train: bool = True) -> Dataset:
    """CIFAKE (Bird & Lotfi 2024): CIFAR-10 photos vs Stable Diffusion fakes, x (N, 3, 32, 32).

    ``train`` False: ``ROOT/train`` is not read (nor needed)."""
    root = dataset_root(spec, LAYOUT)
    x_te, y_te = read_split(root / "test", CLASSES, FORMAT, LAYOUT)
    x_tr, y_tr = empty_like(x_te), y_te[:0]
    if train:
        x_tr, y_tr = read_split(root / "train", CLASSES, FORMAT, LAYOUT)
    return Dataset(spec.name, CLASSES, x_tr, y_tr, x_te, y_te, source=str(root))
