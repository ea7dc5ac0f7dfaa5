"""FGSM: one signed-gradient step (Goodfellow et al. 2015)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks.base import TARGETING, attack, attack_labels, targeting
from harness.params import all_of, ints

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

    from harness.attacks.keyed import SampleKeys


def fgsm_direction(
    classifier: PyTorchClassifier,
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    keys: SampleKeys | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(logits (n, K) at x, sign(grad_x loss) (n, C, H, W)) per sample, in ART FGSM's own batches;
    the sign is negated when targeted.

    FGSM's step does not depend on eps, so a sweep computes it once; x + eps * direction clipped
    to [0, 1] is then exactly ART's ``FastGradientMethod`` output at that eps. The gradient is
    ART's loss gradient, taken with respect to the input only (``batched_input_gradient``); the
    logits are those of the forward pass the gradient needed, so a sweep's eps-0 (clean)
    predictions cost no forward pass of their own. ``keys``: the samples' keys, which pick
    random targets.
    """
    from harness.attacks.gradient import batched_input_gradient

    labels = attack_labels(params, y, classifier.nb_classes, keys)
    sign = -1.0 if params["targeted"] else 1.0
    logits, grad = batched_input_gradient(classifier, x, labels, int(params["batch_size"]))
    return logits, np.sign(grad * sign).astype(np.float32)


@attack(
    "fgsm",
    norm="linf",
    defaults={"batch_size": 256, **TARGETING},
    check=all_of(ints(batch_size=1), targeting),
    sweep="one_step",
    direction=fgsm_direction,
    iterative=False,
    naive=True,
    draws="per_sample",  # one gradient step; random targets come from each sample's key
)
def fgsm(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """FGSM (Goodfellow et al. 2015, "Explaining and Harnessing Adversarial Examples"), L-inf.

    One step x + eps * sign(grad_x loss(x, y)), clipped to [0, 1]; with targeted true, one step
    *down* the loss of the target class (``attack_labels``).
    Paper: Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572.
    Norm: L-inf; eps in pixel units.
    Arguments: batch_size (256): samples per gradient batch; targeted (false), target (null:
    class index or "random"), seed (0): see ``attack_labels``.
    Input: pixels in [0, 1]; true labels (or the targets).
    """
    from art.attacks.evasion import FastGradientMethod

    return FastGradientMethod(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=eps,
        targeted=bool(params["targeted"]),
        num_random_init=0,
        batch_size=int(params["batch_size"]),
        minimal=False,
    )
