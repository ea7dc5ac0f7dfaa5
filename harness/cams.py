"""Heatmaps as arrays: comparing two CAMs and drawing one over its image (numpy only).

The report, the comparison and the app draw CAMs a run stored; computing them needs the model
(``harness.explain``), showing them does not.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps


def cam_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-sample cosine similarity of flattened heatmaps ``a``, ``b`` (K, H, W) -> (K,) float64.

    Exactly 1 for identical maps (two all-zero maps included); one all-zero map gives 0.
    """
    if a.shape != b.shape:
        raise ValueError(f"cam_similarity: shapes differ: {a.shape} vs {b.shape}")
    fa = a.reshape(len(a), -1).astype(np.float64)
    fb = b.reshape(len(b), -1).astype(np.float64)
    na, nb = np.linalg.norm(fa, axis=1), np.linalg.norm(fb, axis=1)
    dot = np.sum(fa * fb, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(na * nb > 0, dot / (na * nb), np.where((na == 0) & (nb == 0), 1.0, 0.0))
    # identical maps: exactly 1, not 1 - 1 ulp from dot / (|a| |b|) rounding
    return np.where(np.all(fa == fb, axis=1), 1.0, np.clip(sim, -1.0, 1.0))


CAM_CMAP = "jet"  # the heatmap's colour map (the figures' colour bars name it)


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """Blend a jet-coloured heatmap over an image: (1 - alpha) * image + alpha * heatmap.

    image: (C, H, W) in [0, 1], C = 1 or 3; cam: (H, W) in [0, 1].
    Returns (H, W, 3) float32 RGB in [0, 1]. alpha=0.4 is the CIFAKE study's 60/40 blend.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"overlay: expected image (C, H, W) with C = 1 or 3, got {image.shape}")
    if cam.shape != image.shape[1:]:
        raise ValueError(f"overlay: cam shape {cam.shape} does not match image {image.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"overlay: expected alpha in [0, 1], got {alpha}")
    rgb = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
    rgb = np.clip(np.moveaxis(rgb, 0, -1), 0.0, 1.0)  # (H, W, 3)
    heat = colormaps[CAM_CMAP](np.clip(cam, 0.0, 1.0))[..., :3]  # (H, W, 3), alpha channel dropped
    return ((1.0 - alpha) * rgb + alpha * heat).astype(np.float32)
