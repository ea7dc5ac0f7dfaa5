"""A brand-new attack in exactly one file, as a contributor would add it (the decorator only).

Importing this module registers ``momentum_pgd``; ``tests/test_new_attack.py`` imports it inside
a fixture, against a copy of the registry, so no other test sees it. Nothing else is edited: the
declaration below (iterative, white-box, L-inf, effort ``steps``) is what puts it into the
sanity checks' comparisons and the app's choices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from art.attacks.evasion import ProjectedGradientDescentPyTorch
from art.estimators.classification import PyTorchClassifier

from harness.attacks.base import attack
from harness.params import all_of, ints, numbers


@attack(
    "momentum_pgd",
    norm="linf",
    defaults={"steps": 10, "decay": 1.0, "batch_size": 128},
    check=all_of(ints(steps=1, batch_size=1), numbers(decay=0)),
    sweep="nested",
    effort=("steps",),
)
def momentum_pgd(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """MI-FGSM (Dong et al. 2018, "Boosting Adversarial Attacks with Momentum"), L-inf.

    PGD whose step follows the decayed sum of L1-normalised gradients, from x itself.
    Paper: Dong, Liao, Pang, Su, Zhu, Hu, Li 2018, arXiv:1710.06081.
    Norm: L-inf; eps in pixel units, step eps / 4.
    Arguments: steps (10); decay (1.0, the paper's mu); batch_size (128).
    Input: pixels in [0, 1]; untargeted, true labels.
    """
    return ProjectedGradientDescentPyTorch(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=eps / 4,
        decay=float(params["decay"]),
        max_iter=int(params["steps"]),
        targeted=False,
        num_random_init=0,
        batch_size=int(params["batch_size"]),
        random_eps=False,
        summary_writer=False,
        verbose=False,
    )
