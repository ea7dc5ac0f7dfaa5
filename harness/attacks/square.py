"""Square Attack (Andriushchenko et al. 2020): black-box, random squares, scores only."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks.base import attack
from harness.errors import HarnessError
from harness.params import all_of, fractions, ints

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


@attack(
    "square",
    norm="linf",
    defaults={"max_queries": 5000, "p_init": 0.8, "nb_restarts": 1, "batch_size": 128, "seed": 0},
    check=all_of(ints(max_queries=2, nb_restarts=1, batch_size=1), fractions("p_init")),
    sweep="nested",
    box="black",
    effort=("max_queries", "nb_restarts"),
)
def square(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """Square Attack (Andriushchenko et al. 2020, "Square Attack: a query-efficient ..."), L-inf.

    Black-box (scores only): starts from vertical stripes of +-eps, then tries one random
    square of +-2 eps per iteration (kept if the margin loss drops), projected on the eps ball
    and [0, 1].
    Paper: Andriushchenko, Croce, Flammarion, Hein 2020, arXiv:1912.00049.
    Norm: L-inf; eps in pixel units.
    Arguments: max_queries (5000): queries per sample and restart, one for the stripes and one
    per iteration (ART's max_iter = max_queries - 1; ART also re-scores the current point, so
    the model sees about 3 passes per query); p_init (0.8): initial fraction of pixels in a
    square, shrinking on the paper's schedule; nb_restarts (1); batch_size (128); seed (0):
    squares are drawn from numpy's global generator, seeded per call by ``generate``.
    Input: pixels in [0, 1]; untargeted, true labels.
    """
    _, height, width = classifier.input_shape  # (C, H, W)
    side = max(round(math.sqrt(params["p_init"] * height * width)), 1)  # ART's first square
    if side >= min(height, width):  # ART would fail in np.random.randint(0, 0)
        raise HarnessError(
            f"square.p_init: {params['p_init']} makes the first square cover the whole "
            f"{height}x{width} image; expected a smaller fraction"
        )
    from art.attacks.evasion import SquareAttack

    return SquareAttack(
        classifier,
        norm=np.inf,
        adv_criterion=None,  # ART's default: prediction differs from the label
        loss=None,  # ART's default: margin of logits, true class minus best other
        max_iter=int(params["max_queries"]) - 1,
        eps=eps,
        p_init=float(params["p_init"]),
        nb_restarts=int(params["nb_restarts"]),
        batch_size=int(params["batch_size"]),
        verbose=False,
    )
