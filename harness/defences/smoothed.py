"""The smoothed classifier that randomized smoothing's empirical sweep attacks
(``harness.defences.smoothing``); apart from the declaration so that declaring it imports no torch.
"""

from __future__ import annotations

import torch
from torch import nn


class Smoothed(nn.Module):
    """log E[softmax(base(x + N(0, sigma^2)))] over ``samples`` draws: logits of the smoothed model.

    The noise comes from the module's own generator (seeded, on the host), so a run is
    reproducible, and the same on every device, while every forward pass draws fresh noise.
    """

    def __init__(self, base: nn.Module, sigma: float, samples: int, seed: int) -> None:
        super().__init__()
        self.base, self.sigma, self.samples = base, sigma, samples
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        noisy = x.repeat(self.samples, 1, 1, 1)
        noise = torch.randn(noisy.shape, generator=self.generator, dtype=x.dtype).to(x.device)
        probs = self.base(noisy + self.sigma * noise).softmax(1)
        return probs.view(self.samples, n, -1).mean(0).clamp_min(1e-12).log()
