"""The ``Normalize`` layer every built model starts with: (x - mean) / std per channel.

Apart from ``harness.architectures`` (the registry) so that registering architectures imports no
torch; ``harness.architectures.wrap`` imports this module on use.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import HarnessError


class Normalize(nn.Module):
    """(x - mean) / std per channel, as a layer, so the model itself takes [0, 1] pixels."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], channels: int) -> None:
        super().__init__()
        mean_t, std_t = _per_channel(mean, channels), _per_channel(std, channels)
        if (std_t <= 0).any():
            raise HarnessError(f"model.std: expected positive values, got {list(std)}")
        self.register_buffer("mean", mean_t.view(1, channels, 1, 1))
        self.register_buffer("std", std_t.view(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, C, H, W) in [0, 1]
        return (x - self.mean) / self.std


def _per_channel(values: Sequence[float], channels: int) -> torch.Tensor:
    values = list(values)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise HarnessError(f"model.mean/std: expected 1 or {channels} values, got {len(values)}")
    return torch.tensor(values, dtype=torch.float32)


def wrap(net: nn.Module, mean: Sequence[float], std: Sequence[float], channels: int) -> nn.Module:
    """The model the harness trains and attacks: Normalize -> net, [0, 1] pixels in, logits out."""
    return nn.Sequential(OrderedDict(normalize=Normalize(mean, std, channels), net=net))
