"""Adversarial training with ART's trainers, every value passed explicitly in [0, 1] pixel units.

ART's defaults for these trainers assume 0-255 inputs (eps=8, eps_step=2); nothing here relies on
them: each trainer gets eps, step and iterations from the defence's resolved parameters.
Each trainer is driven one epoch at a time so that every hardened model gets the same
per-epoch table (``harness.training.run_epochs``) and weight snapshots as the baseline.
Here: the declarations and their parameter checks; ART's trainers are built in
``harness.defences.art_trainers``, imported when a defence trains (not when it is validated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.attacks import ATTACKS
from harness.attacks.select import names, one_step
from harness.defences.base import HardenJob, defence
from harness.errors import HarnessError
from harness.params import all_of, expect, ints, is_number, numbers
from harness.results import EpochStats
from harness.spec import AttackSpec

if TYPE_CHECKING:
    from torch import nn

KEEP = ("last", "best_pgd")  # which epoch's weights a watched training keeps (overfitting.watch)


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


def check_keep(params: dict[str, Any], where: str) -> None:
    """``keep`` is one of KEEP."""
    keep = params["keep"]
    expect(keep in KEEP, where, "keep", keep, "one of " + ", ".join(KEEP))


# ---------------------------------------------------------------- the defences


@defence(
    "adversarial_training",
    defaults={"attack": "fgsm", "attack_params": {}, "eps": 0.1, "ratio": 0.5, "keep": "last"},
    check=all_of(_eps("eps"), _training_attack, check_keep),
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
    from harness.defences import overfitting
    from harness.defences.art_trainers import at_trainer, fit_epochs

    def fit(j: HardenJob) -> list[EpochStats]:
        return fit_epochs(j, model, at_trainer(j, model), "adversarial training")

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
    from harness.defences.art_trainers import fit_epochs, madry_trainer

    return fit_epochs(job, model, madry_trainer(job, model), "madry pgd")


@defence(
    "fast_fgsm",
    defaults={"eps": 8 / 255, "lr_max": 0.005, "keep": "last"},
    check=all_of(_eps("eps"), numbers(lr_max=0), check_keep),
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
    from harness.defences import overfitting
    from harness.defences.art_trainers import fast_fgsm_epochs

    return overfitting.watch(job, model, lambda j: fast_fgsm_epochs(j, model))


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
    from harness.defences.art_trainers import fit_epochs, trades_trainer

    return fit_epochs(job, model, trades_trainer(job, model), "trades")
