"""An attack as the plan resolved it: its definition, its parameters in pixel units, the label
its results are named by and, for a transfer attack, the surrogate it is crafted on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks import generate
from harness.attacks.base import AttackDef

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


@dataclass(frozen=True)
class PlannedAttack:
    definition: AttackDef
    params: dict[str, Any]  # resolved, pixel units
    label: str = ""  # the spec's label; results are named by it
    surrogate: PyTorchClassifier | None = (
        None  # transfer: craft on this model, evaluate on the target
    )

    @property
    def name(self) -> str:
        return self.label or self.definition.name

    @property
    def targeted(self) -> bool:
        return bool(self.params.get("targeted", False))

    def craft(
        self, classifier: PyTorchClassifier, x: np.ndarray, y: np.ndarray, eps: float
    ) -> np.ndarray:
        """Adversarial examples against ``classifier`` (crafted on the surrogate for transfer)."""
        crafter = classifier if self.surrogate is None else self.surrogate
        return generate(crafter, self.definition, self.params, x, y, eps)
