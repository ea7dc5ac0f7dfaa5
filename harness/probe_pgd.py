"""The sanity probe's unbounded L-inf PGD (Carlini et al. 2019, §5), with a per-sample early stop.

An eps = 1 ball covers the whole [0, 1] pixel range, so a working gradient attack must leave no
more than chance accuracy. The probe only needs that accuracy, so a sample leaves the attack as
soon as it is misclassified (one already misclassified at x is never attacked): what it counts,
"still classified correctly after every step", is what the full attack counts for every sample
it keeps misclassified, and on a model with working gradients most samples leave after a step or
two. A gradient-masked model keeps its samples (sign(0) never moves them) for all the steps.

Steps: x <- clip(x + step_size * sign(grad CE), x0 - eps, x0 + eps) clipped to [0, 1], no random
start (``harness.model_probe.UNBOUNDED_PGD``), in eval mode on the model's device, in batches
halved on out of memory (the model's halving state, ``harness.oom``).

The first step's gradient is taken over every sample (misclassified ones included, which do not
step) and returned with that step's outputs: they are the cross-entropy's input gradient at x
and the raw outputs at x that the probe's gradient and output checks look at, so those checks
cost no pass of their own.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import nn

from harness import device, oom
from harness.modes import evaluating

BATCH = 128


def unbounded_accuracy(
    model: nn.Module, x: np.ndarray, y: np.ndarray, eps: float, steps: int, step_size: float
) -> tuple[float, int, np.ndarray, np.ndarray]:
    """(share of x (N, C, H, W) in [0, 1] still classified as y (N,) after at most ``steps``
    L-inf PGD steps of radius ``eps`` (pixel units), sample-steps spent (forward + backward
    passes of one sample), the input gradient of the summed cross-entropy at x (N, C, H, W),
    the raw outputs at x (N, K))."""
    if len(x) == 0:
        return 0.0, 0, np.zeros_like(x), np.zeros((0, 0), np.float32)
    with evaluating(model):
        attack = partial(_batch, model, eps, steps, step_size)
        kept, spent, grads, outputs = oom.batches_for(model, device.of(model)).run(
            "unbounded_pgd", attack, [x, y], BATCH
        )
    return float(np.mean(kept)), int(np.sum(spent)), grads, outputs


def _batch(
    model: nn.Module, eps: float, steps: int, step_size: float, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(still correct (n,) bool, steps each sample took (n,), the CE's input gradient at x, the
    outputs at x) for one batch. Each pass's forward both checks the samples left and, while steps remain,
    gives their gradient; the first pass's covers every sample (module docstring)."""
    dev = device.of(model)
    x0, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    adv, correct = x0.clone(), torch.ones(len(x0), dtype=torch.bool, device=dev)
    taken = torch.zeros(len(x0), dtype=torch.int64, device=dev)
    first = torch.zeros_like(x0)
    for done in range(steps + 1):
        live = correct.nonzero()[:, 0]
        if len(live) == 0:
            break  # every sample misclassified: more steps cannot change the count
        graded = done < steps or done == 0
        with torch.set_grad_enabled(graded):
            xl = adv[live].requires_grad_(graded)
            z = model(xl)
        correct[live] = still = z.argmax(1) == yt[live]
        if done == 0:  # every sample's gradient (live is all of them), misclassified too
            first, outputs = _gradient(xl, z, yt, torch.ones_like(still)), z.detach()
        grad = first if done == 0 else None
        if done < steps and bool(still.any()):
            grad = _gradient(xl, z, yt[live], still) if grad is None else grad
            adv[live] = _step(xl, grad, still, x0[live], eps, step_size)
            taken[live[still]] += 1
    found = (correct, taken, first, outputs)
    return tuple(t.cpu().numpy() for t in found)  # type: ignore[return-value]


def _gradient(
    x: torch.Tensor, z: torch.Tensor, y: torch.Tensor, rows: torch.Tensor
) -> torch.Tensor:
    """d/dx of the summed cross-entropy of ``rows`` (samples are independent in eval mode: a
    row's gradient is the same whichever other rows the sum holds)."""
    loss = nn.functional.cross_entropy(z[rows], y[rows], reduction="sum")
    (grad,) = torch.autograd.grad(loss, x, retain_graph=False)
    return grad.detach()


def _step(
    x: torch.Tensor,
    grad: torch.Tensor,
    move: torch.Tensor,
    x0: torch.Tensor,
    eps: float,
    size: float,
) -> torch.Tensor:
    """x + size * sign(grad) (grad: d CE / dx) where ``move``, projected to the eps ball and to
    [0, 1]; the others stay where they are (misclassified: they left the attack)."""
    x = x.detach()
    stepped = torch.minimum(torch.maximum(x + size * grad.sign(), x0 - eps), x0 + eps)
    return torch.where(move.view(-1, *[1] * (x.ndim - 1)), stepped.clamp(0, 1), x).detach()
