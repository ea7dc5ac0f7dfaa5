"""Two classes a one-epoch CNN separates: dark and bright 8x8 images (no files, no download)."""

from __future__ import annotations

import numpy as np

from harness.datasets.base import DATASETS, Dataset, reads
from harness.spec import DataSpec

NAME = "toy_dark_bright"
SIDE = 8  # pixels a side, one channel


@DATASETS.register(NAME)
@reads()  # generated: no files, one size
def load_dark_bright(spec: DataSpec) -> Dataset:
    """x (N, 1, 8, 8) in [0, 1]: class 0 pixels ~ U(0, 0.4), class 1 pixels ~ U(0.6, 1)."""
    rng = np.random.default_rng(0)  # the data itself is fixed; the run's seed picks subsets

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n, dtype=np.int64) % 2
        x = rng.uniform(0.0, 0.4, size=(n, 1, SIDE, SIDE)) + 0.6 * y[:, None, None, None]
        return x.astype(np.float32), y

    x_tr, y_tr = split(400)
    x_te, y_te = split(100)
    return Dataset(spec.name, ("dark", "bright"), x_tr, y_tr, x_te, y_te, source="generated")
