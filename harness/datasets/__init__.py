"""Dataset loaders: ``load_dataset(spec, seed)`` -> ``Dataset`` with x float32 NCHW in [0, 1],
as an array or a ``LazyImages`` split read when indexed (``harness.datasets.lazy``).

Importing this package registers every loader module below in ``DATASETS``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.datasets import (  # noqa: F401 (importing a loader module registers it)
    cifake,
    cifar10,
    digits,
    imagefolder,
    torchvision_sets,
)
from harness.datasets.base import DATASETS, Dataset, empty_like
from harness.datasets.lazy import ImageArray, LazyImages, materialize, take
from harness.datasets.subset import (
    FIXED_SPLIT_SEED,
    stratified_indices,
    stratified_subset,
    train_val_split,
)
from harness.errors import HarnessError
from harness.spec import DataSpec

__all__ = [
    "DATASETS",
    "Dataset",
    "ImageArray",
    "LazyImages",
    "load_dataset",
    "materialize",
    "train_val_split",
]


def load_dataset(spec: DataSpec, seed: int, train: bool = True) -> Dataset:
    """Run the registered loader, check its output, then take the stratified subsets.

    ``spec.n_train`` / ``spec.n_test`` (None: all) are drawn with ``seed``; the same seed
    gives the same samples. Asking for more samples than a split has is an error, not a clamp.
    ``train`` False (the run trains nothing): the training split is empty, and not read by a
    loader that declares ``skips_training``; ``n_train`` does not apply, ``train_from_test``
    is refused.
    """
    if spec.train_from_test and not train:
        raise HarnessError(
            "dataset.train_from_test: this run trains nothing (a given model, no defence that "
            "trains), so every test image is evaluated; leave it out"
        )
    ds = _read(spec, train)
    _check(ds)
    if spec.train_from_test:
        ds = _train_from_test(ds, spec.train_from_test)
    if train:
        _check_count(
            spec.n_train, len(ds.y_train), "dataset.n_train", f"training split of {ds.name!r}"
        )
    _check_count(spec.n_test, len(ds.y_test), "dataset.n_test", f"test split of {ds.name!r}")
    x_tr, y_tr = stratified_subset(ds.x_train, ds.y_train, spec.n_train, seed)
    x_te, y_te = stratified_subset(ds.x_test, ds.y_test, spec.n_test, seed)
    return dataclasses.replace(ds, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)


def _read(spec: DataSpec, train: bool) -> Dataset:
    """The loader's splits; without ``train``, the training split empty (read or not)."""
    loader = DATASETS.get(spec.name, "dataset.name")
    if train:
        return loader(spec)
    if getattr(loader, "skips_training", False):
        ds, how = loader(spec, train=False), "not read"  # type: ignore[call-arg]
    else:
        ds, how = loader(spec), "read but not used"
    note = ds.split_note or f"the test split only: nothing is trained (training split {how})"
    return dataclasses.replace(
        ds, x_train=empty_like(ds.x_test), y_train=ds.y_test[:0], split_note=note
    )


def _train_from_test(ds: Dataset, n: int) -> Dataset:
    """Train on ``n`` stratified test samples, test on the rest (fixed split, whatever the run seed)."""
    if n >= len(ds.y_test):
        raise HarnessError(
            f"dataset.train_from_test: {n} leaves no test samples (the test split has {len(ds.y_test)})"
        )
    idx = stratified_indices(ds.y_test, n, FIXED_SPLIT_SEED)
    rest = np.setdiff1d(np.arange(len(ds.y_test)), idx)
    return dataclasses.replace(
        ds,
        x_train=take(ds.x_test, idx),
        y_train=ds.y_test[idx],
        x_test=take(ds.x_test, rest),
        y_test=ds.y_test[rest],
    )


def _check(ds: Dataset) -> None:
    """The loader contract; a custom loader breaking it gets a one-line error."""
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        where = f"dataset {ds.name!r} ({split} split)"
        if x.dtype != np.float32 or x.ndim != 4 or y.dtype != np.int64 or len(x) != len(y):
            raise HarnessError(
                f"{where}: expected x float32 (N, C, H, W) and y int64 (N,), "
                f"got x {x.dtype} {x.shape} and y {y.dtype} {y.shape}"
            )
        if len(x) and (_out_of_range(x) or y.min() < 0 or y.max() >= ds.num_classes):
            raise HarnessError(
                f"{where}: expected x in [0, 1] and labels in [0, {ds.num_classes - 1}]"
            )
    if len(ds.x_test) == 0:
        raise HarnessError(f"dataset {ds.name!r}: the test split is empty")
    if ds.num_classes < 2:
        raise HarnessError(
            f"dataset {ds.name!r} at {ds.source or '?'}: {ds.num_classes} class "
            f"{list(ds.class_names)}; expected at least 2 (one folder per class)"
        )


def _out_of_range(x: ImageArray) -> bool:
    """Pixels outside [0, 1]; a lazy split is in range by construction (integers / their max)."""
    return not isinstance(x, LazyImages) and bool(x.min() < 0 or x.max() > 1)


def _check_count(n: int | None, available: int, field: str, split: str) -> None:
    """``n`` samples (None: all) must exist in the split; a silent clamp would misreport the run."""
    if n is not None and n > available:
        raise HarnessError(
            f"{field}: {n} samples asked for, but the {split} has {available}; "
            f"expected at most {available} (or leave {field.split('.')[1]} out for all)"
        )
