"""An attack as the plan resolved it: its definition, its parameters in pixel units, the label
its results are named by, the run's seed (its samples' random keys) and, for a transfer attack,
the surrogate it is crafted on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks import generate
from harness.attacks.base import ATTACKS, AttackDef
from harness.attacks.keyed import SampleKeys

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
    seed: int = 0  # the run's seed: with the attack's name and seed, its samples' random keys

    @property
    def name(self) -> str:
        return self.label or self.definition.name

    @property
    def targeted(self) -> bool:
        return bool(self.params.get("targeted", False))

    def keys(self, index: np.ndarray) -> SampleKeys:
        """The random keys of the samples with test indices ``index`` for this attack."""
        return SampleKeys.of(self.seed, self.name, int(self.params.get("seed", 0)), index)

    @property
    def per_sample(self) -> bool:
        """Whether its numbers are independent of how the samples were cut into batches: it
        draws nothing, or draws from each sample's key (a transfer: as the attack it wraps)."""
        d = self.definition
        if d.draws == "base":
            d = ATTACKS.get(str(self.params["attack"]))
        return d.draws in ("none", "per_sample")

    def craft(
        self,
        classifier: PyTorchClassifier,
        x: np.ndarray,
        y: np.ndarray,
        eps: float,
        keys: SampleKeys | None = None,
    ) -> np.ndarray:
        """Adversarial examples against ``classifier`` (crafted on the surrogate for transfer)."""
        crafter = classifier if self.surrogate is None else self.surrogate
        return generate(crafter, self.definition, self.params, x, y, eps, keys)
