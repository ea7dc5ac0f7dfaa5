"""A perturbation as a picture a person can see (numpy only): the report's example grids and the
app's attack tab show the same magnified tile."""

from __future__ import annotations

import numpy as np


def magnified(delta: np.ndarray) -> tuple[np.ndarray, float]:
    """A perturbation (any shape) for display: 0.5 + k * delta in [0, 1], k = 0.5 / max |delta|,
    so that its largest change reaches black or white and grey means unchanged.

    Returns (the image, k); k = 0 when nothing changed (a flat grey image).
    """
    peak = float(np.abs(delta).max(initial=0.0))
    k = 0.5 / peak if peak > 0 else 0.0
    return np.clip(0.5 + k * delta, 0.0, 1.0), k
