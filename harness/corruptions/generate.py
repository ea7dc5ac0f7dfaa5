"""Corrupted copies of test images: seeded per (corruption, severity, image).

Image ``i`` under corruption ``c`` at severity ``s`` is drawn from numpy's generator seeded
with a hash of (run seed, c, s, i), so one image's corruption does not depend on which other
images, corruptions or severities are generated, nor in what order (a set can be corrupted a
chunk at a time and give the same pixels). The global numpy state is restored afterwards: the
analyses that run after this one draw what they drew without it. ``harness.corruptions.store``
keeps the generated sets on disk.

``parameters`` (``harness.corruptions.scales``) picks whose severity parameters: the
small-image scripts' (``harness.corruptions.script``) or ImageNet-C's (``imagecorruptions``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from harness.corruptions import backend
from harness.corruptions.scales import AUTO, Scale, resolve
from harness.datasets.lazy import to_float


def image_seed(seed: int, name: str, severity: int, index: int) -> int:
    """The numpy seed of one image's corruption (32 bits, as ``np.random.seed`` takes)."""
    digest = hashlib.sha256(f"{seed}/{name}/{severity}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def corrupt(
    x: np.ndarray,
    name: str,
    severity: int,
    seed: int,
    indices: Sequence[int] | None = None,
    parameters: str = AUTO,
) -> np.ndarray:
    """``x`` (N, C, H, W) float in [0, 1], C = 1 or 3, corrupted: same shape, float32 in [0, 1].

    ``indices``: the test-set index of each image (default 0..N-1), which seeds its corruption,
    so a few picked images get exactly what the evaluation of the whole set gave them.
    Severity 0 is the identity (a copy). Grey images are corrupted as RGB with the channel
    replicated, and the first channel taken back. ``parameters``: a scale's name or ``auto``
    (by the images' side).
    """
    if severity == 0:
        return np.array(x, dtype=np.float32)
    scale = resolve(parameters, np.shape(x)[1:])
    return to_float(pixels(x, name, severity, seed, indices, scale))


def pixels(
    x: np.ndarray,
    name: str,
    severity: int,
    seed: int,
    indices: Sequence[int] | None,
    scale: Scale,
) -> np.ndarray:
    """``corrupt`` (severity 1-5) before scaling: uint8 (N, C, H, W) 0..255, the exact pixels
    the corruption gave, so a stored copy reads back as the same float32 bits."""
    indices = range(len(x)) if indices is None else indices
    state = np.random.get_state()
    try:
        out = [
            _one(img, name, severity, image_seed(seed, name, severity, i), scale)
            for i, img in zip(indices, x, strict=True)
        ]
    finally:
        np.random.set_state(state)
    return np.stack(out) if out else np.zeros((0, *np.shape(x)[1:]), np.uint8)


def _one(img: np.ndarray, name: str, severity: int, seed: int, scale: Scale) -> np.ndarray:
    """One (C, H, W) image through the corruption, uint8 HxWx3 as the corruptions take it."""
    rgb = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img
    hwc = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    np.random.seed(seed)
    chw = _apply(np.ascontiguousarray(hwc), name, severity, scale).transpose(2, 0, 1)
    return chw[:1] if img.shape[0] == 1 else chw


def _apply(hwc: np.ndarray, name: str, severity: int, scale: Scale) -> np.ndarray:
    """The scripts' own functions where the scale declares their table, else imagecorruptions."""
    if scale.table is None:
        return backend.apply(hwc, name, severity)
    from harness.corruptions import script  # OpenCV and scikit-image: the optional extra's

    return script.apply(hwc, name, severity, scale.table)
