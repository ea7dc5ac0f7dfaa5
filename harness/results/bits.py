"""Boolean per-sample masks as short ASCII text, for JSON records (grid cells, run.json).

A mask is packed eight samples to a byte (``np.packbits``) and base64-encoded; reading it back
needs its shape, which the record that holds it knows.
"""

from __future__ import annotations

import base64

import numpy as np


def pack(mask: np.ndarray) -> str:
    """``mask`` (any shape, read as booleans in C order) as base64 text."""
    return base64.b64encode(np.packbits(np.asarray(mask).astype(bool))).decode("ascii")


def unpack(text: str, shape: tuple[int, ...]) -> np.ndarray:
    """The boolean array of ``shape`` that ``pack`` turned into ``text``."""
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), np.uint8))
    return bits[: int(np.prod(shape))].reshape(shape).astype(bool)
