"""One call that seeds every random number generator a run draws from."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Python's, numpy's global and torch's generators, all from ``seed``."""
    random.seed(seed)
    np.random.seed(seed)  # ART's trainers shuffle with numpy's global generator
    torch.manual_seed(seed)
