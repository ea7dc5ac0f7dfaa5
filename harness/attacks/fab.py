"""FAB, L-inf and L2: the Fast Adaptive Boundary attack, AutoAttack's FAB-T (and FAB in ``plus``).

Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
attack" (ICML, arXiv:1907.02044). ART 1.20.1 has no FAB, so this module implements it from the
paper (Algorithm 1, with the reference code's constants): the decision boundary between the
true class y and another class is linearised at the current iterate, both the iterate and the
original image are projected onto that hyperplane (inside the [0, 1] box, at minimal distance in
the attack's norm), and a convex combination of the two steps, slightly overshot, is taken.
Whenever the iterate is adversarial the smallest such perturbation is kept and the iterate is
pulled back towards the original (``BETA``). A perturbation larger than eps counts as a failure,
as in the reference.

- targeted (FAB-T, AutoAttack's standard version): the boundary towards a given target class,
  one gradient per iteration; one run, no random start (``n_restarts=1``).
- untargeted (FAB, the ``plus`` version): every class's boundary is linearised (one gradient
  per class per iteration, as the reference) and the closest one, by the linearised distance
  |z_k - z_y| / ||grad (z_k - z_y)||_* (the dual norm: L1 for L-inf, L2 for L2), is taken; a
  restart after the first starts from a random point at half eps (the reference's).

L2: the hyperplane-and-box projection moves each coordinate along the hyperplane's normal until
it meets its bound (the reference's ``projection_l2`` solves the same problem), and distances,
the kept perturbation and the eps test are in L2 over C * H * W.

It is a part of ``autoattack`` (``harness.attacks.autoattack``), not a registered attack.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from harness import device
from harness.attacks import lp_ball

ALPHA_MAX = 0.1  # largest weight of the step from the original image (the paper's alpha_max)
ETA = 1.05  # overshoot of the projection step
BETA = 0.9  # backward step towards the original once adversarial
START_SCALE = 0.5  # a random restart starts at this fraction of eps (the reference's)
FAR = 1e10  # the distance of the true class's own "boundary" (never chosen)

# x (n, C, H, W) -> f (n,) the linearised margin z_k - z_y, g (n, D) its input gradient
Boundary = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def fab_targeted(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    target: np.ndarray,
    eps: float,
    n_iter: int,
    norm: str = "linf",
) -> np.ndarray:
    """x (n, C, H, W) in [0, 1], y (n,) true labels, target (n,) classes -> x_adv (n, C, H, W).

    x_adv is the smallest adversarial example found within eps (in ``norm``), else x itself.
    ``model`` takes [0, 1] pixels (normalization inside) and returns logits; it is used in eval
    mode on its own device and is not modified.
    """
    x0, yt = _tensors(model, x, y)
    tt = torch.from_numpy(np.asarray(target, dtype=np.int64)).to(x0.device)
    boundary = lambda xi: _margin_and_gradient(model, xi, yt, tt)  # noqa: E731
    return _run(model, x0, x0.clone(), yt, boundary, eps, n_iter, norm).cpu().numpy()


def fab_untargeted(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    n_iter: int,
    norm: str = "linf",
    random_start: bool = False,
) -> np.ndarray:
    """Untargeted FAB: the closest linearised boundary at each iteration; as ``fab_targeted``
    otherwise. ``random_start``: start at a random point at half eps (a restart), drawn from a
    torch generator seeded from numpy's global generator."""
    x0, yt = _tensors(model, x, y)
    x1 = x0.clone()
    if random_start:
        gen = torch.Generator().manual_seed(int(np.random.randint(2**31)))
        x1 = lp_ball.random_start(x0, START_SCALE * eps, norm, gen)
    boundary = lambda xi: _closest_boundary(model, xi, yt, norm)  # noqa: E731
    return _run(model, x0, x1, yt, boundary, eps, n_iter, norm).cpu().numpy()


def _tensors(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
    dev = device.of(model)
    x0 = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
    return x0, torch.from_numpy(np.asarray(y, dtype=np.int64)).to(dev)


def _run(model, x0, x1, y, boundary: Boundary, eps: float, n_iter: int, norm: str):
    """The FAB iterations from x1; the smallest adversarial iterate within eps, else x0."""
    best, best_norm = x0.clone(), torch.full((len(x0),), float("inf"), device=x0.device)
    for _ in range(n_iter):
        x1 = _step(boundary, x0, x1, norm)
        with torch.no_grad():
            adv = model(x1).argmax(1) != y
        size = lp_ball.lengths(x1 - x0, norm)  # (n,)
        better = adv & (size < best_norm)
        best[better], best_norm[better] = x1[better], size[better]
        x1[adv] = x0[adv] + BETA * (x1[adv] - x0[adv])  # back towards the original
    failed = best_norm > eps
    best[failed] = x0[failed]
    return best.detach()


def _step(boundary: Boundary, x0: torch.Tensor, x1: torch.Tensor, norm: str) -> torch.Tensor:
    """One FAB step: project x1 and x0 on the linearised boundary, combine, clip to [0, 1]."""
    f, g = boundary(x1)  # f (n,): z_k - z_y; g (n, D) its gradient
    flat1, flat0 = x1.flatten(1), x0.flatten(1)
    b = (g * flat1).sum(1) - f  # boundary hyperplane {z : g . z = b}
    d1 = project_box(flat1, g, b, norm)  # (n, D)
    d0 = project_box(flat0, g, b, norm)
    a1 = lp_ball.lengths(d1, norm).clamp_min(1e-8)
    a0 = lp_ball.lengths(d0, norm).clamp_min(1e-8)
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


def _closest_boundary(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The margin z_k - z_y (n,) and gradient (n, D) of the class k whose linearised boundary
    is closest in ``norm``: one forward, one backward per class (the reference's)."""
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        z = model(xg)  # (n, K)
        k = z.shape[1]
        grads = [
            torch.autograd.grad(z[:, c].sum(), xg, retain_graph=c < k - 1)[0].flatten(1)
            for c in range(k)
        ]
    rows = torch.arange(len(x), device=x.device)
    jac = torch.stack(grads, 1)  # (n, K, D)
    df, dg = z.detach() - z.detach()[rows, y, None], jac - jac[rows, y, None]
    dual = dg.abs().sum(2) if norm == "linf" else dg.norm(dim=2)  # (n, K)
    dist = (df.abs() / (dual + 1e-12)).index_put((rows, y), torch.tensor(FAR, device=x.device))
    c = dist.argmin(1)
    return df[rows, c], dg[rows, c]


def project_box(p: torch.Tensor, w: torch.Tensor, b: torch.Tensor, norm: str) -> torch.Tensor:
    """The move d (n, D) of smallest ``norm`` with w . (p + d) = b and p + d in [0, 1]^D.

    Every coordinate with w_i != 0 moves in the direction that closes the gap, by
    min(lam * c_i, room_i): room_i is how far the box lets it go, c_i is 1 in L-inf (all move
    alike) and |w_i| in L2 (along the normal). The gap closed is piecewise linear and increasing
    in lam, so lam is found from the sorted breakpoints room_i / c_i. Where even the whole box
    cannot close the gap, every coordinate goes as far as it can.
    """
    gap = b - (w * p).sum(1)  # (n,) w . d must equal this
    direction = torch.sign(w) * torch.sign(gap).unsqueeze(1)  # +1: the coordinate moves up
    room = torch.where(direction > 0, 1 - p, p) * (w != 0)  # (n, D) how far the box allows
    weight = w.abs()
    rate = torch.ones_like(w) if norm == "linf" else weight  # c_i
    at = room / rate.clamp_min(1e-12)  # (n, D) lam at which coordinate i meets its bound
    ats, order = at.sort(1)  # ascending
    rooms, weights, rates = room.gather(1, order), weight.gather(1, order), rate.gather(1, order)
    below = torch.cumsum(weights * rooms, 1) - weights * rooms  # sum over j < k of w_j room_j
    above = (weights * rates).flip(1).cumsum(1).flip(1)  # sum over j >= k of w_j c_j
    closed = below + ats * above  # (n, D) gap closed with lam = ats[:, k]
    k = (closed < gap.abs().unsqueeze(1)).sum(1, keepdim=True)  # first k that closes it
    feasible = k < room.shape[1]
    k = k.clamp(max=room.shape[1] - 1)
    lam = (gap.abs().unsqueeze(1) - below.gather(1, k)) / above.gather(1, k).clamp_min(1e-12)
    lam = torch.where(feasible, lam, ats[:, -1:])
    return direction * torch.minimum(lam.clamp_min(0) * rate, room)


def project_linf_box(p: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``project_box`` in L-inf."""
    return project_box(p, w, b, "linf")
