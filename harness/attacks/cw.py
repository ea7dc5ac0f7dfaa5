"""Carlini & Wagner's minimal-perturbation attacks (2017), L2 and L-inf, projected on the eps ball."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.attacks.base import attack
from harness.params import all_of, fractions, ints, numbers

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


@attack(
    "cw_l2",
    norm="l2",
    defaults={
        "confidence": 0.0,
        "learning_rate": 0.01,
        "binary_search_steps": 5,
        "max_iter": 50,
        "initial_const": 0.01,
        "batch_size": 128,
    },
    check=all_of(
        ints(binary_search_steps=1, max_iter=1, batch_size=1),
        numbers(confidence=0, learning_rate=0, initial_const=0),
    ),
    sweep="project_once",
    minimal=True,
    draws="none",  # no random numbers: binary search and gradient steps only
)
def cw_l2(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """C&W L2 (Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural Networks"), L2.

    Minimal-perturbation attack: Adam in tanh space on ||delta||_2^2 + c * max(z_y - max_{k!=y}
    z_k, -confidence), with a binary search over c. It has no eps; the harness projects its
    result onto the L2 ball of radius eps (``project``), so a perturbation longer than eps is
    scaled back and may stop fooling the model.
    Paper: Carlini & Wagner 2017, arXiv:1608.04644.
    Norm: L2 over all C*H*W pixels; eps in pixel units.
    Arguments: confidence (0, logit margin); learning_rate (0.01, in tanh space);
    binary_search_steps (5; ART's default 10, halved for speed); max_iter (50 Adam steps per
    search step); initial_const (0.01); batch_size (128); ART's learning-rate line search pinned
    to 5 halvings / 5 doublings.
    Input: pixels in [0, 1]; untargeted, true labels.
    """
    from art.attacks.evasion import CarliniL2Method

    from harness.attacks.eps_ball import EpsBall

    inner = CarliniL2Method(
        classifier,
        confidence=float(params["confidence"]),
        targeted=False,
        learning_rate=float(params["learning_rate"]),
        binary_search_steps=int(params["binary_search_steps"]),
        max_iter=int(params["max_iter"]),
        initial_const=float(params["initial_const"]),
        max_halving=5,
        max_doubling=5,
        batch_size=int(params["batch_size"]),
        verbose=False,
    )
    return EpsBall(inner, eps, "l2")


@attack(
    "cw_linf",
    norm="linf",
    defaults={
        "confidence": 0.0,
        "learning_rate": 0.01,
        "max_iter": 10,
        "decrease_factor": 0.9,
        "initial_const": 1e-5,
        "largest_const": 20.0,
        "const_factor": 2.0,
        "batch_size": 128,
    },
    check=all_of(
        ints(max_iter=1, batch_size=1),
        numbers(confidence=0, learning_rate=0, initial_const=0, largest_const=0, const_factor=1),
        fractions("decrease_factor"),
    ),
    sweep="project_once",
    minimal=True,
    draws="none",  # no random numbers: binary search and gradient steps only
)
def cw_linf(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """C&W L-inf (Carlini & Wagner 2017), L-inf: shrinking bound tau with a penalty on |delta| > tau.

    Minimal-perturbation attack, one sample at a time: tau starts at 1.0 (the whole [0, 1]
    range) and shrinks by decrease_factor while the attack still succeeds, down to 1/256; for
    each tau, c grows from initial_const by const_factor up to largest_const, each with max_iter
    Adam steps. ART 1.20.1's CarliniLInfMethod has no eps argument, so the harness clips its
    result to [x - eps, x + eps] (``project``). Slow: about log2(largest_const / initial_const)
    * max_iter * 3 passes per sample and tau.
    Paper: Carlini & Wagner 2017, arXiv:1608.04644.
    Norm: L-inf; eps in pixel units.
    Arguments: confidence (0, logit margin); learning_rate (0.01, tanh space); max_iter (10);
    decrease_factor (0.9); initial_const (1e-5); largest_const (20); const_factor (2);
    batch_size (128, prediction batches only).
    Input: pixels in [0, 1]; untargeted, true labels.
    """
    from art.attacks.evasion import CarliniLInfMethod

    from harness.attacks.eps_ball import EpsBall

    inner = CarliniLInfMethod(
        classifier,
        confidence=float(params["confidence"]),
        targeted=False,
        learning_rate=float(params["learning_rate"]),
        max_iter=int(params["max_iter"]),
        decrease_factor=float(params["decrease_factor"]),
        initial_const=float(params["initial_const"]),
        largest_const=float(params["largest_const"]),
        const_factor=float(params["const_factor"]),
        batch_size=int(params["batch_size"]),
        verbose=False,
    )
    return EpsBall(inner, eps, "linf")
