"""Test images of a run's dataset for the Samples grid and as attack inputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.app.runs import AppRun
from harness.datasets import load_dataset
from harness.spec import DataSpec

PER_CLASS = 6  # images per class in the grid


@dataclass(frozen=True)
class Samples:
    x: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray  # (N,) int64 true labels
    indices: list[int]  # positions in the run's test subset (as the report's indices)


def data_spec(run: AppRun) -> DataSpec:
    """The run's dataset spec, its root replaced by the folder the run actually read when that
    still exists (a relative root was relative to wherever ``harness run`` was started)."""
    source = run.result.data.source
    if source and Path(source).is_dir():
        return dataclasses.replace(run.spec.dataset, root=str(source))
    return run.spec.dataset


def sample_images(run: AppRun, per_class: int = PER_CLASS) -> Samples:
    """The first ``per_class`` test images of each class, from the run's own test subset."""
    # a run that trained nothing recorded its split (``data.split``): a flat folder was then all
    # test split, so it is read the same way here, or the indices would name other images
    trained = "split" not in run.result.data.extra
    data = load_dataset(data_spec(run), run.spec.seed, train=trained)
    idx = [
        int(i)
        for c in range(len(run.class_names))
        for i in np.flatnonzero(data.y_test == c)[:per_class]
    ]
    return Samples(data.x_test[idx], data.y_test[idx], idx)
