"""A first convolution that whitens image patches, its weights computed from training data.

The patch-whitening layer of the fast CIFAR-10 training literature (Page's DAWNBench entry,
tysam-code's hlb-CIFAR10, Jordan 2024, "94% on CIFAR-10 in 3.29 seconds", arXiv:2404.00498):
a k x k convolution whose filters are the eigenvectors of the training patches' covariance,
each divided by the square root of its eigenvalue, so every output channel has unit variance
and the channels are uncorrelated. Each filter appears twice, with both signs, so a following
ReLU/GELU keeps the information of both halves. The weights are then frozen (the bias trains).

``fit_whitening(model, x)`` finds the layer(s) in a built model, runs the model's own forward
on training images up to that layer (the ``Normalize`` in front included) and sets them.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 5e-4  # added to each eigenvalue: bounds the gain of near-empty directions (Jordan 2024)
FIT_IMAGES = 5000  # training images the statistics are taken from (as Jordan 2024)


class PatchWhitening(nn.Conv2d):
    """Conv k x k, no padding, ``2 * C * k * k`` output channels (each eigen-filter with both
    signs); a plain trainable convolution until ``fit`` sets and freezes its weights."""

    def __init__(self, channels: int, kernel: int = 2) -> None:
        super().__init__(channels, 2 * channels * kernel * kernel, kernel, padding=0)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, eps: float = EPS) -> None:
        """Set the filters from inputs ``x`` (N, C, H, W) as this layer sees them; the bias
        centres the whitened patches (mean 0), the weights are frozen."""
        w, mean = whitening_filters(x, self.kernel_size[0], eps)
        self.weight.copy_(torch.cat([w, -w]))
        shift = (w.flatten(1) @ mean).to(self.bias)
        self.bias.copy_(torch.cat([-shift, shift]))
        self.weight.requires_grad_(False)


def patches(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """Every k x k patch of ``x`` (N, C, H, W), flattened: (N * (H-k+1) * (W-k+1), C * k * k),
    in the layout of a Conv2d weight's (C, k, k)."""
    cols = nn.functional.unfold(x, kernel)  # (N, C*k*k, L)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def whitening_filters(
    x: torch.Tensor, kernel: int, eps: float = EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """(filters (C*k*k, C, k, k), patch mean (C*k*k,)): filter i is eigenvector i of the
    patches' covariance over sqrt(eigenvalue_i + eps), so ``filters . (patch - mean)`` has
    (nearly) identity covariance. Computed in float64; eigenvalues ascending (torch.linalg.eigh)."""
    p = patches(x.double(), kernel)
    mean = p.mean(0)
    centred = p - mean
    cov = centred.T @ centred / len(p)
    values, vectors = torch.linalg.eigh(cov)
    filters = vectors.T / torch.sqrt(values.clamp_min(0) + eps)[:, None]
    c = x.shape[1]
    return filters.reshape(-1, c, kernel, kernel).float(), mean.float()


class _Captured(Exception):
    """Stops a forward once the whitening layer's input is seen."""


def fit_whitening(model: nn.Module, x: torch.Tensor, n_images: int = FIT_IMAGES) -> int:
    """Fit every ``PatchWhitening`` in ``model`` on the inputs it receives when the first
    ``n_images`` of ``x`` (N, C, H, W) in [0, 1] go through ``model``; the number fitted.
    The forward stops at the layer (nothing after it runs); x is not modified."""
    layers = [m for m in model.modules() if isinstance(m, PatchWhitening)]
    for layer in layers:
        layer.fit(_input_of(model, layer, x[:n_images]))
    return len(layers)


@torch.no_grad()
def _input_of(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []

    def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        seen.append(args[0].detach())
        raise _Captured

    handle = layer.register_forward_pre_hook(hook)
    was_training = model.training
    try:
        model.eval()
        model(x.to(next(model.parameters()).device))
    except _Captured:
        pass
    finally:
        handle.remove()
        model.train(was_training)
    return seen[0]
