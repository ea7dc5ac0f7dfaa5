"""The dataset contract shared by every loader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.registry import Registry
from harness.spec import DataSpec


@dataclass(frozen=True)
class Dataset:
    """Arrays ready for a model: ``x`` float32 (N, C, H, W) in [0, 1], ``y`` int64 (N,)."""

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray  # (N_train, C, H, W) float32 in [0, 1]
    y_train: np.ndarray  # (N_train,) int64
    x_test: np.ndarray  # (N_test, C, H, W) float32 in [0, 1]
    y_test: np.ndarray  # (N_test,) int64
    source: str = ""  # where the files came from (path or "sklearn")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_test.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# A loader reads the full splits; subsetting and validation happen in one shared place.
Loader = Callable[[DataSpec], Dataset]
DATASETS: Registry[Loader] = Registry("dataset")
