"""A run's data: the spec's dataset loaded, checked against the spec, split, and summarised."""

from __future__ import annotations

import numpy as np

from harness.datasets import Dataset, load_dataset, materialize, train_val_split
from harness.results import DataSummary
from harness.spec import Spec
from harness.training import TrainData
from harness.validation import check_data, trains


def prepare(
    spec: Spec, user_model: bool = False, train: bool | None = None
) -> tuple[Dataset, TrainData]:
    """The spec's dataset, checked, and its training data split into train / validation.
    A run that trains nothing (``harness.validation.trains``) reads no training split;
    ``train`` True reads it whatever the spec trains (a grid's cells share one split)."""
    train = trains(spec, user_model) if train is None else train
    data = load_dataset(spec.dataset, spec.seed, train=train)
    check_data(spec, data, user_model)
    return data, split(spec, data)


def split(spec: Spec, data: Dataset) -> TrainData:
    """The training data split by ``dataset.val_fraction`` (empty when there is none), read
    into memory as float32: training splits are taken to fit (the test split never is)."""
    if len(data.x_train) == 0:
        empty = data.x_train[:0]
        return TrainData(empty, data.y_train[:0], empty, data.y_train[:0])
    x_tr, y_tr, x_val, y_val = train_val_split(
        data.x_train, data.y_train, spec.dataset.val_fraction, spec.seed
    )
    return TrainData(materialize(x_tr), y_tr, materialize(x_val), y_val)


def summary(data: Dataset, split: TrainData) -> DataSummary:
    """What ``RunResult.data`` records: name, source, classes, input shape, split sizes, and
    (``split``) which split was used when it is not the usual one (nothing is trained)."""
    return DataSummary(
        name=data.name,
        source=data.source,
        class_names=list(data.class_names),
        input_shape=list(data.input_shape),
        n_train=len(split.x_train),
        n_val=len(split.x_val),
        n_test=len(data.x_test),
        test_class_counts=np.bincount(data.y_test, minlength=data.num_classes).tolist(),
        extra={"split": data.split_note} if data.split_note else {},
    )
