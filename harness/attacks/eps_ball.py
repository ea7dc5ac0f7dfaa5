"""``EpsBall``: a minimal-perturbation ART attack whose result is projected onto the eps ball.

Apart from ``harness.attacks.base`` (the declarations) because it subclasses ART's
``EvasionAttack``: the C&W and DeepFool factories import it when they build an attack.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from art.attacks.attack import EvasionAttack

from harness.attacks.base import project


class EpsBall(EvasionAttack):
    """An ART attack whose adversarial examples are projected onto the eps ball (``project``).

    Wraps minimal-perturbation attacks that have no eps of their own, so that the bound holds
    wherever the attack is used (``generate``, or ART's ``AdversarialTrainer``).
    """

    _estimator_requirements = ()

    def __init__(self, inner: EvasionAttack, eps: float, norm: str) -> None:
        super().__init__(estimator=inner.estimator)
        self.inner, self.eps, self.norm = inner, eps, norm
        self._targeted = inner.targeted

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        return project(x, self.inner.generate(x, y=y, **kwargs), self.eps, self.norm)
