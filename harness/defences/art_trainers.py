"""ART's adversarial trainers around a harness model, every value from a defence's parameters.

The heavy half of ``harness.defences.trainers`` (which declares the defences and checks their
parameters without importing torch or ART): built here when a defence trains.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from art.attacks.evasion import ProjectedGradientDescent
from art.defences.trainer import (
    AdversarialTrainer,
    AdversarialTrainerFBFPyTorch,
    AdversarialTrainerMadryPGD,
    AdversarialTrainerTRADESPyTorch,
)
from torch import nn

from harness import console, fast_training
from harness.attacks import ATTACKS
from harness.defences.base import HardenJob
from harness.defences.inner_pgd import training_pgd
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.results import EpochStats
from harness.spec import AttackSpec
from harness.training import make_optimizer, make_schedule, run_epochs

ART_TRAINERS = "art.defences.trainer"  # the package whose progress bars console.silenced mutes


class _Whole(nn.Module):
    """``model`` seen as one layer. ART wraps an ``nn.Sequential`` so that it returns every
    layer's output, and its FBF and TRADES steps score accuracy on the *first* one (the normalized
    input here); a single module makes the first output the logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _classifier(job: HardenJob, model: nn.Module, lr: float):
    """The ART classifier a trainer updates: ``model``'s parameters, the training spec's
    optimizer (default Adam) at ``lr``."""
    whole = _Whole(model)
    optimizer = make_optimizer(whole.parameters(), dataclasses.replace(job.train, lr=lr))
    return build_classifier(whole, job.input_shape, job.num_classes, optimizer=optimizer)


def fit_epochs(job: HardenJob, model: nn.Module, trainer: Any, desc: str) -> list[EpochStats]:
    """One ART ``trainer.fit`` call per epoch, measured like the baseline's epochs.

    ART batches and steps inside ``fit``, so the lr schedule moves once per epoch here, and
    ``train.augment`` cannot be applied (refused).
    """
    if job.train.augment != "none":
        raise HarnessError(
            f"{desc}: train.augment: {job.train.augment!r} is not applied by ART's trainers "
            "(they batch internally); give the defence its own train section with augment: none"
        )
    fast_training.refuse_in_art(job.train, desc)
    fast_training.init_from_data(model, job.data.x_train, job.train)
    x, y = job.data.x_train, job.data.y_train
    schedule = make_schedule(trainer.get_classifier().optimizer, job.train, steps_per_epoch=1)

    def fit_epoch(epoch: int) -> None:
        with console.silenced(ART_TRAINERS):  # two bars a call, drawn over the harness's own
            trainer.fit(x, y, batch_size=job.train.batch_size, nb_epochs=1)
        if schedule is not None:
            schedule.step()

    state = {"optimizer": trainer.get_classifier().optimizer, "schedule": schedule}
    return run_epochs(
        model,
        job.data,
        job.train.epochs,
        fit_epoch,
        desc,
        job.snapshot,
        keep=job.train.keep,
        state=state,
    )  # ART draws from the global generators only: a checkpoint saves those


# ---------------------------------------------------------------- trainer factories
# Each builds ART's trainer around ``model`` with every value from the job's pixel-unit params.


def at_trainer(job: HardenJob, model: nn.Module) -> AdversarialTrainer:
    p = job.params
    classifier = _classifier(job, model, job.train.lr)
    definition = ATTACKS.get(p["attack"])
    attack_params = definition.resolve(AttackSpec(definition.name, p["attack_params"]))
    art_attack = definition.make(classifier, p["eps"], attack_params)
    return AdversarialTrainer(classifier, attacks=art_attack, ratio=p["ratio"])


def madry_trainer(
    job: HardenJob, model: nn.Module, art_pgd: bool = False
) -> AdversarialTrainerMadryPGD:
    """ART's Madry trainer; its inner PGD is the harness's loop (``harness.defences.inner_pgd``:
    the same weights, faster) unless ``art_pgd`` keeps ART's own."""
    p = job.params
    trainer = AdversarialTrainerMadryPGD(
        _classifier(job, model, job.train.lr),
        nb_epochs=job.train.epochs,
        batch_size=job.train.batch_size,
        eps=p["eps"],
        eps_step=p["step_size"],
        max_iter=p["steps"],
        num_random_init=p["random_init"],
    )
    trainer.attack.set_params(verbose=False)
    if not art_pgd:
        classifier = trainer.get_classifier()
        steps = (p["eps"], p["step_size"], p["steps"], p["random_init"])
        loop = training_pgd(classifier, *steps, whole_batch=True)  # see inner_pgd: same numbers
        trainer.attack, trainer.trainer = loop, AdversarialTrainer(classifier, loop, ratio=1.0)
    return trainer


def fbf_trainer(job: HardenJob, model: nn.Module) -> AdversarialTrainerFBFPyTorch:
    p = job.params
    return AdversarialTrainerFBFPyTorch(_classifier(job, model, p["lr_max"]), eps=p["eps"])


def trades_trainer(
    job: HardenJob, model: nn.Module, art_pgd: bool = False
) -> AdversarialTrainerTRADESPyTorch:
    """ART's TRADES trainer; its inner PGD (one random start, batches of the training batch) is
    the harness's loop (``harness.defences.inner_pgd``) unless ``art_pgd`` keeps ART's own."""
    p = job.params
    classifier = _classifier(job, model, job.train.lr)
    size = job.train.batch_size
    if art_pgd:
        pgd = ProjectedGradientDescent(
            classifier,
            eps=p["eps"],
            eps_step=p["step_size"],
            max_iter=p["steps"],
            num_random_init=1,
            batch_size=size,
            verbose=False,
        )
    else:
        pgd = training_pgd(classifier, p["eps"], p["step_size"], p["steps"], 1, size)
    return AdversarialTrainerTRADESPyTorch(classifier, pgd, beta=p["beta"])


def cyclic_lr(step: float, epochs: int, lr_max: float) -> float:
    """Wong et al. 2020's triangle: 0 -> lr_max at 2/5 of training -> 0 (``step`` in epochs)."""
    return float(np.interp(step, [0, epochs * 2 // 5, epochs], [0, lr_max, 0]))


def fast_fgsm_epochs(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """Wong et al.'s training loop around ART's FBF batch step, the lr from ``cyclic_lr`` per batch."""
    trainer, lr_max = fbf_trainer(job, model), job.params["lr_max"]
    x = job.data.x_train
    y = np.eye(job.num_classes, dtype=np.float32)[job.data.y_train]  # ART's fit does this first
    epochs, size = job.train.epochs, job.train.batch_size
    n_batches = int(np.ceil(len(x) / size))
    rng = np.random.default_rng(job.seed)

    def fit_epoch(epoch: int) -> None:
        order = rng.permutation(len(x))
        for b in range(n_batches):
            idx = order[b * size : (b + 1) * size]
            lr = cyclic_lr(epoch - 1 + (b + 1) / n_batches, epochs, lr_max)
            trainer._batch_process(x[idx], y[idx], lr)  # ART's FBF step (random start, 1.25 eps)

    state = {"optimizer": trainer.get_classifier().optimizer, "order": rng}
    return run_epochs(model, job.data, epochs, fit_epoch, "fast fgsm", job.snapshot, state=state)
