"""The purifier's network (``harness.defences.purifier``): a small convolutional autoencoder.

Apart from the defence's declaration so that declaring it imports no torch.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvAutoencoder(nn.Module):
    """Conv encoder (two stride-2 convs, H/4 x W/4 latent map) and upsampling conv decoder.

    ``variational``: the latent map holds a mean and a log-variance; training samples from it,
    evaluation uses the mean, so the purifier is deterministic when attacked.
    """

    def __init__(self, channels: int, width: int, latent: int, variational: bool) -> None:
        super().__init__()
        self.variational = variational
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, latent * (2 if variational else 1), 1),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Conv2d(latent, 2 * w, 1), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(2 * w, w, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, channels, 3, padding=1), nn.Sigmoid(),
        )  # fmt: skip
        self.kl = torch.zeros(())  # the last training forward's KL term (VAE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        if self.variational:
            mu, logvar = z.chunk(2, dim=1)
            z = mu
            if self.training:
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                self.kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / len(x)
        return self.decoder(z)
