"""DeepFool (Moosavi-Dezfooli et al. 2016): a minimal-perturbation attack, projected on the L2 ball."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.attacks.base import attack
from harness.params import all_of, ints, numbers

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


@attack(
    "deepfool",
    norm="l2",
    defaults={"max_iter": 50, "overshoot": 1e-6, "nb_grads": 10, "batch_size": 128},
    check=all_of(ints(max_iter=1, nb_grads=1, batch_size=1), numbers(overshoot=0)),
    sweep="project_once",
    minimal=True,
    draws="none",
)
def deepfool(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """DeepFool (Moosavi-Dezfooli et al. 2016, "DeepFool: a simple and accurate method ..."), L2.

    Minimal-perturbation attack: repeatedly steps to the nearest linearised decision boundary
    among the nb_grads most likely classes until the prediction changes, then scales the total
    perturbation by 1 + overshoot. It has no eps; the harness projects its result onto the L2
    ball of radius eps (``project``).
    Paper: Moosavi-Dezfooli, Fawzi, Frossard 2016, arXiv:1511.04599.
    Norm: L2 over all C*H*W pixels; eps in pixel units.
    Arguments: max_iter (50); overshoot (1e-6, ART's ``epsilon`` and default; the paper uses
    0.02, but ART applies it once, after the prediction has changed); nb_grads (10: classes
    whose gradients are computed, all of them for up to 10 classes); batch_size (128).
    Input: pixels in [0, 1]. Attacks the *predicted* label (ART ignores y); the harness only
    attacks clean-correct samples, where that is the true label.
    """
    from art.attacks.evasion import DeepFool

    from harness.attacks.eps_ball import EpsBall

    inner = DeepFool(
        classifier,
        max_iter=int(params["max_iter"]),
        epsilon=float(params["overshoot"]),
        nb_grads=int(params["nb_grads"]),
        batch_size=int(params["batch_size"]),
        verbose=False,
    )
    return EpsBall(inner, eps, "l2")
