"""PGD's gradient loop kept on the model's device: ART's ``ProjectedGradientDescentPyTorch``,
step for step, without its per-step overhead.

Where ART's PyTorch PGD spends time beyond the model (profiled on CIFAKE, PGD-10, 2 threads):
``loss_gradient`` back-propagates into every weight (``loss.backward()``) when only the input's
gradient is needed; each step's projection broadcasts eps to a full (N, C*H*W) float64 numpy
array, checks it and copies it to a tensor; a NaN check syncs every step; and ``generate`` ends
with two extra forward passes over all inputs only to log a success rate. This loop computes
``torch.autograd.grad`` of the estimator's loss with respect to the input alone and does the
same arithmetic on tensors that stay where the model is, so the iterates are ART's (identical
without a random start: tests/test_pgd_loop.py). Random starts: given the samples' ``keys`` (the
sweep's), each sample's start comes from its own key (``harness.attacks.keyed.ball_start``), so
it does not depend on the batch it sits in; without keys they are drawn by ART's own
``random_sphere`` from numpy's global generator, in ART's order.

``early_stop`` (evaluation only): a sample the model already misclassifies (hits the target,
when targeted) at the current iterate takes no more steps and keeps that iterate. The forward
pass the gradient needs tells this at no extra cost. ``x_init`` (warm starts, harness.sweep)
replaces the first start of every sample.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier
from art.utils import check_and_transform_label_format, random_sphere

from harness import device, oom
from harness.attacks.gradient import eval_mode, loss_gradient
from harness.attacks.keyed import SampleKeys, ball_start


class PGDLoop(EvasionAttack):
    """Projected gradient descent in L-inf or L2 (Madry et al. 2018) on an ART PyTorch classifier.

    Arguments as ART's ``ProjectedGradientDescentPyTorch`` (pixel units): norm (np.inf or 2),
    eps, eps_step, max_iter, targeted, num_random_init (0: start at x), batch_size; plus
    early_stop (see the module docstring). Without momentum, random eps or masks.
    """

    attack_params: ClassVar[list[str]] = [
        *EvasionAttack.attack_params,
        *("norm", "eps", "eps_step", "max_iter", "num_random_init", "batch_size", "early_stop"),
    ]
    _estimator_requirements = ()
    takes_keys = True  # harness.attacks.generate hands it the samples' SampleKeys

    def __init__(
        self,
        estimator: PyTorchClassifier,
        *,
        norm: float,
        eps: float,
        eps_step: float,
        max_iter: int,
        targeted: bool = False,
        num_random_init: int = 0,
        batch_size: int = 256,
        early_stop: bool = False,
    ) -> None:
        super().__init__(estimator=estimator)
        self.norm, self.eps, self.eps_step = norm, float(eps), float(eps_step)
        self.max_iter, self.num_random_init = int(max_iter), int(num_random_init)
        self.batch_size, self.early_stop = int(batch_size), bool(early_stop)
        self._targeted = bool(targeted)

    def generate(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        x_init: np.ndarray | None = None,
        keys: SampleKeys | None = None,
        **_: Any,
    ) -> np.ndarray:
        """Adversarial examples (N, C, H, W) float32 for x in [0, 1]; y: labels (indices or
        one-hot; the targets when targeted; None: the model's predictions, as ART).
        ``x_init``: starting points (already inside the eps ball) instead of x or a random start.
        ``keys``: the samples' random keys (random starts per sample), else numpy's generator.
        """
        labels = self._labels(x, y)
        dev = device.of(self.estimator.model)
        if not len(x):
            return x.astype(np.float32)
        inputs: list[Any] = [x, labels, np.zeros(len(x)) if x_init is None else x_init]
        inputs.append(np.zeros(len(x)) if keys is None else keys)
        given = x_init is not None, keys is not None
        batch = lambda xb, lb, ib, kb: self._batch(  # noqa: E731
            xb, lb, ib if given[0] else None, kb if given[1] else None, dev
        )
        with eval_mode(self.estimator):  # as ART's loss_gradient(training_mode=False)
            # out of memory on an accelerator: that batch again at half the size (harness.oom)
            batches = oom.batches_for(self.estimator, dev)  # gradients share one halving state
            return batches.run("loss_gradient", batch, inputs, self.batch_size)

    def _labels(self, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        """Class indices (N,) int64 the loss is taken against (ART's ``_set_targets``)."""
        if y is None:
            if self.targeted:
                raise ValueError("targeted PGD needs the target classes as y")
            return self.estimator.predict(x, batch_size=self.batch_size).argmax(1)
        onehot = check_and_transform_label_format(y, nb_classes=self.estimator.nb_classes)
        return np.argmax(onehot, axis=1).astype(np.int64)

    def _batch(self, x, labels, x_init, keys: SampleKeys | None, dev: torch.device) -> np.ndarray:
        """One batch: every start in turn; a later start replaces a sample only where it succeeds."""
        x0 = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(dev)
        yb = torch.from_numpy(labels).to(dev)
        start = None if x_init is None else torch.from_numpy(x_init.astype(np.float32))
        adv = self._run(x0, yb, self._start(x0, keys, 0) if start is None else start.to(dev))
        for restart in range(1, self.num_random_init):
            again = self._run(x0, yb, self._start(x0, keys, restart))
            hit = self._success(again, x0, yb)  # ART's compute_success_array
            adv[hit] = again[hit]
        return adv.cpu().numpy()

    def _run(self, x0: torch.Tensor, y: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """``max_iter`` steps from ``start``, projected each step."""
        adv = start.clone()
        active = torch.arange(len(x0), device=x0.device)  # samples still stepping (early_stop)
        for _ in range(self.max_iter):
            xa, xo, ya = (
                (adv, x0, y) if len(active) == len(x0) else (adv[active], x0[active], y[active])
            )
            logits, grad = self._gradient(xa, ya)
            if self.early_stop:
                going = ~self._hits(logits, ya)
                if not going.all():
                    active, xa, xo, ya, grad = (t[going] for t in (active, xa, xo, ya, grad))
                    if not len(active):
                        break
            stepped = self._project(self._step(xa, grad), xo)
            if len(active) == len(x0):
                adv = stepped
            else:
                adv[active] = stepped
        return adv

    def _start(self, x0: torch.Tensor, keys: SampleKeys | None, restart: int) -> torch.Tensor:
        """x0, or with random starts a point drawn uniformly in the ball: from each sample's key
        (restart ``restart`` of its sequence), else ART's ``random_sphere``."""
        if self.num_random_init == 0:
            return x0
        if keys is not None:
            norm = "linf" if self.norm == np.inf else "l2"
            noise = ball_start(keys, self.eps, norm, tuple(x0.shape[1:]), restart)
        else:
            n, m = len(x0), int(np.prod(x0.shape[1:]))
            noise = random_sphere(n, m, self.eps, self.norm).reshape(x0.shape).astype(np.float32)
        return (x0 + torch.from_numpy(noise).to(x0.device)).clamp(0.0, 1.0)

    def _gradient(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits at x and the loss gradient (its negative when targeted) with respect to x."""
        logits, grad = loss_gradient(self.estimator, x, y)
        return logits, -grad if self.targeted else grad

    def _hits(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(n,) bool: already adversarial (target class when targeted, else not the label)."""
        pred = logits.argmax(1)
        return pred == y if self.targeted else pred != y

    def _step(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """x + eps_step * direction, clipped to [0, 1]; direction sign(g) (L-inf) or g / ||g||_2."""
        step = torch.tensor(self.eps_step, dtype=torch.float32, device=x.device)
        if self.norm == np.inf:  # in place on sign's fresh tensor: one pass less, no temporaries
            return grad.sign().mul_(step).add_(x).clamp_(0.0, 1.0)
        flat = grad.reshape(len(grad), -1)
        q = torch.linalg.norm(flat, ord=2, dim=1, keepdim=True)
        direction = (flat.abs() * q.where(q == 0, 1 / q)).reshape(grad.shape) * grad.sign()
        return (x + step * direction).clamp(0.0, 1.0)

    def _project(self, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """x0 + (x - x0) projected onto the eps ball: clipped (L-inf) or rescaled (L2); ``x``
        (the step's fresh output) is overwritten."""
        if self.norm == np.inf:
            return x.sub_(x0).clamp_(-self.eps, self.eps).add_(x0)
        delta = x - x0
        flat = delta.reshape(len(delta), -1)
        size = torch.linalg.norm(flat, ord=2, dim=1, keepdim=True).double()  # ART: float64
        scale = size.where(size == 0, torch.clamp(self.eps / size, max=1.0))
        return (flat.double() * scale).float().reshape(delta.shape) + x0

    @torch.no_grad()
    def _success(self, adv: torch.Tensor, x0: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Where ``adv`` succeeds: the target class, or (untargeted) not the clean prediction."""
        pred = self.estimator.model(adv).argmax(1)
        return pred == y if self.targeted else pred != self.estimator.model(x0).argmax(1)
