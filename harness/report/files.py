"""The file names of a run report's figures (the run folder itself: ``harness.results.rundir``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness.results import ExampleGrid


def confusion_file(role: str) -> str:
    return f"confusion_{_safe(role)}.png"


def weights_file(role: str) -> str:
    return f"weights_{_safe(role)}.png"


def esd_file(role: str) -> str:
    return f"esd_{_safe(role)}.png"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


NOISE_PNG = "noise_probe.png"
MINIMAL_PNG = "minimal_cdf.png"
ATTENTION_PNG = "attention_shift.png"
CORRUPTION_FAMILIES_PNG = "corruption_families.png"
CORRUPTION_GRADCAM_PNG = "corruption_gradcam.png"


def corruption_heatmap_file(role: str) -> str:
    return f"corruptions_{_safe(role)}.png"


def example_files(grids: Sequence[ExampleGrid]) -> list[str]:
    """``examples_<model>_<attack>.png`` per grid; a second grid of the same pair adds its ε."""
    names: list[str] = []
    for g in grids:
        name = f"examples_{_safe(g.model)}_{_safe(g.attack)}.png"
        if name in names:
            name = name.replace(".png", f"_eps{g.eps:.4g}.png")
        names.append(name)
    return names
