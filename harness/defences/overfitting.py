"""Watching FGSM-based training for catastrophic overfitting (Wong et al. 2020, §5).

Training on single-step (FGSM) examples can collapse within an epoch: the model learns to
defeat the one step it is trained on while its accuracy under a multi-step PGD attack falls to
near zero. Wong et al. ("Fast is better than free", 2020) evaluate PGD on a minibatch after
every epoch and stop when that accuracy drops. Here every epoch of an FGSM-based defence gets
its PGD and FGSM accuracy on a held-out minibatch (the first ``SAMPLES`` of the validation split,
or of the training set when there is none) at the training eps, recorded in the training table
(``EpochStats.pgd_acc``/``fgsm_acc``) and graded by ``harness.overfitting``.

By default the weights are left as training made them (the numbers of every shipped spec stay
the same); a defence given ``keep: best_pgd`` ends with the weights of its epoch of highest PGD
accuracy. The PGD here draws its random start from its own generator and runs in eval mode
without touching parameter gradients, so watching changes nothing about training.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from harness import epoch_checkpoints
from harness.defences.base import HardenJob
from harness.modes import evaluating
from harness.results import EpochStats

SAMPLES = 256  # the held-out minibatch (Wong et al. use one batch)
PGD_STEPS = 10
PGD_STEP_RATIO = 0.25  # step = eps / 4 (Wong et al.: 2/255 at eps 8/255)


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean()) if len(y) else float("nan")


def _step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Sign of the input gradient of the cross-entropy at x + delta (parameters untouched)."""
    delta = delta.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x + delta), y)
    (grad,) = torch.autograd.grad(loss, delta)
    return grad.sign()


def fgsm_pgd_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, seed: int
) -> tuple[float, float]:
    """(PGD accuracy, FGSM accuracy) of ``model`` on x (N, C, H, W) in [0, 1] at L-inf ``eps``:
    PGD_STEPS steps of eps * PGD_STEP_RATIO from a uniform random start (drawn from a generator
    seeded with ``seed``), projected on the eps ball and [0, 1]; FGSM one step of eps from x."""
    with evaluating(model):
        fgsm = (x + eps * _step(model, x, y, torch.zeros_like(x))).clamp(0, 1)
        g = torch.Generator(device=x.device).manual_seed(seed)
        delta = (torch.rand(x.shape, generator=g, device=x.device) * 2 - 1) * eps
        delta = (x + delta).clamp(0, 1) - x
        for _ in range(PGD_STEPS):
            delta = delta + eps * PGD_STEP_RATIO * _step(model, x, y, delta)
            delta = (x + delta.clamp(-eps, eps)).clamp(0, 1) - x
        return _accuracy(model, x + delta, y), _accuracy(model, fgsm, y)


class Watch:
    """PGD and FGSM accuracy after every epoch; the weights of the best PGD epoch if asked."""

    def __init__(self, job: HardenJob, model: nn.Module, eps: float, keep: str) -> None:
        data = job.data
        x, y = (data.x_val, data.y_val) if len(data.y_val) else (data.x_train, data.y_train)
        device = next(model.parameters(), torch.zeros(0)).device
        self.x = torch.from_numpy(x[:SAMPLES]).to(device)
        self.y = torch.from_numpy(y[:SAMPLES]).to(device)
        self.eps, self.seed, self.keep = eps, job.seed, keep
        self.scores: dict[int, tuple[float, float]] = {}
        self.best: tuple[float, int, Any] = (-1.0, 0, None)  # (pgd acc, epoch, weights)

    def after_epoch(self, epoch: int, model: nn.Module) -> None:
        pgd, fgsm = fgsm_pgd_accuracy(model, self.x, self.y, self.eps, self.seed + epoch)
        self.scores[epoch] = (pgd, fgsm)
        if self.keep == "best_pgd" and pgd > self.best[0]:
            self.best = (pgd, epoch, copy.deepcopy(model.state_dict()))

    def state_dict(self) -> dict[str, Any]:
        """The epochs' accuracies and the best PGD epoch's weights, for a training checkpoint."""
        return {"scores": self.scores, "best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scores, self.best = dict(state["scores"]), tuple(state["best"])

    def finish(self, model: nn.Module, history: list[EpochStats]) -> list[EpochStats]:
        """The history with each epoch's accuracies; with ``best_pgd``, that epoch's weights."""
        out = [
            dataclasses.replace(
                e, pgd_acc=self.scores[e.epoch][0], fgsm_acc=self.scores[e.epoch][1]
            )
            if e.epoch in self.scores
            else e
            for e in history
        ]
        if self.keep != "best_pgd" or self.best[2] is None:
            return out
        model.load_state_dict(self.best[2])
        return [dataclasses.replace(e, kept=e.epoch == self.best[1]) for e in out]


def watch(
    job: HardenJob, model: nn.Module, fit: Callable[[HardenJob], list[EpochStats]]
) -> list[EpochStats]:
    """Run ``fit(job)`` with PGD/FGSM accuracy measured after every epoch at the defence's eps
    (before the job's own snapshot), then apply ``keep`` ("last" or "best_pgd")."""
    w = Watch(job, model, float(job.params["eps"]), job.params.get("keep", "last"))
    epoch_checkpoints.track("overfitting_watch", w)
    inner = job.snapshot

    def snapshot(epoch: int, m: nn.Module) -> None:
        w.after_epoch(epoch, model)
        if inner is not None:
            inner(epoch, m)

    history = fit(dataclasses.replace(job, snapshot=snapshot))
    return w.finish(model, history)
