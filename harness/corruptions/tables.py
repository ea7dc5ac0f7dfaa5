"""The severity parameters of Hendrycks & Dietterich's own generation scripts for small images.

Numbers copied from ``ImageNet-C/create_c/`` of github.com/hendrycks/robustness (commit 8190fe3):
``make_cifar_c.py`` (CIFAR-10-C, 32 px) and ``make_tinyimagenet_c.py`` (Tiny-ImageNet-C, 64 px);
each table's comment gives its file and line. Every entry holds severities 1-5 in turn. The
ImageNet-C set (224 px) is the one ``imagecorruptions`` carries itself (``harness.corruptions.backend``).

Elastic transform's entries are fractions of the image side (the scripts write them as
``IMSIZE * f``); zoom blur's are ``np.arange`` arguments (start, stop, step), the scripts' calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Severities = tuple[Any, Any, Any, Any, Any]  # severities 1-5


@dataclass(frozen=True)
class Table:
    """One script's parameters: per corruption, and the few the script fixes once."""

    script: str  # the generation script, in ImageNet-C/create_c/
    severities: dict[str, Severities]  # corruption -> its parameters at severities 1-5
    plasma_mapsize: int  # fog's plasma fractal side before the crop (the default of the script)
    frost_zoom: float  # the factor the frost pictures are resized by before the random crop


def _zoom(*stops: float) -> Severities:
    return tuple((1.0, stop, 0.01) for stop in stops)  # type: ignore[return-value]


CIFAR = Table(
    script="make_cifar_c.py",
    severities={
        "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),  # make_cifar_c.py:131
        "shot_noise": (500, 250, 100, 75, 50),  # make_cifar_c.py:138
        "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),  # make_cifar_c.py:145
        "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),  # make_cifar_c.py:152
        "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1),  # make_cifar_c.py:159
        # sigma, max_delta, iterations; make_cifar_c.py:167
        "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
        # disk radius, alias blur; make_cifar_c.py:184
        "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
        "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),  # make_cifar_c.py:198
        "zoom_blur": _zoom(1.06, 1.11, 1.16, 1.21, 1.26),  # make_cifar_c.py:216-217
        "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),  # make_cifar_c.py:229
        # image weight, frost weight; make_cifar_c.py:238
        "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
        "snow": (  # make_cifar_c.py:251-255
            (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
            (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
            (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
            (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
            (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
        ),
        "spatter": (  # make_cifar_c.py:279-283
            (0.62, 0.1, 0.7, 0.7, 0.5, 0),
            (0.65, 0.1, 0.8, 0.7, 0.5, 0),
            (0.65, 0.3, 1, 0.69, 0.5, 0),
            (0.65, 0.1, 0.7, 0.69, 0.6, 1),
            (0.65, 0.1, 0.5, 0.68, 0.6, 1),
        ),
        "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),  # make_cifar_c.py:334
        "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),  # make_cifar_c.py:342
        "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),  # make_cifar_c.py:353
        "jpeg_compression": (80, 65, 58, 50, 40),  # make_cifar_c.py:364
        "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),  # make_cifar_c.py:374
        "elastic_transform": (  # x IMSIZE; make_cifar_c.py:385-389
            (0, 0, 0.08),
            (0.05, 0.2, 0.07),
            (0.08, 0.06, 0.06),
            (0.1, 0.04, 0.05),
            (0.1, 0.03, 0.03),
        ),
    },
    plasma_mapsize=32,  # make_cifar_c.py:63
    frost_zoom=0.2,  # make_cifar_c.py:242
)

TINY_IMAGENET = Table(
    script="make_tinyimagenet_c.py",
    severities={
        "gaussian_noise": (0.04, 0.08, 0.12, 0.15, 0.18),  # make_tinyimagenet_c.py:249
        "shot_noise": (250, 100, 50, 30, 15),  # make_tinyimagenet_c.py:256
        "impulse_noise": (0.01, 0.02, 0.05, 0.08, 0.14),  # make_tinyimagenet_c.py:263
        "speckle_noise": (0.15, 0.2, 0.25, 0.3, 0.35),  # make_tinyimagenet_c.py:270
        "gaussian_blur": (0.5, 0.75, 1, 1.25, 1.5),  # make_tinyimagenet_c.py:277
        # sigma, max_delta, iterations; make_tinyimagenet_c.py:285
        "glass_blur": ((0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)),
        # disk radius, alias blur; make_tinyimagenet_c.py:302
        "defocus_blur": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
        "motion_blur": (
            (10, 1),
            (10, 1.5),
            (10, 2),
            (10, 2.5),
            (12, 3),
        ),  # ...tinyimagenet_c.py:316
        "zoom_blur": _zoom(1.06, 1.11, 1.16, 1.21, 1.26),  # make_tinyimagenet_c.py:334-335
        "fog": ((0.4, 3), (0.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)),  # make_tinyimagenet_c.py:347
        # image weight, frost weight; make_tinyimagenet_c.py:356
        "frost": ((1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)),
        "snow": (  # make_tinyimagenet_c.py:369-373
            (0.1, 0.2, 1, 0.6, 8, 3, 0.8),
            (0.1, 0.2, 1, 0.5, 10, 4, 0.8),
            (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7),
            (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65),
            (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6),
        ),
        "spatter": (  # make_tinyimagenet_c.py:397-401
            (0.62, 0.1, 0.7, 0.7, 0.6, 0),
            (0.65, 0.1, 0.8, 0.7, 0.6, 0),
            (0.65, 0.3, 1, 0.69, 0.6, 0),
            (0.65, 0.1, 0.7, 0.68, 0.6, 1),
            (0.65, 0.1, 0.5, 0.67, 0.6, 1),
        ),
        "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # make_tinyimagenet_c.py:452
        "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # make_tinyimagenet_c.py:460
        # make_tinyimagenet_c.py:471
        "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)),
        "jpeg_compression": (65, 58, 50, 40, 25),  # make_tinyimagenet_c.py:482
        "pixelate": (0.9, 0.8, 0.7, 0.6, 0.5),  # make_tinyimagenet_c.py:492
        "elastic_transform": (  # x IMSIZE; make_tinyimagenet_c.py:503-507
            (0, 0, 0.08),
            (0.05, 0.3, 0.06),
            (0.1, 0.08, 0.06),
            (0.1, 0.03, 0.03),
            (0.16, 0.03, 0.02),
        ),
    },
    plasma_mapsize=64,  # make_tinyimagenet_c.py:181
    frost_zoom=0.3,  # make_tinyimagenet_c.py:360
)
