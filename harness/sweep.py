"""The Break phase for one model: clean predictions once, then every attack at every epsilon.

Samples misclassified clean count as broken at every epsilon and are never attacked, so robust
accuracy is over all test samples and attack success rate over the clean-correct ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from art.estimators.classification import PyTorchClassifier
from tqdm.auto import tqdm

from harness import metrics
from harness.attacks import AttackDef, generate
from harness.results import Measurement


@dataclass(frozen=True)
class PlannedAttack:
    definition: AttackDef
    params: dict[str, Any]  # resolved, pixel units

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True)
class CleanEval:
    pred: np.ndarray  # (N,) int64 predicted classes
    probs: np.ndarray  # (N, K) softmax probabilities

    def correct(self, y: np.ndarray) -> np.ndarray:
        return self.pred == y


def clean_eval(classifier: PyTorchClassifier, x: np.ndarray, batch_size: int) -> CleanEval:
    """Predictions on clean inputs, in eval mode (ART's ``predict`` uses ``training_mode=False``)."""
    logits = classifier.predict(x, batch_size=batch_size)
    return CleanEval(pred=logits.argmax(1).astype(np.int64), probs=metrics.softmax(logits))


def sweep(
    model_name: str,
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    clean: CleanEval,
    attacks: Sequence[PlannedAttack],
    eps_list: Sequence[float],
    batch_size: int,
) -> list[Measurement]:
    """Measurements for one model: clean accuracy, then per attack and eps the four attack metrics."""
    rows = [Measurement(model_name, "none", 0.0, "clean_accuracy", metrics.accuracy(clean.pred, y))]
    keep = clean.correct(y)
    x_ok, y_ok = x[keep], y[keep]  # only clean-correct samples are attacked
    steps = [(a, e) for a in attacks for e in eps_list]
    for planned, eps in tqdm(steps, desc=f"attacking {model_name}", leave=False, unit="eps"):
        x_adv = generate(classifier, planned.definition, planned.params, x_ok, y_ok, eps)
        adv_pred = classifier.predict(x_adv, batch_size=batch_size).argmax(1)
        still = adv_pred == y_ok
        linf, l2 = metrics.perturbation_norms(x_ok, x_adv)
        values = {
            "robust_accuracy": metrics.robust_accuracy(still, len(y)),
            "attack_success_rate": metrics.attack_success_rate(still),
            "mean_linf": float(linf.mean()) if len(linf) else 0.0,
            "mean_l2": float(l2.mean()) if len(l2) else 0.0,
        }
        rows += [Measurement(model_name, planned.name, float(eps), k, v) for k, v in values.items()]
    return rows
