"""Adversarial training with ART's trainers, every value passed explicitly in [0, 1] pixel units.

ART's defaults for these trainers assume 0-255 inputs (eps=8, eps_step=2); nothing here relies on
them: each trainer gets eps, step and iterations from the defence's resolved parameters.
Each trainer is driven one epoch at a time so that every hardened model gets the same
per-epoch table (``harness.training.run_epochs``) and weight snapshots as the baseline.
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

from harness import console
from harness.attacks import ATTACKS
from harness.attacks.select import names, one_step
from harness.defences import overfitting
from harness.defences.base import HardenJob, defence
from harness.defences.inner_pgd import training_pgd
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.params import all_of, expect, ints, is_number, numbers
from harness.results import EpochStats
from harness.spec import AttackSpec
from harness.training import make_optimizer, make_schedule, run_epochs

ART_TRAINERS = "art.defences.trainer"  # the package whose progress bars console.silenced mutes


def _eps(*keys: str):
    """Each named parameter is an L-inf radius in pixel units: 0 < value <= 1."""

    def check(params: dict[str, Any], where: str) -> None:
        for key in keys:
            value = params[key]
            ok = is_number(value) and 0 < value <= 1
            expect(ok, where, key, value, "a pixel-unit value in (0, 1] (e.g. 8/255, not 8)")

    return check


EVALUATION_ONLY = ("early_stop", "warm_start")  # attack params that shorten or reuse a sweep's work


def _training_attack(params: dict[str, Any], where: str) -> None:
    # a transfer attack needs a second model of the run; training has only the one it trains
    usable = names(lambda d: not d.transfer)
    if params["attack"] not in usable:
        raise HarnessError(
            f"{where}.attack: expected a registered attack ({', '.join(usable)}), got {params['attack']!r}"
        )
    expect(isinstance(params["attack_params"], dict), where, "attack_params", params, "a mapping")
    definition = ATTACKS.get(params["attack"])
    resolved = definition.resolve(
        AttackSpec(definition.name, params["attack_params"]), f"{where}.attack_params"
    )
    for key in EVALUATION_ONLY:  # a training example must take every step it is given
        if resolved.get(key):
            raise HarnessError(
                f"{where}.attack_params.{key}: expected false or absent; {key} is for evaluation "
                "sweeps, not for crafting training examples"
            )
    ratio = params["ratio"]
    expect(is_number(ratio) and 0 < ratio <= 1, where, "ratio", ratio, "a fraction in (0, 1]")


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


def _fit_epochs(job: HardenJob, model: nn.Module, trainer: Any, desc: str) -> list[EpochStats]:
    """One ART ``trainer.fit`` call per epoch, measured like the baseline's epochs.

    ART batches and steps inside ``fit``, so the lr schedule moves once per epoch here, and
    ``train.augment`` cannot be applied (refused).
    """
    if job.train.augment != "none":
        raise HarnessError(
            f"{desc}: train.augment: {job.train.augment!r} is not applied by ART's trainers "
            "(they batch internally); give the defence its own train section with augment: none"
        )
    x, y = job.data.x_train, job.data.y_train
    schedule = make_schedule(trainer.get_classifier().optimizer, job.train, steps_per_epoch=1)

    def fit_epoch(epoch: int) -> None:
        with console.silenced(ART_TRAINERS):  # two bars a call, drawn over the harness's own
            trainer.fit(x, y, batch_size=job.train.batch_size, nb_epochs=1)
        if schedule is not None:
            schedule.step()

    return run_epochs(
        model, job.data, job.train.epochs, fit_epoch, desc, job.snapshot, keep=job.train.keep
    )


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


# ---------------------------------------------------------------- the defences


@defence(
    "adversarial_training",
    defaults={"attack": "fgsm", "attack_params": {}, "eps": 0.1, "ratio": 0.5, "keep": "last"},
    check=all_of(_eps("eps"), _training_attack, overfitting.check_keep),
)
def adversarial_training(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """Adversarial training with ART's ``AdversarialTrainer`` (Goodfellow et al. 2015; seeds 000, 004).

    Each batch has ``ratio`` of its samples replaced by adversarial examples crafted on the
    current model with ``attack`` (any registered attack, its own ``attack_params``) at ``eps``
    (pixel units); ratio 0.5 is seed 000's average of clean and adversarial loss, 1.0 seed 004's
    alpha = 0. Adam with the training spec's lr. With a one-step attack (FGSM) every epoch's PGD
    accuracy is recorded (catastrophic overfitting, ``harness.defences.overfitting``);
    ``keep``: "last" or "best_pgd", the epoch of highest PGD accuracy.
    """

    def fit(j: HardenJob) -> list[EpochStats]:
        return _fit_epochs(j, model, at_trainer(j, model), "adversarial training")

    watched = one_step(ATTACKS.get(job.params["attack"])) or job.params["keep"] != "last"
    return overfitting.watch(job, model, fit) if watched else fit(job)


@defence(
    "madry_pgd",
    defaults={"eps": 8 / 255, "step_size": 2 / 255, "steps": 7, "random_init": 1},
    check=all_of(_eps("eps", "step_size"), ints(steps=1, random_init=0)),
)
def madry_pgd(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """PGD adversarial training with ART's ``AdversarialTrainerMadryPGD`` (Madry et al. 2018).

    Every training sample is replaced by a PGD example: ``steps`` steps of ``step_size`` in the
    L-inf ball of radius ``eps`` (pixel units; defaults 8/255, 2/255, 7, Madry's CIFAR-10
    setting), ``random_init`` random starts. Adam with the training spec's lr.
    """
    return _fit_epochs(job, model, madry_trainer(job, model), "madry pgd")


def cyclic_lr(step: float, epochs: int, lr_max: float) -> float:
    """Wong et al. 2020's triangle: 0 -> lr_max at 2/5 of training -> 0 (``step`` in epochs)."""
    return float(np.interp(step, [0, epochs * 2 // 5, epochs], [0, lr_max, 0]))


@defence(
    "fast_fgsm",
    defaults={"eps": 8 / 255, "lr_max": 0.005, "keep": "last"},
    check=all_of(_eps("eps"), numbers(lr_max=0), overfitting.check_keep),
)
def fast_fgsm(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """ "Fast is better than free" (Wong et al. 2020) with ART's ``AdversarialTrainerFBFPyTorch``.

    ART's batch step: a uniform random start in the L-inf ball of radius ``eps``, one FGSM step of
    1.25 eps (ART's fixed ratio: 0.375 at eps 0.3), projection, a training step on the result.
    The cyclic learning rate is driven here per batch, 0 -> ``lr_max`` -> 0 over the training
    spec's epochs, on Adam (Wong et al.'s MNIST setting: Adam, lr_max 5e-3); ART's own ``fit``
    fixes the peak at 0.21 for SGD on CIFAR-10 and restarts the cycle at every call. Every
    epoch's PGD accuracy is recorded; ``keep``: "last" or "best_pgd" (Wong et al.'s early stop).
    """
    return overfitting.watch(job, model, lambda j: _fast_fgsm(j, model))


def _fast_fgsm(job: HardenJob, model: nn.Module) -> list[EpochStats]:
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

    return run_epochs(model, job.data, epochs, fit_epoch, "fast fgsm", job.snapshot)


@defence(
    "trades",
    defaults={"eps": 8 / 255, "step_size": 2 / 255, "steps": 10, "beta": 6.0},
    check=all_of(_eps("eps", "step_size"), ints(steps=1), numbers(beta=0)),
)
def trades(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """TRADES (Zhang et al. 2019) with ART's ``AdversarialTrainerTRADESPyTorch``.

    Loss: cross-entropy on clean inputs + ``beta`` x KL(clean || adversarial) outputs, the
    adversarial inputs crafted by PGD (``steps`` x ``step_size`` in the L-inf ball ``eps``, one
    random start, pixel units). ART crafts them with cross-entropy PGD, not the paper's KL
    maximisation. Adam with the training spec's lr.
    """
    return _fit_epochs(job, model, trades_trainer(job, model), "trades")
