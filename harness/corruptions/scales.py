"""Which severity parameters a generated corruption uses: Hendrycks & Dietterich's for each scale.

Hendrycks & Dietterich made each benchmark with its own script and parameters: CIFAR-10-C for
32-px images (``make_cifar_c.py``: gaussian noise sigma .04-.10), Tiny-ImageNet-C for 64 px
(``make_tinyimagenet_c.py``), ImageNet-C for 224 px (``make_imagenet_c.py``: sigma .08-.38, the
parameters ``imagecorruptions`` carries). ``corruptions.parameters`` names one; ``auto`` picks by
the image side. Here too, in one place, is where the harness departs from a script
(``Scale.departures``): the report's corruption section shows it, docs/corruptions.md repeats it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.corruptions.tables import CIFAR, TINY_IMAGENET, Table

AUTO = "auto"


@dataclass(frozen=True)
class Scale:
    """One benchmark's parameters: the images they were made for and how the harness applies them."""

    name: str  # the spec's word
    label: str  # how the report names it
    script: str  # Hendrycks & Dietterich's generation script (ImageNet-C/create_c/)
    max_side: int | None  # ``auto`` picks it for images up to this side (px); None: any larger
    table: Table | None  # the script's parameters, applied by ``script``; None: imagecorruptions
    # corruption -> how the harness departs from the script (absent: follows it exactly)
    departures: dict[str, str] = field(default_factory=dict)


# ImageMagick's motion blur (the scripts call it through Wand) is not a dependency: the numpy
# port imagecorruptions ships stands in, with the script's radius, sigma and angle.
_MOTION = (
    "ImageMagick's motion blur (which the script calls through Wand) replaced by"
    " imagecorruptions' numpy port of it, with the script's radius, sigma and random angle;"
    " borders and rounding may differ slightly"
)
_SMALL = {
    "motion_blur": f"approximated: {_MOTION}",
    "snow": f"approximated, the snow layer's blur: {_MOTION}",
}

SCALES: tuple[Scale, ...] = (
    Scale("cifar", "CIFAR-10-C's (32 px)", CIFAR.script, 32, CIFAR, _SMALL),
    Scale(
        "tiny_imagenet",
        "Tiny-ImageNet-C's (64 px)",
        TINY_IMAGENET.script,
        64,
        TINY_IMAGENET,
        {
            **_SMALL,
            "*": "the published Tiny-ImageNet-C files were also saved as JPEG (quality 85) after"
            " corruption; the harness does not add that compression",
        },
    ),
    Scale(
        "imagenet",
        "ImageNet-C's (224 px)",
        "make_imagenet_c.py",
        None,
        None,
        {"*": "imagecorruptions' adaptation of the script to any image size, as it ships"},
    ),
)
PARAMETERS: tuple[str, ...] = (AUTO, *(s.name for s in SCALES))


def named(name: str) -> Scale:
    """The scale called ``name`` (one of ``PARAMETERS`` less ``auto``)."""
    return next(s for s in SCALES if s.name == name)


def resolve(parameters: str, shape: Sequence[int]) -> Scale:
    """The scale ``parameters`` names; ``auto``: the first made for images as large as these.
    ``shape``: one image's (C, H, W); its side is max(H, W)."""
    if parameters != AUTO:
        return named(parameters)
    side = max(int(shape[-2]), int(shape[-1]))
    return next(s for s in SCALES if s.max_side is None or side <= s.max_side)
