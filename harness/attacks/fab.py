"""FAB-T, L-inf: the targeted Fast Adaptive Boundary attack, AutoAttack's third part.

Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
attack" (ICML, arXiv:1907.02044). ART 1.20.1 has no FAB, so this module implements it from the
paper (Algorithm 1, targeted variant as AutoAttack's standard version runs it): the decision
boundary between the true class y and the target t is linearised at the current iterate, both
the iterate and the original image are projected onto that hyperplane (inside the [0, 1] box,
minimal L-inf distance), and a convex combination of the two steps, slightly overshot, is taken.
Whenever the iterate is adversarial the smallest such perturbation is kept and the iterate is
pulled back towards the original (``BETA``). One run, no random start (the standard version's
``n_restarts=1``). A perturbation larger than eps counts as a failure, as in the reference.

It is a part of ``autoattack`` (``harness.attacks.autoattack``), not a registered attack.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from harness import device

ALPHA_MAX = 0.1  # largest weight of the step from the original image (the paper's alpha_max)
ETA = 1.05  # overshoot of the projection step
BETA = 0.9  # backward step towards the original once adversarial


def fab_targeted(
    model: nn.Module, x: np.ndarray, y: np.ndarray, target: np.ndarray, eps: float, n_iter: int
) -> np.ndarray:
    """x (n, C, H, W) in [0, 1], y (n,) true labels, target (n,) classes -> x_adv (n, C, H, W).

    x_adv is the smallest adversarial example found within L-inf eps, else x itself. ``model``
    takes [0, 1] pixels (normalization inside) and returns logits; it is used in eval mode on
    its own device and is not modified.
    """
    dev = device.of(model)
    x0 = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(dev)
    tt = torch.from_numpy(np.asarray(target, dtype=np.int64)).to(dev)
    best, best_norm = x0.clone(), torch.full((len(x0),), float("inf"), device=dev)
    x1 = x0.clone()
    for _ in range(n_iter):
        x1 = _step(model, x0, x1, yt, tt)
        with torch.no_grad():
            adv = model(x1).argmax(1) != yt
        norm = (x1 - x0).flatten(1).abs().amax(1)  # (n,) L-inf
        better = adv & (norm < best_norm)
        best[better], best_norm[better] = x1[better], norm[better]
        x1[adv] = x0[adv] + BETA * (x1[adv] - x0[adv])  # back towards the original
    failed = best_norm > eps
    best[failed] = x0[failed]
    return best.detach().cpu().numpy()


def _step(
    model: nn.Module, x0: torch.Tensor, x1: torch.Tensor, y: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """One FAB step: project x1 and x0 on the linearised y/t boundary, combine, clip to [0, 1]."""
    f, g = _margin_and_gradient(model, x1, y, t)  # f (n,): z_t - z_y; g (n, D) its gradient
    flat1, flat0 = x1.flatten(1), x0.flatten(1)
    b = (g * flat1).sum(1) - f  # boundary hyperplane {z : g . z = b}
    d1 = project_linf_box(flat1, g, b)  # (n, D)
    d0 = project_linf_box(flat0, g, b)
    a1 = d1.abs().amax(1).clamp_min(1e-8)
    a0 = d0.abs().amax(1).clamp_min(1e-8)
    alpha = (a1 / (a1 + a0)).clamp(0.0, ALPHA_MAX).unsqueeze(1)  # (n, 1)
    step = (flat1 + ETA * d1) * (1 - alpha) + (flat0 + ETA * d0) * alpha
    return step.clamp(0.0, 1.0).reshape(x1.shape)


def _margin_and_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """z_t - z_y at x (n,) and its input gradient (n, D); positive means predicted t over y."""
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        z = model(xg)
        rows = torch.arange(len(x), device=x.device)
        margin = z[rows, t] - z[rows, y]
        (grad,) = torch.autograd.grad(margin.sum(), xg)
    return margin.detach(), grad.flatten(1)


def project_linf_box(p: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The smallest-L-inf move d (n, D) with w . (p + d) = b and p + d in [0, 1]^D, per row.

    Every coordinate with w_i != 0 moves by min(lam, room_i) in the direction that closes the
    gap, room_i being how far the box lets it go; lam is the smallest value that closes it,
    found from the sorted rooms (the closed gap is piecewise linear and increasing in lam).
    Where even the whole box cannot close the gap, every coordinate goes as far as it can.
    """
    gap = b - (w * p).sum(1)  # (n,) w . d must equal this
    direction = torch.sign(w) * torch.sign(gap).unsqueeze(1)  # +1: the coordinate moves up
    room = torch.where(direction > 0, 1 - p, p) * (w != 0)  # (n, D) how far the box allows
    weight = w.abs()
    rooms, order = room.sort(1)  # (n, D) ascending
    weights = weight.gather(1, order)
    below = torch.cumsum(weights * rooms, 1) - weights * rooms  # sum over j < k of w_j room_j
    above = weights.flip(1).cumsum(1).flip(1)  # sum over j >= k of w_j
    closed = below + rooms * above  # (n, D) gap closed with lam = rooms[:, k]
    k = (closed < gap.abs().unsqueeze(1)).sum(1, keepdim=True)  # first k that closes it
    feasible = k < room.shape[1]
    k = k.clamp(max=room.shape[1] - 1)
    lam = (gap.abs().unsqueeze(1) - below.gather(1, k)) / above.gather(1, k).clamp_min(1e-12)
    lam = torch.where(feasible, lam, rooms[:, -1:])
    return direction * torch.minimum(lam.clamp_min(0), room)
