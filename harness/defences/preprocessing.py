"""ART's input-transformation defences placed in front of the baseline, attacked with BPDA.

JPEG compression, feature squeezing (bit-depth reduction) and median smoothing are applied to
every input by ART's preprocessors. Their outputs are piecewise constant or not differentiable
in PyTorch, so the adaptive attack uses BPDA (Athalye et al. 2018): the forward pass runs the
real transformation, the backward pass treats it as the identity. All three are deterministic,
so no expectation over transformations is needed. The naive attacker crafts on the baseline
alone (``DefenceDef.wraps_baseline``). ART and torch are imported when a model is assembled
(the BPDA layer: ``harness.defences.bpda``), not when the defences are declared.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.defences.base import DefenceDef, HardenJob, register
from harness.params import ints

if TYPE_CHECKING:
    from art.defences.preprocessor.preprocessor import Preprocessor
    from torch import nn

CLIP = (0.0, 1.0)


def _wrapper(make: Callable[[dict[str, Any]], Preprocessor]):
    def assemble(job: HardenJob, module: nn.Module | None) -> nn.Module:
        from torch import nn

        from harness.defences.bpda import BPDA

        assert job.baseline is not None
        stage = BPDA(make(job.params))
        return nn.Sequential(OrderedDict(preprocess=stage, classifier=job.baseline))

    return assemble


def _jpeg(p: dict[str, Any]) -> Preprocessor:
    from art.defences.preprocessor import JpegCompression

    return JpegCompression(CLIP, quality=p["quality"], channels_first=True)


def _squeeze(p: dict[str, Any]) -> Preprocessor:
    from art.defences.preprocessor import FeatureSqueezing

    return FeatureSqueezing(CLIP, bit_depth=p["bit_depth"])


def _median(p: dict[str, Any]) -> Preprocessor:
    from art.defences.preprocessor import SpatialSmoothing

    return SpatialSmoothing(window_size=p["window_size"], channels_first=True, clip_values=CLIP)


PREPROCESSORS = {
    "jpeg": (
        _jpeg,
        {"quality": 50},
        ints(quality=1),
        "JPEG compression of every input (ART JpegCompression; Dziugaite et al. 2016), BPDA.",
    ),
    "feature_squeezing": (
        _squeeze,
        {"bit_depth": 4},
        ints(bit_depth=1),
        "Bit-depth reduction of every input (ART FeatureSqueezing; Xu et al. 2018), BPDA.",
    ),
    "spatial_smoothing": (
        _median,
        {"window_size": 3},
        ints(window_size=1),
        "Median filter over every input (ART SpatialSmoothing; Xu et al. 2018), BPDA.",
    ),
}

for _name, (_make, _defaults, _check, _doc) in PREPROCESSORS.items():
    register(
        DefenceDef(
            _name,
            fit=None,
            defaults=_defaults,
            check=_check,
            description=_doc,
            assemble=_wrapper(_make),
            wraps_baseline=True,
        )
    )
