"""Hostile files (issue 28): link loops, images too deep or too large, broken weights, names.

Each is refused in one line naming the file or field, before any training.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from bad_inputs import Case, custom, spec, write_files
from bad_inputs.images import FOLDER, GOOD, MODEL, encoded, folder, png_header_only

GOOD_FILES = {f"imgs/{c}/{i}.png": GOOD for c in "ab" for i in range(3)}


def linked(links: dict[str, str]) -> object:
    """The good two-class folder plus symbolic links ``imgs/b/<name>`` -> ``target``."""

    def setup(tmp: Path) -> list[str]:
        write_files(tmp, GOOD_FILES)
        for name, target in links.items():
            os.symlink(target, tmp / "imgs" / "b" / name)
        return spec(FOLDER.replace("{tmp}", str(tmp)) + MODEL)(tmp)

    return custom(setup)


INT32 = encoded(Image.fromarray(np.full((8, 8), 100_000, np.int32), "I"), "TIFF")

CASES = [
    Case(
        "image_symlink_to_itself",
        linked({"x.png": "x.png"}),
        "b/x.png: cannot read image (Too many levels of symbolic links)",
    ),
    Case(
        "image_symlink_cycle",
        linked({"x.png": "y.png", "y.png": "x.png"}),
        "Too many levels of symbolic links",
    ),
    Case(
        "image_int32_tiff_named_png",
        folder("i.png", INT32),
        "b/i.png: cannot read image (32-bit integer pixels (mode I)",
    ),
    Case(
        "image_over_the_pixel_limit",
        folder("big.png", png_header_only(10_000, 10_000)),
        "b/big.png: cannot read image (10000x10000 is 100,000,000 pixels; the limit is 25,000,000)",
    ),
]
