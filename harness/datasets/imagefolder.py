"""Any folder of images, one sub-folder per class: ``ROOT/<class>/*``.

``ROOT/{train,test}/<class>/*`` gives the split, and ``ROOT/test/<class>/*`` alone is a
test-only copy (an empty training split: a run that trains nothing evaluates it). A flat
``ROOT/<class>/*`` gets a fixed stratified 80/20 split (seed 0) when the run trains; when it
trains nothing (``train=False``), every image is the test split. Every image is converted to
RGB or grayscale (16-bit, palette, alpha and CMYK as ``harness.datasets.folders`` documents)
and resized to ``image_size`` (bilinear), so a folder may mix sizes and modes. With
``crop_size``, ImageNet's evaluation preprocessing instead: the shorter side resized to
``image_size`` (aspect kept), then the centre ``crop_size`` square.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.datasets.base import DATASETS, Dataset, empty_like, reads, skips_training
from harness.datasets.folders import ImageFormat, class_folders, read_split
from harness.datasets.paths import dataset_root
from harness.datasets.subset import fixed_test_split
from harness.spec import DataSpec

DEFAULT_SIZE = 32  # pixels, when spec.image_size is None
LAYOUT = (
    "class folders ROOT/<class>/*.{png,jpg,jpeg,bmp,webp}, ROOT/{train,test}/<class>/* "
    "or ROOT/test/<class>/*"
)
SPLITS = {"train", "test"}


def _format(spec: DataSpec) -> ImageFormat:
    mode = "L" if spec.channels == 1 else "RGB"  # channels None -> RGB
    size = spec.image_size or DEFAULT_SIZE
    return ImageFormat(mode=mode, size=size, resize=True, crop=spec.crop_size)


def _split_layout(root: Path) -> bool:
    """ROOT holds ``train/`` and ``test/``, or ``test/`` alone (beside other folders, ``test``
    is a class of a flat folder)."""
    names = {p.name for p in root.iterdir() if p.is_dir() and p.name[0] != "."}
    return names >= SPLITS or names == {"test"}


@DATASETS.register("imagefolder")
@reads("root", "image_size", "crop_size", "channels")
@skips_training
def load_imagefolder(spec: DataSpec, train: bool = True) -> Dataset:
    """x (N, channels, S, S), S = crop_size or image_size; class names = sorted folder names.
    ``train`` False: the training split is not read (a flat folder is all test split)."""
    root, fmt = dataset_root(spec, LAYOUT), _format(spec)
    if _split_layout(root):
        return _from_splits(spec.name, root, fmt, train)
    classes = tuple(class_folders(root, LAYOUT))
    x, y = read_split(root, classes, fmt, LAYOUT)
    if not train:
        note = f"all {len(y):,} images of the folder are the test split: nothing is trained"
        return Dataset(spec.name, classes, empty_like(x), y[:0], x, y, str(root), note)
    return Dataset(spec.name, classes, *fixed_test_split(x, y), source=str(root))


def _from_splits(name: str, root: Path, fmt: ImageFormat, train: bool) -> Dataset:
    """ROOT/{train,test}/<class>/*; the training split only if asked for and present."""
    has_train = (root / "train").is_dir()
    classes = tuple(class_folders(root / ("train" if has_train else "test"), LAYOUT))
    x_te, y_te = read_split(root / "test", classes, fmt, LAYOUT)
    if train and has_train:
        x_tr, y_tr = read_split(root / "train", classes, fmt, LAYOUT)
    else:
        x_tr, y_tr = empty_like(x_te), np.zeros(0, np.int64)
    return Dataset(name, classes, x_tr, y_tr, x_te, y_te, source=str(root))
