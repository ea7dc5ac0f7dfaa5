"""Image splits read when indexed: uint8 pixels in memory or in a ``.npy`` file, float32 out.

A test split of 50,000 images at 224 px is 30 GB as float32 and 7.5 GB as uint8: neither is
held. ``LazyImages`` looks like the float32 (N, C, H, W) array in [0, 1] a loader used to
return (``len``, ``shape``, ``dtype``, ``ndim``, indexing by int, slice or index array), but
reads only the rows asked for and converts them exactly as ``to_float`` converted the whole
split, so every value is bit-for-bit the same. ``subset`` gives a lazy view of some rows.

A file is read with ``os.pread`` rather than a memory map: mapped pages count in the process's
resident memory until the kernel reclaims them, so a pass over a memory-mapped split would look
(and be measured) as large as the split. The file is a plain ``.npy`` all the same
(``np.load(path, mmap_mode="r")`` opens it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy

logger = logging.getLogger(__name__)

PIXEL_MAX = 255.0  # 8-bit images: 0..255 -> 0..1


def to_float(x: np.ndarray, scale: float = PIXEL_MAX) -> np.ndarray:
    """uint8 0..scale -> float32 in [0, 1], same shape (a new array)."""
    out = x.astype(np.float32)
    out /= scale  # in float32, as every loader always did: the same bits as before
    return out


class NpyRows:
    """The rows of a C-ordered ``.npy`` file, read on demand (``path`` and the data offset only,
    so it pickles and never holds a file open)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        with open(self.path, "rb") as f:
            version = npy.read_magic(f)
            read_header = (
                npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            )
            self.shape, fortran, self.dtype = read_header(f)
            self.offset = f.tell()
        if fortran:
            raise ValueError(f"{self.path}: Fortran-ordered arrays are not supported")
        self.row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (int64 indices, any order) as a new array (k, *shape[1:])."""
        flat = np.empty((len(rows), self.row_bytes), np.uint8)  # the rows' bytes
        with open(self.path, "rb") as f:
            for start, stop, first in _runs(rows):  # consecutive rows: one read each
                n = (stop - start) * self.row_bytes
                buf = os.pread(f.fileno(), n, self.offset + start * self.row_bytes)
                flat[first : first + stop - start] = np.frombuffer(buf, np.uint8).reshape(
                    stop - start, -1
                )
        return flat.view(self.dtype).reshape(len(rows), *self.shape[1:])


def stored_rows(path: Path, shape: tuple[int, ...]) -> NpyRows | None:
    """The uint8 rows of a cache file at ``path`` if it is whole and holds ``shape``; None
    when it is absent, unreadable or anything else (logged: the caller then rebuilds it)."""
    try:
        rows = NpyRows(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as exc:
        logger.warning("ignoring unreadable cache file %s (%s)", path, exc)
        return None
    size = rows.offset + shape[0] * rows.row_bytes
    if rows.shape != shape or rows.dtype != np.uint8 or path.stat().st_size != size:
        logger.warning("ignoring cache file %s: not uint8 %s", path, shape)
        return None
    return rows


class ArrayRows:
    """The rows of an in-memory array (e.g. torchvision's uint8 CIFAR-10)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.shape, self.dtype = array, array.shape, array.dtype

    def read(self, rows: np.ndarray) -> np.ndarray:
        return self.array[rows]


def _runs(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, position in ``rows``) of each run of consecutive indices in ``rows``."""
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks, [len(rows)]])
    return [
        (int(rows[a]), int(rows[b - 1]) + 1, int(a)) for a, b in zip(firsts, lasts, strict=True)
    ]


class LazyImages:
    """(N, C, H, W) float32 images in [0, 1], stored as integers 0..``scale`` in ``source``."""

    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(
        self, source: NpyRows | ArrayRows, index: np.ndarray | None = None, scale: float = PIXEL_MAX
    ) -> None:
        self.source, self.scale = source, scale
        n = source.shape[0]
        self.index = np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.source.shape[1:])

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: Any) -> np.ndarray:
        """An int gives one image (C, H, W); a slice, index list/array or boolean mask gives
        (k, C, H, W); always a new float32 array."""
        if isinstance(key, int | np.integer):
            return self[np.array([key])][0]
        if isinstance(key, tuple):
            raise TypeError("LazyImages: index the samples only (an int, slice or index array)")
        rows = self.index[key]  # numpy's own rules for slices, negatives, masks and bounds
        return to_float(self.source.read(np.atleast_1d(rows)), self.scale)

    def subset(self, idx: np.ndarray) -> LazyImages:
        """A lazy view of rows ``idx`` (in that order); nothing is read."""
        return LazyImages(self.source, self.index[idx], self.scale)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole split as float32: only for callers that need it (training splits)."""
        x = self[:]
        return x if dtype is None else x.astype(dtype)


ImageArray = np.ndarray | LazyImages  # what a Dataset holds: eager float32 or lazy


def take(x: ImageArray, idx: np.ndarray) -> ImageArray:
    """Rows ``idx`` of ``x``: a lazy view of a lazy split, a copy of an array."""
    return x.subset(idx) if isinstance(x, LazyImages) else x[idx]


def materialize(x: ImageArray) -> np.ndarray:
    """``x`` as a float32 ndarray (read whole: for splits that are small, e.g. training)."""
    return np.asarray(x) if isinstance(x, LazyImages) else x


def in_memory(x: np.ndarray, scale: float = PIXEL_MAX) -> LazyImages:
    """A lazy split over an in-memory integer array (N, C, H, W)."""
    return LazyImages(ArrayRows(x), scale=scale)
