"""AutoAttack's standard, plus and rand ensembles on the harness's own loops, as one ART attack.

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
from harness.attacks.autoattack_parts import (
    EOT_ITER,
    PLUS_RESTARTS,
    PartRun,
    n_targets,
    note,
    part_names,
    parts,
)
from harness.attacks.base import project
from harness.attacks.fab import fab_targeted, fab_untargeted
from harness.attacks.square_loop import SquareLoop

logger = logging.getLogger(__name__)

CLEAN = "clean"  # broken_by of a sample misclassified before any attack
NOT_BROKEN = ""  # broken_by of a sample every part failed on

Run = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (x, y, ranked) -> x_adv


@dataclass(frozen=True)
class Step:
    """One attack run of the ensemble; APGD-T contributes one step per target class."""

    part: str  # one of the version's part names: recorded in ``broken_by``
    run: Run  # x (n, C, H, W), y (n,), ranked (n, K-1) other classes by clean logit -> x_adv


@dataclass(frozen=True)
class Setting:
    """What every step of one ensemble shares."""

    classifier: PyTorchClassifier
    eps: float  # pixel units, in ``norm``
    params: dict[str, Any]  # the attack's resolved parameters
    norm: str  # "linf" or "l2"

    def apgd(self, loss: str, eot_iter: int = 1) -> APGDLoop:
        """The harness's APGD (initial step 2 eps, 1 random start) with every argument pinned."""
        iters, batch = int(self.params["apgd_iter"]), int(self.params["batch_size"])
        return APGDLoop(
            self.classifier, eps=self.eps, max_iter=iters, loss=loss, batch_size=batch,
            eot_iter=eot_iter, norm=self.norm,
        )  # fmt: skip

    def square(self) -> Step:
        square = SquareLoop(
            self.classifier, eps=self.eps, max_queries=int(self.params["square_queries"]),
            p_init=SQUARE_P_INIT, batch_size=int(self.params["batch_size"]), norm=self.norm,
        )  # fmt: skip
        return Step("Square", lambda x, y, _: square.generate(x, y=y))

    def untargeted_dlr(self) -> str:
        """The untargeted DLR loss, or cross-entropy where the model has too few classes."""
        return "dlr" if uses_dlr(self.classifier.nb_classes) else "ce"


def rand_steps(s: Setting) -> list[Step]:
    """The rand version's runs: APGD-CE, then untargeted APGD-DLR, both with EoT."""
    ce, dl = s.apgd("ce", eot_iter=EOT_ITER), s.apgd(s.untargeted_dlr(), eot_iter=EOT_ITER)
    return [
        Step("APGD-CE", lambda x, y, _: ce.generate(x, y=y)),
        Step("APGD-DLR", lambda x, y, _: dl.generate(x, y=y)),
    ]


def targeted_steps(s: Setting) -> list[Step]:
    """APGD-T, then FAB-T, once per target class each (the most likely other class first)."""
    k = s.classifier.nb_classes
    tgt = s.apgd("dlr_targeted" if uses_dlr(k) else "ce_targeted")
    model, fab_iter, eps, norm = s.classifier.model, int(s.params["fab_iter"]), s.eps, s.norm

    def apgd_run(rank: int) -> Run:
        return lambda x, y, ranked: tgt.generate(x, y=y, target=ranked[:, rank])

    def fab_run(rank: int) -> Run:
        return lambda x, y, r: fab_targeted(model, x, y, r[:, rank], eps, fab_iter, norm)

    targets = range(n_targets(s.params, k))
    return [
        *[Step("APGD-T", apgd_run(r)) for r in targets],
        *[Step("FAB-T", fab_run(r)) for r in targets],
    ]


def steps(s: Setting) -> list[Step]:
    """The standard version's runs in order: APGD-CE, APGD-T and FAB-T per target, Square."""
    ce = s.apgd("ce")
    return [Step("APGD-CE", lambda x, y, _: ce.generate(x, y=y)), *targeted_steps(s), s.square()]


def plus_steps(s: Setting) -> list[Step]:
    """The plus version's runs: APGD-CE, APGD-DLR and FAB (untargeted) with PLUS_RESTARTS
    runs each (a restart runs on the samples every earlier one left), Square, then the
    targeted steps. FAB's first run starts at the image, its restarts at random points."""
    ce, dl = s.apgd("ce"), s.apgd(s.untargeted_dlr())
    model, fab_iter, eps, norm = s.classifier.model, int(s.params["fab_iter"]), s.eps, s.norm

    def fab_run(restart: int) -> Run:
        return lambda x, y, _: fab_untargeted(model, x, y, eps, fab_iter, norm, restart > 0)

    restarts = range(PLUS_RESTARTS)
    return [
        *[Step("APGD-CE", lambda x, y, _: ce.generate(x, y=y)) for _ in restarts],
        *[Step("APGD-DLR", lambda x, y, _: dl.generate(x, y=y)) for _ in restarts],
        *[Step("FAB", fab_run(r)) for r in restarts],
        s.square(),
        *targeted_steps(s),
    ]


VERSION_STEPS = {"standard": steps, "plus": plus_steps, "rand": rand_steps}


def ranked_others(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, K-1): for each sample the classes other than y, largest clean logit first."""
    z = logits.astype(np.float64)  # a copy
    z[np.arange(len(y)), y] = -np.inf
    return np.argsort(-z, axis=1, kind="stable")[:, :-1]


class StandardAutoAttack(EvasionAttack):
    """AutoAttack on the harness's loops, in ``norm``; after ``generate``, ``broken_by`` names each
    sample's breaker (``CLEAN`` if misclassified before any attack, ``NOT_BROKEN`` if every part
    failed) and ``parts`` lists what ran (``describe``)."""

    _estimator_requirements = ()

    def __init__(
        self, classifier: PyTorchClassifier, eps: float, params: dict[str, Any], norm: str = "linf"
    ) -> None:
        super().__init__(estimator=classifier)
        self.eps, self.params, self.norm = eps, params, norm
        self._targeted = False
        self.parts = describe(params, classifier.nb_classes)
        setting = Setting(classifier, eps, params, norm)
        self.steps = VERSION_STEPS[params["version"]](setting)
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
            out = project(x[idx], step.run(x[idx], y[idx], ranked[idx]), self.eps, self.norm)
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
