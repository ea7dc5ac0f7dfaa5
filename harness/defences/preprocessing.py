"""ART's input-transformation defences placed in front of the baseline, attacked with BPDA.

JPEG compression, feature squeezing (bit-depth reduction) and median smoothing are applied to
every input by ART's preprocessors. Their outputs are piecewise constant or not differentiable
in PyTorch, so the adaptive attack uses BPDA (Athalye et al. 2018): the forward pass runs the
real transformation, the backward pass treats it as the identity. All three are deterministic,
so no expectation over transformations is needed. The naive attacker crafts on the baseline
alone (``DefenceDef.wraps_baseline``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from art.defences.preprocessor import FeatureSqueezing, JpegCompression, SpatialSmoothing
from art.defences.preprocessor.preprocessor import Preprocessor
from torch import nn

from harness.defences.base import DefenceDef, HardenJob, register
from harness.params import ints

CLIP = (0.0, 1.0)


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class BPDA(nn.Module):
    """Runs an ART preprocessor on the input; its gradient is taken to be the identity."""

    def __init__(self, preprocessor: Preprocessor) -> None:
        super().__init__()
        self.preprocessor = preprocessor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.preprocessor(x.detach().cpu().numpy())
        return _StraightThrough.apply(x, torch.from_numpy(out).to(x.device, x.dtype))


def _wrapper(make: Callable[[dict[str, Any]], Preprocessor]):
    def assemble(job: HardenJob, module: nn.Module | None) -> nn.Module:
        assert job.baseline is not None
        stage = BPDA(make(job.params))
        return nn.Sequential(OrderedDict(preprocess=stage, classifier=job.baseline))

    return assemble


PREPROCESSORS = {
    "jpeg": (
        lambda p: JpegCompression(CLIP, quality=p["quality"], channels_first=True),
        {"quality": 50},
        ints(quality=1),
        "JPEG compression of every input (ART JpegCompression; Dziugaite et al. 2016), BPDA.",
    ),
    "feature_squeezing": (
        lambda p: FeatureSqueezing(CLIP, bit_depth=p["bit_depth"]),
        {"bit_depth": 4},
        ints(bit_depth=1),
        "Bit-depth reduction of every input (ART FeatureSqueezing; Xu et al. 2018), BPDA.",
    ),
    "spatial_smoothing": (
        lambda p: SpatialSmoothing(
            window_size=p["window_size"], channels_first=True, clip_values=CLIP
        ),
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
