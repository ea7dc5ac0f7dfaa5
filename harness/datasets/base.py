"""The dataset contract shared by every loader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.datasets.lazy import ImageArray
from harness.registry import Registry
from harness.spec import DataSpec


@dataclass(frozen=True)
class Dataset:
    """Arrays ready for a model: ``x`` float32 (N, C, H, W) in [0, 1], ``y`` int64 (N,).

    ``x`` is a numpy array or a ``LazyImages`` (read when indexed): a test split larger than
    memory is worked through in chunks (``harness.sweep``), never converted whole."""

    name: str
    class_names: tuple[str, ...]
    x_train: ImageArray  # (N_train, C, H, W) float32 in [0, 1], an array or lazy
    y_train: np.ndarray  # (N_train,) int64
    x_test: ImageArray  # (N_test, C, H, W) float32 in [0, 1]: index it, never read it whole
    y_test: np.ndarray  # (N_test,) int64
    source: str = ""  # where the files came from (path or "sklearn")
    split_note: str = ""  # which split the run uses, when that is not the usual one (report)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_test.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# A loader reads the full splits; subsetting and validation happen in one shared place.
Loader = Callable[[DataSpec], Dataset]
DATASETS: Registry[Loader] = Registry("dataset")

# DataSpec fields that only some loaders read. A loader declares its own with ``@reads(...)``;
# one that does not declare is assumed to read them all.
OPTIONAL_FIELDS = ("root", "image_size", "crop_size", "channels", "download")


def reads(*fields: str) -> Callable[[Loader], Loader]:
    """Declare the optional ``DataSpec`` fields a loader uses (a spec giving another is refused,
    rather than silently ignored: ``image_size: 64`` on MNIST would still give 28x28 images)."""

    def declare(loader: Loader) -> Loader:
        loader.reads = frozenset(fields)  # type: ignore[attr-defined]
        return loader

    return declare


def ignored_fields(loader: Loader, spec: DataSpec) -> list[str]:
    """The optional fields ``spec`` sets that ``loader`` would ignore."""
    used = getattr(loader, "reads", OPTIONAL_FIELDS)
    return [f for f in OPTIONAL_FIELDS if getattr(spec, f) not in (None, False) and f not in used]


def skips_training(loader: Loader) -> Loader:
    """Declare that ``loader`` takes ``train=False``: then it reads only the test split (the
    training split empty, nothing decoded or cached) and may give a folder without an official
    split whole to the test split. A loader without it is read whole and its training split
    dropped afterwards."""
    loader.skips_training = True  # type: ignore[attr-defined]
    return loader


def conventional_eps(eps: float) -> Callable[[Loader], Loader]:
    """Declare the L-inf ε (pixel units) the literature reports robustness at on this dataset
    (RobustBench, Madry et al. 2018): the report's headline ε when the spec sweeps it."""

    def declare(loader: Loader) -> Loader:
        loader.conventional_eps = eps  # type: ignore[attr-defined]
        return loader

    return declare


def empty_like(x: ImageArray) -> np.ndarray:
    """A float32 (0, C, H, W) array with the images' shape: an unread training split."""
    return np.zeros((0, *x.shape[1:]), np.float32)
