"""PGD in L-inf and L2 (Madry et al. 2018), on ART's PyTorch implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks.base import TARGETING, attack, pgd_step, targeting
from harness.params import all_of, expect, ints

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

PGD_DEFAULTS = {
    "steps": 30,  # as Gisserot, Kunsch and Sykes
    "step_size": None,  # None: eps / 4 (as they did)
    "random_start": True,
    "restarts": 1,
    "batch_size": 256,
    "early_stop": False,  # evaluation: a sample stops stepping once it is misclassified
    "warm_start": False,  # nested sweeps: a survivor starts from its iterate at the smaller eps
    **TARGETING,
}


def _flags(params: dict[str, Any], where: str) -> None:
    """``early_stop`` and ``warm_start`` are true or false."""
    for key in ("early_stop", "warm_start"):
        expect(isinstance(params[key], bool), where, key, params[key], "true or false")


PGD_CHECK = all_of(ints(steps=1, restarts=0, batch_size=1), targeting, pgd_step, _flags)
PGD_EFFORT = ("steps", "restarts")  # more of either never helps the model


def _pgd(classifier: PyTorchClassifier, eps: float, params: dict[str, Any], norm: float) -> Any:
    """The harness's PGD loop (``PGDLoop``: ART's PyTorch PGD, same iterates, without its per-step
    overhead) with every parameter pinned: no momentum, no random eps."""
    from harness.attacks.pgd_loop import PGDLoop

    step = eps / 4 if params["step_size"] is None else float(params["step_size"])
    return PGDLoop(
        classifier,
        norm=norm,
        eps=eps,
        eps_step=step,
        max_iter=int(params["steps"]),
        targeted=bool(params["targeted"]),
        num_random_init=int(params["restarts"]) if params["random_start"] else 0,
        batch_size=int(params["batch_size"]),
        early_stop=bool(params["early_stop"]),
    )


@attack(
    "pgd",
    norm="linf",
    defaults=PGD_DEFAULTS,
    check=PGD_CHECK,
    sweep="nested",
    effort=PGD_EFFORT,
    naive=True,
    draws="per_sample",  # random starts from each sample's key (harness.attacks.keyed)
)
def pgd(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """PGD (Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks"), L-inf.

    ``steps`` iterations of x <- clip_[x0 - eps, x0 + eps](x + step_size * sign(grad_x loss)),
    clipped to [0, 1]. A later random start replaces a sample only if it succeeds; the final
    iterate is returned, not the best one.
    Paper: Madry, Makelov, Schmidt, Tsipras, Vladu 2018, arXiv:1706.06083.
    Norm: L-inf; eps and step_size in pixel units.
    Arguments: steps (30); step_size (null: eps / 4, pixel units); random_start (true): start
    uniformly in the eps ball; restarts (1): number of random starts (ART's num_random_init; 0
    or random_start false: start at x); batch_size (256); early_stop (false): a sample stops
    stepping once misclassified (evaluation; robust accuracy unchanged unless an iterate would
    have become correct again); warm_start (false): in a sweep, a survivor of the smaller eps
    starts from its iterate there (harness.sweep); targeted (false), target (null), seed (0) as
    for fgsm (seed also seeds the random starts).
    Input: pixels in [0, 1]; true labels (or the targets).
    """
    return _pgd(classifier, eps, params, np.inf)


@attack(
    "pgd_l2",
    norm="l2",
    defaults=PGD_DEFAULTS,
    check=PGD_CHECK,
    sweep="nested",
    effort=PGD_EFFORT,
    draws="per_sample",
    family="pgd",
)
def pgd_l2(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """PGD (Madry et al. 2018) in L2: steps along the normalised gradient, projected on the L2 ball.

    x <- x0 + P_eps(x + step_size * g / ||g||_2 - x0), clipped to [0, 1].
    Paper: Madry, Makelov, Schmidt, Tsipras, Vladu 2018, arXiv:1706.06083.
    Norm: L2 over all C*H*W pixels; eps and step_size in pixel units.
    Arguments: as for ``pgd``: steps (30), step_size (null: eps / 4), random_start (true),
    restarts (1), batch_size (256), early_stop (false), warm_start (false), targeted (false),
    target (null), seed (0).
    Input: pixels in [0, 1]; true labels (or the targets).
    """
    return _pgd(classifier, eps, params, 2)
