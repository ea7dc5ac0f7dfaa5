"""Corrupted copies of a test set: seeded per (corruption, severity, image), and cached.

Image ``i`` under corruption ``c`` at severity ``s`` is drawn from numpy's generator seeded
with a hash of (run seed, c, s, i), so one image's corruption does not depend on which other
images, corruptions or severities are generated, nor in what order. The global numpy state is
restored afterwards: the analyses that run after this one draw what they drew without it.
The result is cached under ``<cache>/corruptions`` by content (the images' bytes, c, s, seed,
imagecorruptions' version), like the datasets' decoded arrays.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.corruptions import backend
from harness.datasets.paths import cache_dir
from harness.io import atomic_path

logger = logging.getLogger(__name__)


def image_seed(seed: int, name: str, severity: int, index: int) -> int:
    """The numpy seed of one image's corruption (32 bits, as ``np.random.seed`` takes)."""
    digest = hashlib.sha256(f"{seed}/{name}/{severity}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def corrupt(
    x: np.ndarray, name: str, severity: int, seed: int, indices: Sequence[int] | None = None
) -> np.ndarray:
    """``x`` (N, C, H, W) float in [0, 1], C = 1 or 3, corrupted: same shape, float32 in [0, 1].

    ``indices``: the test-set index of each image (default 0..N-1), which seeds its corruption,
    so a few picked images get exactly what the evaluation of the whole set gave them.
    Severity 0 is the identity (a copy). Grey images are corrupted as RGB with the channel
    replicated, and the first channel taken back.
    """
    if severity == 0:
        return np.array(x, dtype=np.float32)
    indices = range(len(x)) if indices is None else indices
    state = np.random.get_state()
    try:
        out = [
            _one(img, name, severity, image_seed(seed, name, severity, i))
            for i, img in zip(indices, x, strict=True)
        ]
    finally:
        np.random.set_state(state)
    return np.stack(out) if out else np.array(x, dtype=np.float32)


def _one(img: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """One (C, H, W) image through the corruption, uint8 HxWx3 as imagecorruptions takes it."""
    rgb = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img
    hwc = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    np.random.seed(seed)
    out = backend.apply(np.ascontiguousarray(hwc), name, severity)
    chw = out.transpose(2, 0, 1).astype(np.float32) / 255
    return chw[:1] if img.shape[0] == 1 else chw


def cached(
    x: np.ndarray, name: str, severity: int, seed: int, indices: Sequence[int] | None = None
) -> np.ndarray:
    """``corrupt(x, name, severity, seed, indices)``, read from the cache when generated before."""
    path = _cache_path(x, name, severity, seed, indices)
    try:
        with np.load(path) as f:
            return f["x"]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("ignoring unreadable cache file %s (%s)", path, exc)
    out = corrupt(x, name, severity, seed, indices)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, x=out)
    except OSError as exc:  # a read-only cache folder only costs speed
        logger.warning("cannot write cache file %s (%s)", path, exc)
    return out


def _cache_path(
    x: np.ndarray, name: str, severity: int, seed: int, indices: Sequence[int] | None
) -> Path:
    h = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update(f"{x.shape}/{name}/{severity}/{seed}/{backend.version()}".encode())
    if indices is not None:  # the seeds of the images (absent: 0..N-1, as before)
        h.update(np.asarray(indices, dtype=np.int64).tobytes())
    return cache_dir() / "corruptions" / f"{name}-{severity}-{h.hexdigest()[:16]}.npz"
