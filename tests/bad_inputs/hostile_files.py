"""Hostile files (issue 28): link loops, images too deep or too large, broken weights, names.

Each is refused in one line naming the file or field, before any training.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bad_inputs import TINY, Case, custom, spec, with_files, write_files
from bad_inputs.images import FOLDER, GOOD, MODEL, encoded, folder, png_header_only
from bad_inputs.weights import saved, state
from harness.architectures import ARCHITECTURES, wrap

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


def negative_running_var() -> bytes:
    """spatial_baseline_cnn's weights (2 classes) with every BatchNorm variance -1: finite,
    but the square root of a negative variance makes every output NaN."""
    torch.manual_seed(0)
    net = wrap(ARCHITECTURES.get("spatial_baseline_cnn").build((3, 32, 32), 2), (0.5,), (0.5,), 3)
    weights = net.state_dict()
    for key, value in weights.items():
        if key.endswith("running_var"):
            value.fill_(-1.0)
    return saved(weights)


def all_huge() -> bytes:
    """small_cnn's weights, every float value 3e38 (just under float32's maximum): finite,
    but the first layer's sums overflow to inf."""
    return saved({k: torch.full_like(v, 3e38) for k, v in state().items()})


BN_SPEC = (
    "dataset: {name: imagefolder, root: '{tmp}/imgs', image_size: 32}\n"
    "model: {arch: spatial_baseline_cnn, weights: '{tmp}/w.pt'}\n"
)
DIGITS_SPEC = (
    "dataset: {name: digits, n_test: 60}\nmodel: {arch: small_cnn, weights: '{tmp}/w.pt'}\n"
)
RANDOM_BYTES = np.random.default_rng(0).bytes(5000)  # starts b"_\x82": no zip, no pickle
NON_FINITE = "w.pt gives non-finite outputs (NaN or inf) on a batch of the test set"

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
    Case(
        "weights_negative_batchnorm_variance",
        with_files(GOOD_FILES | {"w.pt": negative_running_var()}, BN_SPEC),
        NON_FINITE,
    ),
    Case("weights_all_3e38", with_files({"w.pt": all_huge()}, DIGITS_SPEC), NON_FINITE),
    Case(
        "weights_5000_random_bytes",
        with_files({"w.pt": RANDOM_BYTES}, DIGITS_SPEC),
        "w.pt is not a readable state_dict: it is binary data in no checkpoint format",
    ),
    Case(
        "name_hidden", spec("name: .hidden\n" + TINY), "name: expected a name not starting with '.'"
    ),
    Case(
        "grid_label_hidden",
        spec("name: g\n" + TINY + "grid: {seeds: [0], models: [{arch: mlp, label: .m}]}\n"),
        "grid.models[0].label: expected a name not starting with '.'",
    ),
]
