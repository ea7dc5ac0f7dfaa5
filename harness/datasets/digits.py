"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download)."""

from __future__ import annotations

import numpy as np

from harness.datasets.base import DATASETS, Dataset, reads
from harness.datasets.lazy import in_memory
from harness.datasets.subset import fixed_test_split
from harness.spec import DataSpec

CLASSES = tuple(str(i) for i in range(10))
MAX_VALUE = 16.0  # pixel values are counts 0..16 (UCI optdigits: 4x4 blocks of a 32x32 bitmap)


@DATASETS.register("digits")
@reads()  # bundled with scikit-learn: no files, one size
def load_digits(spec: DataSpec) -> Dataset:
    """x (N, 1, 8, 8); no official split, so a fixed stratified 80/20 split (seed 0)."""
    from sklearn import datasets as sk_datasets  # on use: registering the loader needs no sklearn

    raw = sk_datasets.load_digits()
    # (1797, 1, 8, 8) counts, read as counts / 16 in [0, 1]: exact in float32, so the same bits
    # as (images / 16).astype(float32)
    x = in_memory(raw.images.astype(np.uint8)[:, None], scale=MAX_VALUE)
    y = raw.target.astype(np.int64)
    x_tr, y_tr, x_te, y_te = fixed_test_split(x, y)
    return Dataset(
        spec.name, CLASSES, x_tr, y_tr, x_te, y_te, source="sklearn.datasets.load_digits"
    )
