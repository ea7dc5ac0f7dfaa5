"""APGD (Auto-PGD), L-inf and L2, kept on the model's device: AutoAttack's gradient parts.

Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks" (arXiv:2003.01690), Algorithm 1, with the reference code's constants
(fra31/auto-attack): initial step 2 eps, momentum 0.75 (none on the first step), checkpoints
after 22% of the iterations and then every 19%, 16%, ... down to 6% of them, and at a checkpoint
the step is halved, and the iterate reset to the best one, where fewer than 75% of the steps
since the last checkpoint raised the loss, or where the best loss stayed put since the last
checkpoint without a halving there. The start is uniform in the eps cube, rescaled so its
largest coordinate is eps, as the reference's.

L2 (the reference's rules, ``autopgd_pt.py``): the start is a Gaussian direction of length eps;
a step moves by the step size along the gradient scaled to unit L2 length (where L-inf takes its
sign), and both the step and the momentum mix are projected by scaling a perturbation longer than
eps back onto the sphere, then clipping to [0, 1] (``harness.attacks.lp_ball``). The initial step
is 2 eps in both norms. The reference's targeted L2 variant scales every sample's step by the
first sample's step size (``step_size[0]``); here each sample keeps its own, as in its untargeted
variant and in its later versions.

Cost: one forward and one backward per iteration (``eot_iter`` of each for a randomized model).
The forward that gives the gradient also gives the loss for the best-iterate bookkeeping and
the prediction: a sample the model misclassifies at an iterate keeps that iterate and takes no
more steps (the ensemble needs one adversarial example per sample, and its later steps cannot
change that sample's outcome). The reference keeps stepping such samples and returns their
last adversarial iterate; which samples are broken is the same. Only the input's gradient is
computed (``torch.autograd.grad``), never the weights'.

Losses (maximised): ``ce``; ``dlr`` (untargeted, -(z_y - max_{i!=y} z_i) / (z_pi1 - z_pi3));
``dlr_targeted`` (-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2), the reference's; with 3 classes
z_pi4 is taken as z_pi3); ``ce_targeted`` (-CE towards the target: 2-class models, where no DLR
exists). z_pi is the logits sorted in decreasing order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness import device, oom
from harness.attacks import lp_ball
from harness.attacks.gradient import eval_mode

LOSSES = ("ce", "dlr", "dlr_targeted", "ce_targeted")
MOMENTUM = 0.75  # weight of the new step; 1 - MOMENTUM on the previous move (reference's alpha)
RHO = 0.75  # a checkpoint halves the step if at most this fraction of steps raised the loss
FIRST_CHECK, CHECK_DECREASE, CHECK_MIN = 0.22, 0.03, 0.06  # checkpoint spacing, of n_iter
TINY = lp_ball.TINY  # keeps the DLR ratio finite (the reference's)


def _dlr(z: torch.Tensor, y: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
    """(n,) the DLR loss; untargeted when t is None."""
    rows = torch.arange(len(z), device=z.device)
    top = z.sort(1, descending=True).values  # (n, K)
    if t is None:
        others = z.scatter(1, y[:, None], float("-inf")).amax(1)
        return -(z[rows, y] - others) / (top[:, 0] - top[:, 2] + TINY)
    fourth = top[:, 3] if z.shape[1] > 3 else top[:, 2]
    return -(z[rows, y] - z[rows, t]) / (top[:, 0] - 0.5 * (top[:, 2] + fourth) + TINY)


def per_sample_loss(name: str, z: torch.Tensor, y: torch.Tensor, t: torch.Tensor | None):
    """(n,) the loss APGD maximises, per sample (logits z (n, K), labels y, targets t)."""
    if name == "ce":
        return F.cross_entropy(z, y, reduction="none")
    if name == "ce_targeted":
        return -F.cross_entropy(z, t, reduction="none")
    return _dlr(z, y, t if name == "dlr_targeted" else None)


@dataclass
class _State:
    """Per-sample tensors of the samples still stepping (rows align; ``keep`` drops the rest)."""

    index: torch.Tensor  # (m,) rows of the batch
    x0: torch.Tensor  # (m, C, H, W) originals
    y: torch.Tensor  # (m,) true labels
    t: torch.Tensor  # (m,) targets (= y when untargeted)
    x: torch.Tensor  # current iterate
    prev: torch.Tensor  # the iterate before it (momentum)
    grad: torch.Tensor  # loss gradient at x
    loss: torch.Tensor  # (m,) loss at x
    best_x: torch.Tensor  # iterate with the highest loss so far
    best_grad: torch.Tensor
    best_loss: torch.Tensor
    step: torch.Tensor  # (m, 1, 1, 1) step size, pixel units
    rises: torch.Tensor  # (m,) steps that raised the loss since the last checkpoint
    best_at_check: torch.Tensor  # (m,) best loss at the last checkpoint
    halved_at_check: torch.Tensor  # (m,) bool: step halved at the last checkpoint

    def keep(self, mask: torch.Tensor) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[mask])


class APGDLoop(EvasionAttack):
    """APGD in L-inf or L2 (Croce & Hein 2020) on an ART PyTorch classifier; see the module
    docstring.

    Arguments (pixel units): eps; max_iter (100); loss (one of ``LOSSES``); batch_size;
    eot_iter (1; > 1 averages that many gradients per step, for randomized models); norm
    ("linf" or "l2", eps measured in it over C * H * W).
    ``generate(x, y, target=None)``: y the true labels; target (N,) the target classes for the
    targeted losses. Returns x_adv: per sample the first adversarial iterate (prediction != y)
    if any, else the iterate with the highest loss. Randomness: one torch generator per batch,
    seeded from numpy's global generator (``harness.attacks.generate`` seeds that).
    """

    attack_params: ClassVar[list[str]] = [
        *EvasionAttack.attack_params,
        *("eps", "max_iter", "loss", "batch_size", "eot_iter", "norm"),
    ]
    _estimator_requirements = ()

    def __init__(
        self,
        estimator: PyTorchClassifier,
        *,
        eps: float,
        max_iter: int = 100,
        loss: str = "ce",
        batch_size: int = 128,
        eot_iter: int = 1,
        norm: str = "linf",
    ) -> None:
        super().__init__(estimator=estimator)
        if loss not in LOSSES:
            raise ValueError(f"APGD loss {loss!r}; expected one of {', '.join(LOSSES)}")
        self.eps, self.max_iter, self.loss = float(eps), int(max_iter), loss
        self.batch_size, self.eot_iter = int(batch_size), int(eot_iter)
        if norm not in ("linf", "l2"):
            raise ValueError(f"APGD norm {norm!r}; expected linf or l2")
        self.norm = norm
        self._targeted = loss.endswith("_targeted")

    def generate(
        self, x: np.ndarray, y: np.ndarray | None = None, target: np.ndarray | None = None, **_: Any
    ) -> np.ndarray:
        """x (N, C, H, W) in [0, 1], y (N,) true labels -> x_adv (N, C, H, W) float32."""
        if y is None or (self._targeted and target is None):
            raise ValueError("APGDLoop needs the true labels y (and target when targeted)")
        y = np.asarray(y, dtype=np.int64)
        t = y if target is None else np.asarray(target, dtype=np.int64)
        if not len(x):
            return x.astype(np.float32)
        dev = device.of(self.estimator.model)
        run = lambda xb, yb, tb: self._batch(xb, yb, tb, dev)  # noqa: E731
        with eval_mode(self.estimator):  # out of memory: that batch again, halved (harness.oom)
            return oom.batches_for(self.estimator, dev).run(
                "loss_gradient", run, [x, y, t], self.batch_size
            )

    def _batch(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, dev: torch.device):
        gen = torch.Generator().manual_seed(int(np.random.randint(2**31)))
        x0 = torch.from_numpy(np.array(x, np.float32)).to(dev)  # a copy: x may be read-only
        yt, tt = torch.from_numpy(y).to(dev), torch.from_numpy(t).to(dev)
        return self._run(x0, yt, tt, gen).cpu().numpy()

    def _run(self, x0, y, t, gen: torch.Generator) -> torch.Tensor:
        """The APGD iterations on one batch; returns x_adv (n, C, H, W)."""
        out = x0.clone()
        s = self._start(x0, y, t, gen)
        s = self._settle(s, out, s.x)
        k, since = max(int(FIRST_CHECK * self.max_iter), 1), 0
        for i in range(self.max_iter):
            if not len(s.index):
                break
            moved = self._move(s, MOMENTUM if i > 0 else 1.0)
            s.prev = s.x
            s = self._settle(s, out, moved)
            since += 1
            if since == k:
                self._checkpoint(s, k)
                since, k = 0, max(k - self._decrease(), self._min_check())
        out[s.index] = s.best_x  # never adversarial: the highest-loss iterate
        return out

    def _decrease(self) -> int:
        return max(int(CHECK_DECREASE * self.max_iter), 1)

    def _min_check(self) -> int:
        return max(int(CHECK_MIN * self.max_iter), 1)

    def _start(self, x0, y, t, gen: torch.Generator) -> _State:
        """The random start (state with loss and gradient still to be evaluated)."""
        x = lp_ball.random_start(x0, self.eps, self.norm, gen)
        n, zeros = len(x0), torch.zeros(len(x0), device=x0.device)
        unseen = zeros + np.inf  # the start's own evaluation counts as no rise
        step = torch.full((n, 1, 1, 1), 2 * self.eps, device=x0.device)
        halved = torch.ones(n, dtype=torch.bool, device=x0.device)  # no rule-2 halving at first
        index = torch.arange(n, device=x0.device)
        return _State(
            index, x0, y, t, x, x, x, unseen, x, x, zeros - np.inf, step, zeros, zeros, halved
        )

    def _move(self, s: _State, a: float) -> torch.Tensor:
        """The next iterate: a steepest-ascent step (the gradient's sign in L-inf, the gradient
        scaled to unit length in L2), projected, mixed with the last move, projected again."""
        direction = s.grad.sign() if self.norm == "linf" else lp_ball.unit(s.grad, "l2")
        z = self._project(s.x + s.step * direction, s.x0)
        return self._project(s.x + a * (z - s.x) + (1 - a) * (s.x - s.prev), s.x0)

    def _project(self, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return lp_ball.project(x, x0, self.eps, self.norm)

    def _settle(self, s: _State, out: torch.Tensor, x: torch.Tensor) -> _State:
        """Evaluate at x (one forward + backward); keep the best iterate; retire the fooled."""
        logits, loss, grad = self._evaluate(x, s.y, s.t)
        s.rises = s.rises + (loss > s.loss).float()
        s.x, s.loss, s.grad = x, loss, grad
        better = loss > s.best_loss
        s.best_x = torch.where(better.view(-1, 1, 1, 1), x, s.best_x)
        s.best_grad = torch.where(better.view(-1, 1, 1, 1), grad, s.best_grad)
        s.best_loss = torch.where(better, loss, s.best_loss)
        fooled = logits.argmax(1) != s.y
        if fooled.any():
            out[s.index[fooled]] = x[fooled]
            s.keep(~fooled)
        return s

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor):
        """Logits (of the last draw), loss (n,) and its input gradient, averaged over eot_iter."""
        model, total_loss, total_grad = self.estimator.model, 0.0, 0.0
        for _ in range(self.eot_iter):
            with torch.enable_grad():
                xg = x.detach().requires_grad_(True)
                logits = model(xg)
                loss = per_sample_loss(self.loss, logits, y, t if self._targeted else None)
                (grad,) = torch.autograd.grad(loss.sum(), xg)
            total_loss, total_grad = total_loss + loss.detach(), total_grad + grad
        mean_grad = torch.nan_to_num(total_grad / self.eot_iter, nan=0.0)
        return logits.detach(), total_loss / self.eot_iter, mean_grad

    def _checkpoint(self, s: _State, k: int) -> None:
        """Halve the step (back to the best iterate) where progress stalled over k steps."""
        stalled = s.rises <= RHO * k
        stuck = ~s.halved_at_check & (s.best_at_check >= s.best_loss)
        halve = stalled | stuck
        s.step = torch.where(halve.view(-1, 1, 1, 1), s.step / 2, s.step)
        s.x = torch.where(halve.view(-1, 1, 1, 1), s.best_x, s.x)
        s.grad = torch.where(halve.view(-1, 1, 1, 1), s.best_grad, s.grad)
        s.halved_at_check, s.best_at_check = halve, s.best_loss.clone()
        s.rises = torch.zeros_like(s.rises)
