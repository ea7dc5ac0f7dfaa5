"""The geometry of the two threat models on torch tensors: norms, projections, random starts.

AutoAttack's loops (``apgd_loop``, ``fab``, ``square_loop``) share these so that each rule is
written once per norm. Norms are per sample, over all of C * H * W; ``norm`` is the declared
name, "linf" or "l2". The L2 rules are those of fra31/auto-attack (``autopgd_pt.py``): a
perturbation longer than eps is scaled back onto the sphere, then the image is clipped to [0, 1]
(clipping only shortens it), and a random start is a Gaussian direction scaled to length eps.
"""

from __future__ import annotations

import torch

TINY = 1e-12  # keeps a division by a zero norm finite (the reference's constant)


def lengths(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """(n,) the ``norm`` of each sample's perturbation delta (n, C, H, W)."""
    flat = delta.flatten(1)
    return flat.abs().amax(1) if norm == "linf" else flat.norm(dim=1)


def unit(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """delta scaled per sample to length 1 in ``norm`` (a zero delta stays zero)."""
    return delta / (lengths(delta, norm) + TINY).view(-1, *[1] * (delta.dim() - 1))


def project(x: torch.Tensor, x0: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """x moved into the eps ball around x0, then into [0, 1] (the reference's order)."""
    if norm == "linf":
        return torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp(0.0, 1.0)
    delta = x - x0
    size = lengths(delta, "l2").view(-1, *[1] * (x.dim() - 1))
    return (x0 + delta / (size + TINY) * size.clamp(max=eps)).clamp(0.0, 1.0)


def random_start(x0: torch.Tensor, eps: float, norm: str, gen: torch.Generator) -> torch.Tensor:
    """x0 plus a random perturbation of length eps, clipped to [0, 1]: uniform in the cube
    rescaled so its largest coordinate is eps (L-inf), a Gaussian direction (L2)."""
    if norm == "linf":
        u = 2 * torch.rand(x0.shape, generator=gen) - 1
    else:
        u = torch.randn(x0.shape, generator=gen)
    return (x0 + eps * unit(u, norm).to(x0.device)).clamp(0.0, 1.0)
