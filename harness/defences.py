"""Registered hardening methods (the Improve phase).

A defence receives a fresh model and the training data and returns the hardened model's
per-epoch history; the harness then evaluates it with exactly the same sweep as the baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from art.defences.trainer import AdversarialTrainer
from torch import nn

from harness.architectures import Shape
from harness.attacks import ATTACKS
from harness.estimator import build_classifier
from harness.registry import Registry
from harness.results import EpochStats
from harness.spec import AttackSpec, DefenceSpec, TrainSpec
from harness.training import Snapshot, TrainData, run_epochs


@dataclass(frozen=True)
class HardenJob:
    spec: DefenceSpec
    train: TrainSpec
    model: nn.Module  # freshly initialised wrapped model ([0, 1] in, logits out)
    data: TrainData
    input_shape: Shape
    num_classes: int
    seed: int
    snapshot: Snapshot | None = None  # called after each epoch (weight histograms)


Harden = Callable[[HardenJob], list[EpochStats]]


@dataclass(frozen=True)
class DefenceDef:
    name: str
    harden: Harden
    description: str = ""


DEFENCES: Registry[DefenceDef] = Registry("defence")


def defence(name: str) -> Callable[[Harden], Harden]:
    def decorate(fn: Harden) -> Harden:
        doc = (fn.__doc__ or "").strip().splitlines()
        DEFENCES.register(name)(DefenceDef(name, fn, doc[0] if doc else ""))
        return fn

    return decorate


def validate(spec: DefenceSpec) -> None:
    """Check names and attack parameters before any heavy work."""
    DEFENCES.get(spec.name, "defence.name")
    attack_def = ATTACKS.get(spec.attack, "defence.attack")
    attack_def.resolve(AttackSpec(spec.attack, spec.attack_params), "defence.attack_params")


@defence("adversarial_training")
def adversarial_training(job: HardenJob) -> list[EpochStats]:
    """Adversarial training with ART's ``AdversarialTrainer`` (Goodfellow et al. 2015; seed 000, seed 004).

    Each batch has ``ratio`` of its samples replaced by adversarial examples crafted on the current
    model with ``attack`` at ``eps_train`` (pixel units); ratio 0.5 is seed 000's average of clean
    and adversarial loss, ratio 1.0 seed 004's alpha = 0. Adam with the training spec's lr.
    """
    classifier = build_classifier(job.model, job.input_shape, job.num_classes, lr=job.train.lr)
    attack_def = ATTACKS.get(job.spec.attack, "defence.attack")
    params = attack_def.resolve(
        AttackSpec(job.spec.attack, job.spec.attack_params), "defence.attack_params"
    )
    art_attack = attack_def.make(classifier, job.spec.eps_train, params)
    trainer = AdversarialTrainer(classifier, attacks=art_attack, ratio=job.spec.ratio)
    x, y = job.data.x_train, job.data.y_train

    def fit_epoch(epoch: int) -> None:
        trainer.fit(x, y, batch_size=job.train.batch_size, nb_epochs=1)

    return run_epochs(
        job.model, job.data, job.train.epochs, fit_epoch, "adversarial training", job.snapshot
    )
