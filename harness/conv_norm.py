"""The operator norm of a convolution on images of a given size (its largest singular value as
a linear map x -> conv(x), bias left out), which depends on the input size, stride, padding and
dilation, unlike the spectral norm of its reshaped weight (``harness.weights``).

Found by the Lanczos method on A^T A (A^T applied by autograd, i.e. the transposed convolution,
so stride, padding, dilation and groups are handled exactly), with full reorthogonalisation:
its largest Ritz value converges far faster than power iteration, whose rate (sigma_2 /
sigma_1)^2 is close to 1 for the nearly flat spectra of random or lightly trained layers (100
power steps left ResNet-18's layers 1e-4 short; Lanczos meets 1e-8 in fewer, at half their time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from scipy.linalg import eigvalsh_tridiagonal
from torch import nn

TOL = 1e-8  # stop when the top Ritz value moves less than this, relative (ResNet-18: 1e-8 off)


def conv_operator_norm(conv: nn.Conv2d, input_chw: Sequence[int], iters: int = 100) -> float:
    """Largest singular value of x -> conv(x) (no bias) on (C, H, W) inputs; at most ``iters``
    products with A^T A, from the same seeded start on every device. On a 1 x 1 input the
    convolution is a plain matrix, computed exactly (``_one_pixel``)."""
    w = conv.weight.detach().double()
    if tuple(input_chw[1:]) == (1, 1) and (taps := _one_pixel_taps(conv)) is not None:
        gram = sum(w[:, :, i, j].T @ w[:, :, i, j] for i, j in taps)
        return math.sqrt(max(float(torch.linalg.eigvalsh(gram)[-1]), 0.0)) if taps else 0.0
    start = torch.randn(
        1, *input_chw, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    ).to(w.device)
    return math.sqrt(max(_lanczos_top(_gram(conv, w, start.shape), start.flatten(), iters), 0.0))


def _one_pixel_taps(conv: nn.Conv2d) -> list[tuple[int, int]] | None:
    """The kernel taps (i, j) that land on the pixel of a 1 x 1 input, one per output pixel
    that sees it: A stacks their W[:, :, i, j], so A^T A is the sum of their Gram matrices
    (ResNet-18's last stage on 32 x 32 images: the centre tap, exact and ten times faster
    than Lanczos). None where that does not hold: groups, padding modes, "same"/"valid"."""
    if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return None
    return [
        (i, j)
        for i in _taps(conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.dilation[0])
        for j in _taps(conv.kernel_size[1], conv.stride[1], conv.padding[1], conv.dilation[1])
    ]


def _taps(kernel: int, stride: int, padding: int, dilation: int) -> list[int]:
    """Along one axis, for each output position o of a 1-pixel input: the tap k with
    o * stride - padding + k * dilation = 0, where there is one."""
    outputs = (1 + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    found = [(padding - o * stride) / dilation for o in range(max(outputs, 0))]
    return [int(k) for k in found if k == int(k) and 0 <= k < kernel]


def _gram(conv: nn.Conv2d, w: torch.Tensor, shape: torch.Size):
    """v -> A^T A v on flat vectors (A^T by autograd: the input gradient of 0.5 ||A v||^2)."""

    def gram(v: torch.Tensor) -> torch.Tensor:
        x = v.reshape(shape).requires_grad_(True)
        y = conv._conv_forward(x, w, None)
        (grad,) = torch.autograd.grad(0.5 * (y * y).sum(), x)
        return grad.detach().flatten()

    return gram


def _lanczos_top(apply, q: torch.Tensor, iters: int) -> float:
    """Largest eigenvalue of the symmetric operator ``apply`` by Lanczos from ``q``; the basis is
    kept in one preallocated (iters, n) matrix."""
    steps = max(iters, 1)
    basis = q.new_zeros(steps, len(q))
    basis[0] = q / q.norm()
    alphas, betas, top = [], [], 0.0
    for i in range(steps):
        v = apply(basis[i])
        alphas.append(float(basis[i] @ v))
        q_all = basis[: i + 1]
        v = v - q_all.T @ (q_all @ v)  # full reorthogonalisation (twice is enough)
        v = v - q_all.T @ (q_all @ v)
        last, top = top, _ritz_top(alphas, betas)
        beta = float(v.norm())
        if abs(top - last) <= TOL * abs(top) or beta <= 1e-14 * max(abs(top), 1e-300):
            break  # converged, or the Krylov space is invariant (the top eigenvalue is exact)
        if i + 1 < steps:
            betas.append(beta)
            basis[i + 1] = v / beta
    return top


def _ritz_top(alphas: list[float], betas: list[float]) -> float:
    """Largest eigenvalue of the Lanczos tridiagonal matrix (alphas on, betas beside the diagonal)."""
    if not betas:
        return alphas[0]
    return float(
        eigvalsh_tridiagonal(alphas, betas, select="i", select_range=(len(alphas) - 1,) * 2)[0]
    )
