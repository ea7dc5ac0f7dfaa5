"""BPDA (Athalye et al. 2018): an ART preprocessor in the forward pass, the identity backward.

The layer ``harness.defences.preprocessing`` puts in front of the baseline; apart from the
declarations so that declaring those defences imports neither torch nor ART.
"""

from __future__ import annotations

from typing import Any

import torch
from art.defences.preprocessor.preprocessor import Preprocessor
from torch import nn


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
