"""Corrupted sets generated a chunk at a time and kept on disk, never whole in memory.

A set (the images ``indices`` of a test split under one corruption and severity) is stored as
one uint8 ``.npy`` (N, C, H, W) under ``<cache>/corruptions``, named by a hash of the images'
float32 bytes and indices (``digest``), the corruption, severity, seed, imagecorruptions'
version and the parameters' scale. It is written chunk by chunk as the chunks are generated, renamed into place when
complete, and read back a chunk at a time with ``os.pread`` (``harness.datasets.lazy``): the
same float32 bits ``generate.corrupt`` returns, at a quarter of float32's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from harness.batching import chunks
from harness.corruptions import backend, generate
from harness.corruptions.scales import Scale
from harness.datasets.lazy import ImageArray, LazyImages, stored_rows, to_float
from harness.datasets.paths import cache_dir
from harness.io import atomic_path

logger = logging.getLogger(__name__)


def digest(x: ImageArray, indices: np.ndarray, size: int) -> str:
    """The content hash of images ``indices`` of ``x`` (read ``size`` at a time) and of the
    indices themselves (they seed the corruptions): the part of a set's name shared by all
    corruptions and severities, computed once per evaluation."""
    h = hashlib.sha256()
    for s in chunks(len(indices), size):
        h.update(np.ascontiguousarray(x[indices[s]], dtype=np.float32).tobytes())
    h.update(f"{(len(indices), *x.shape[1:])}".encode())
    h.update(np.asarray(indices, dtype=np.int64).tobytes())
    return h.hexdigest()


def corrupted(
    x: ImageArray,
    indices: np.ndarray,
    name: str,
    severity: int,
    seed: int,
    size: int,
    key: str,
    scale: Scale,
) -> Iterator[np.ndarray]:
    """Images ``indices`` of ``x`` under ``name`` at ``severity`` (1-5) with ``scale``'s
    parameters, each seeded by its index: float32 (k, C, H, W) chunks of at most ``size``
    images, in order. ``key``: the ``digest`` of (x, indices). Read from the cache when stored,
    else generated and stored."""
    path = _path(key, name, severity, seed, scale)
    stored = _stored(path, (len(indices), *x.shape[1:]))
    if stored is not None:
        yield from (stored[s] for s in chunks(len(indices), size))
        return
    writer = _Writer(path, (len(indices), *x.shape[1:]))
    try:
        for s in chunks(len(indices), size):
            pixels = generate.pixels(x[indices[s]], name, severity, seed, indices[s], scale)
            writer.write(pixels)
            yield to_float(pixels)
        writer.commit()
    finally:
        writer.discard()  # a set abandoned half-way leaves no file behind


def _path(key: str, name: str, severity: int, seed: int, scale: Scale) -> Path:
    h = hashlib.sha256(f"{key}/{name}/{severity}/{seed}/{backend.version()}/{scale.name}".encode())
    return cache_dir() / "corruptions" / f"{name}-{severity}-{h.hexdigest()[:16]}.npy"


def _stored(path: Path, shape: tuple[int, ...]) -> LazyImages | None:
    """The stored set, read lazily; None when absent or not the uint8 array expected."""
    rows = stored_rows(path, shape)
    return None if rows is None else LazyImages(rows)


class _Abandoned(Exception):
    """Thrown into the temporary file's context to delete it rather than rename it."""


class _Writer:
    """A uint8 ``.npy`` of a known shape written a chunk at a time to a temporary file beside
    ``path`` (``harness.io.atomic_path``) and renamed over it once complete. A cache that
    cannot be written only costs speed: the first failure is a warning, nothing more is written."""

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        self.path, self.file, self.stack = path, None, contextlib.ExitStack()
        try:
            tmp = self.stack.enter_context(atomic_path(path))
            self.file = self.stack.enter_context(tmp.open("wb"))  # closed by the stack
            npy.write_array_header_1_0(
                self.file, {"descr": "|u1", "fortran_order": False, "shape": shape}
            )
        except OSError as exc:
            self._fail(exc)

    def write(self, pixels: np.ndarray) -> None:
        """Append (k, C, H, W) uint8 images."""
        if self.file is not None:
            try:
                self.file.write(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
            except OSError as exc:
                self._fail(exc)

    def commit(self) -> None:
        """Close the file and rename it into place."""
        if self.file is not None:
            self.file = None
            try:
                self.stack.close()
            except OSError as exc:
                self._fail(exc)

    def discard(self) -> None:
        """Close and delete the temporary file (nothing to do after ``commit``)."""
        self.file = None
        self.stack.__exit__(_Abandoned, _Abandoned(), None)

    def _fail(self, exc: OSError) -> None:
        logger.warning("cannot write cache file %s (%s)", self.path, exc)
        self.discard()
