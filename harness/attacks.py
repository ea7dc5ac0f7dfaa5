"""Registered attacks: a few lines each on top of ART, parameters in [0, 1] pixel units.

Every attack is built on the harness's ART classifier (``harness.estimator``), always receives
the true labels (ART would otherwise attack the *predicted* label), and eps=0 returns the input
unchanged. Adding an attack is one decorated function here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from art.attacks.evasion import FastGradientMethod
from art.estimators.classification import PyTorchClassifier

from harness.errors import HarnessError
from harness.registry import Registry
from harness.spec import AttackSpec

Factory = Callable[[PyTorchClassifier, float, dict[str, Any]], Any]  # -> ART EvasionAttack


@dataclass(frozen=True)
class AttackDef:
    name: str
    norm: str  # threat model: "linf" or "l2"; eps is measured in this norm, pixel units
    make: Factory
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def resolve(self, spec: AttackSpec, where: str = "attacks") -> dict[str, Any]:
        """The attack's parameters: its defaults updated with the spec's, unknown names refused."""
        for key in spec.params:
            if key not in self.defaults:
                allowed = ", ".join(sorted(self.defaults)) or "none"
                raise HarnessError(
                    f"{where}.{key}: unknown parameter for attack {self.name!r}; expected: {allowed}"
                )
        return {**self.defaults, **spec.params}


ATTACKS: Registry[AttackDef] = Registry("attack")


def attack(
    name: str, *, norm: str, defaults: dict[str, Any] | None = None
) -> Callable[[Factory], Factory]:
    """Decorator registering an attack factory ``(classifier, eps, params) -> ART attack``."""

    def decorate(fn: Factory) -> Factory:
        doc = (fn.__doc__ or "").strip().splitlines()
        ATTACKS.register(name)(
            AttackDef(name, norm, fn, dict(defaults or {}), doc[0] if doc else "")
        )
        return fn

    return decorate


def generate(
    classifier: PyTorchClassifier,
    attack_def: AttackDef,
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
) -> np.ndarray:
    """Adversarial examples for x (N, C, H, W) in [0, 1] with true labels y (N,) int64.

    Returns a new array; ``x`` is never modified. eps=0 returns an unchanged copy.
    """
    if eps == 0 or len(x) == 0:
        return x.copy()
    art_attack = attack_def.make(classifier, float(eps), params)
    x_adv = art_attack.generate(x=x.copy(), y=y)
    return np.clip(x_adv.astype(np.float32), 0.0, 1.0)


# ---------------------------------------------------------------- attacks


@attack("fgsm", norm="linf", defaults={"batch_size": 256})
def fgsm(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """FGSM (Goodfellow et al. 2015, "Explaining and Harnessing Adversarial Examples"), L-inf.

    One step x + eps * sign(grad_x loss(x, y)), clipped to [0, 1]; eps in pixel units; untargeted,
    true labels; batch_size: samples per gradient batch.
    """
    return FastGradientMethod(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=eps,
        targeted=False,
        num_random_init=0,
        batch_size=int(params["batch_size"]),
        minimal=False,
    )
