"""The corruptions of Hendrycks & Dietterich (ICLR 2019), by family, and their severities."""

from __future__ import annotations

FAMILIES: dict[str, tuple[str, ...]] = {  # the 15 benchmark corruptions, in the paper's order
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
    "blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression"),
}
CORRUPTIONS: tuple[str, ...] = tuple(c for names in FAMILIES.values() for c in names)
# the paper's 4 held-out (validation) corruptions, opt-in; "extra" is their family in reports
EXTRAS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL: tuple[str, ...] = CORRUPTIONS + EXTRAS
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)


def family(name: str) -> str:
    """The family a corruption belongs to ("extra" for the held-out four)."""
    return next((f for f, names in FAMILIES.items() if name in names), "extra")
