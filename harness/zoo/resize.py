"""The layer that fits the data's images to the size a zoo network was trained at."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.zoo.base import Size


class Resize(nn.Module):
    """Bilinear resize to the size the zoo network was trained at, inside the model: the model
    still takes the data's [0, 1] pixels, so epsilons stay in the data's pixel units."""

    def __init__(self, size: Size) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, h, w) -> (N, C, H, W)
        # antialias: a downscale averages, as PIL's does; it changes nothing when upscaling
        return F.interpolate(x, self.size, mode="bilinear", align_corners=False, antialias=True)

    def extra_repr(self) -> str:
        return f"size={self.size}"
