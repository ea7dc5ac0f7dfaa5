"""AutoAttack's standard and rand ensembles on the harness's own loops, as one ART attack.

What runs and why is in ``harness.attacks.autoattack`` (the declaration, light); this module is
the ensemble itself, imported when an ``autoattack`` with ``implementation: art`` is built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness.attacks.apgd_loop import APGDLoop
from harness.attacks.autoattack import SQUARE_P_INIT, describe, uses_dlr
from harness.attacks.autoattack_parts import EOT_ITER, PartRun, n_targets, note, part_names, parts
from harness.attacks.base import project
from harness.attacks.fab import fab_targeted
from harness.attacks.square_loop import SquareLoop

logger = logging.getLogger(__name__)

CLEAN = "clean"  # broken_by of a sample misclassified before any attack
NOT_BROKEN = ""  # broken_by of a sample every part failed on

Run = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (x, y, ranked) -> x_adv


@dataclass(frozen=True)
class Step:
    """One attack run of the ensemble; APGD-T contributes one step per target class."""

    part: str  # one of PART_NAMES: recorded in ``broken_by``
    run: Run  # x (n, C, H, W), y (n,), ranked (n, K-1) other classes by clean logit -> x_adv


def rand_steps(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> list[Step]:
    """The rand version's runs: APGD-CE, then untargeted APGD-DLR, both with EoT."""
    dlr = "dlr" if uses_dlr(classifier.nb_classes) else "ce"
    ce = _apgd(classifier, eps, params, "ce", eot_iter=EOT_ITER)
    dl = _apgd(classifier, eps, params, dlr, eot_iter=EOT_ITER)
    return [
        Step("APGD-CE", lambda x, y, _: ce.generate(x, y=y)),
        Step("APGD-DLR", lambda x, y, _: dl.generate(x, y=y)),
    ]


def _apgd(
    classifier: PyTorchClassifier, eps: float, params: dict[str, Any], loss: str, eot_iter: int = 1
) -> APGDLoop:
    """The harness's APGD (initial step 2 eps, 1 random start) with every argument pinned."""
    iters, batch = int(params["apgd_iter"]), int(params["batch_size"])
    return APGDLoop(
        classifier, eps=eps, max_iter=iters, loss=loss, batch_size=batch, eot_iter=eot_iter
    )


def steps(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> list[Step]:
    """The ensemble's runs in order: APGD-CE, APGD-T and FAB-T once per target, Square."""
    k = classifier.nb_classes
    ce = _apgd(classifier, eps, params, "ce")
    tgt = _apgd(classifier, eps, params, "dlr_targeted" if uses_dlr(k) else "ce_targeted")
    square = SquareLoop(
        classifier,
        eps=eps,
        max_queries=int(params["square_queries"]),
        p_init=SQUARE_P_INIT,
        batch_size=int(params["batch_size"]),
    )
    model, fab_iter = classifier.model, int(params["fab_iter"])

    def targeted_run(rank: int) -> Run:
        return lambda x, y, ranked: tgt.generate(x, y=y, target=ranked[:, rank])

    def fab_run(rank: int) -> Run:
        return lambda x, y, ranked: fab_targeted(model, x, y, ranked[:, rank], eps, fab_iter)

    targets = range(n_targets(params, k))
    return [
        Step("APGD-CE", lambda x, y, _: ce.generate(x, y=y)),
        *[Step("APGD-T", targeted_run(r)) for r in targets],
        *[Step("FAB-T", fab_run(r)) for r in targets],
        Step("Square", lambda x, y, _: square.generate(x, y=y)),
    ]


def ranked_others(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, K-1): for each sample the classes other than y, largest clean logit first."""
    z = logits.astype(np.float64)  # a copy
    z[np.arange(len(y)), y] = -np.inf
    return np.argsort(-z, axis=1, kind="stable")[:, :-1]


class StandardAutoAttack(EvasionAttack):
    """AutoAttack standard on the harness's loops; after ``generate``, ``broken_by`` names each sample's
    breaker (``CLEAN`` if misclassified before any attack, ``NOT_BROKEN`` if every part failed)
    and ``parts`` lists what ran (``describe``)."""

    _estimator_requirements = ()

    def __init__(self, classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> None:
        super().__init__(estimator=classifier)
        self.eps, self.params = eps, params
        self._targeted = False
        self.parts = describe(params, classifier.nb_classes)
        rand = params["version"] == "rand"
        self.steps = (rand_steps if rand else steps)(classifier, eps, params)
        self.broken_by = np.zeros(0, dtype=object)  # (N,) part names, set by generate

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """x (N, C, H, W) in [0, 1], y (N,) true labels (or one-hot) -> x_adv, a new float32 array.

        Each step runs on the samples still correctly classified; a sample keeps the first
        adversarial example found, else the last step's attempt (x itself if misclassified clean).
        """
        if y is None:
            raise ValueError("StandardAutoAttack needs the true labels y")
        y = np.asarray(y)
        y = y.argmax(1) if y.ndim == 2 else y.astype(np.int64)
        batch = int(self.params["batch_size"])
        logits = self.estimator.predict(x, batch_size=batch)  # (N, K) clean
        x_adv = x.astype(np.float32)  # a copy: x is never modified
        alive = logits.argmax(1) == y  # (N,) not yet fooled
        broken = np.where(alive, NOT_BROKEN, CLEAN).astype(object)
        ranked = ranked_others(logits, y)
        for step in self.steps:
            idx = np.flatnonzero(alive)
            if len(idx) == 0:
                break
            out = project(x[idx], step.run(x[idx], y[idx], ranked[idx]), self.eps, "linf")
            fooled = self.estimator.predict(out, batch_size=batch).argmax(1) != y[idx]
            x_adv[idx] = out
            broken[idx[fooled]] = step.part
            alive[idx[fooled]] = False
            logger.debug("%s fooled %d of %d", step.part, fooled.sum(), len(idx))
        self.broken_by = broken
        version = self.params["version"]
        counts = tuple(int(np.sum(broken == name)) for name in part_names(version))
        attacked = int(np.sum(broken != CLEAN))
        note(PartRun(self.params, self.eps, parts("art", version), counts, attacked))
        return x_adv
