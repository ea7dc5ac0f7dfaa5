"""``cifar10_fast``: the small wide network of the fast CIFAR-10 training literature.

After Jordan 2024 ("94% on CIFAR-10 in 3.29 seconds", arXiv:2404.00498, the airbench94 net,
itself from tysam-code's hlb-CIFAR10): a 2x2 patch-whitening convolution (``harness.whitening``;
its filters come from the training data when the recipe says ``whiten: true``), then three
groups of [Conv3x3 -> MaxPool2 -> BatchNorm -> GELU -> Conv3x3 -> BatchNorm -> GELU] of widths
64, 256, 256, a global max-pool and a bias-free linear head scaled by 1/9. Convolutions start
as identities on their first input channels (dirac init, which the airbench ablations find
saves about a fifth of the epochs). BatchNorm uses a fast momentum (0.4) so its running
statistics follow the last weights, which lookahead moves in jumps.

No test-time augmentation: the attacked forward is this network, nothing around it. The
network runs in channels-last memory layout (about 20% faster convolutions on CPU); it takes
and returns ordinary tensors.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from harness.whitening import PatchWhitening

WIDTHS = (64, 256, 256)  # Jordan 2024's airbench94 widths
BN_MOMENTUM = 0.4  # torch's convention (new-statistics weight); airbench's 0.6 the other way
LOGIT_SCALE = 1 / 9  # airbench94's head multiplier: small initial logits


class _ChannelsLast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():  # identity on the first min(c_in, c_out) output channels
        nn.init.dirac_(conv.weight[: min(c_in, c_out)])
    return conv


def _group(c_in: int, c_out: int) -> nn.Sequential:
    """Conv (full resolution) -> MaxPool2 (halves H, W) -> BN -> GELU -> Conv -> BN -> GELU."""
    return nn.Sequential(
        _conv(c_in, c_out), nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM), nn.GELU(),
        _conv(c_out, c_out),
        nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM), nn.GELU(),
    )  # fmt: skip


def build(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """The network on normalized inputs (N, C, H, W) -> logits (N, num_classes)."""
    c = input_shape[0]
    whiten = PatchWhitening(c, kernel=2)  # (N, 24, 31, 31) for 32x32 RGB
    w1, w2, w3 = WIDTHS
    net = nn.Sequential(
        OrderedDict(
            layout=_ChannelsLast(),
            whiten=whiten,
            act=nn.GELU(),
            group1=_group(whiten.out_channels, w1),  # 31 -> 15
            group2=_group(w1, w2),  # 15 -> 7
            group3=_group(w2, w3),  # 7 -> 3
            pool=nn.AdaptiveMaxPool2d(1),
            flat=nn.Flatten(),
            head=nn.Linear(w3, num_classes, bias=False),
            scale=_Scale(LOGIT_SCALE),
        )
    )
    return net.to(memory_format=torch.channels_last)
