"""Gaussian data augmentation (Zantedeschi et al. 2017): train on clean and noisy copies."""

from __future__ import annotations

import dataclasses

import numpy as np
from torch import nn

from harness.defences.base import HardenJob, defence
from harness.params import numbers
from harness.results import EpochStats
from harness.training import train_standard

NAME = "toy_gaussian_augment"


@defence(NAME, defaults={"sigma": 0.1}, check=numbers(sigma=0.0))
def gaussian_augment(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """Gaussian data augmentation: each training image once clean, once with N(0, sigma^2) noise.

    ``sigma``: standard deviation of the noise, pixel units ([0, 1] images), clipped to [0, 1].
    """
    x, y = job.data.x_train, job.data.y_train
    rng = np.random.default_rng(job.seed)
    noisy = np.clip(x + rng.normal(0.0, job.params["sigma"], size=x.shape), 0.0, 1.0)
    both = dataclasses.replace(
        job.data, x_train=np.concatenate([x, noisy.astype(np.float32)]), y_train=np.tile(y, 2)
    )
    return train_standard(model, both, job.train, job.seed, job.snapshot, "gaussian augment")
