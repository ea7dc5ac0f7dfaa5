"""AutoAttack "standard" (L-inf), as RobustBench runs it, on the harness's own loops.

Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks" (https://arxiv.org/abs/2003.01690; reference code fra31/auto-attack).
The standard version runs four attacks in order, each only on the samples every earlier one
failed on, and keeps per sample the first adversarial example found (per-sample worst case):

1. APGD-CE: untargeted APGD on cross-entropy, 100 iterations, 1 restart;
2. APGD-T: targeted APGD on the DLR loss, 100 iterations, one run per target class, the targets
   being the 9 other classes with the largest clean logits, most likely first;
3. FAB-T: targeted FAB, 100 iterations, one run per target class (the same 9 targets);
4. Square: black-box Square Attack, 5000 queries, 1 restart, p_init 0.8.

``implementation: reference`` runs fra31's own code instead (``autoattack_reference``, the
``pyautoattack`` package); ``art`` (the default) runs this module: the harness's own loops,
written from the papers as ART ``EvasionAttack``s on ART's estimator (``apgd_loop``,
``square_loop``, ``fab``). ART 1.20.1's own APGD makes two forward passes per iteration and its
Square three per query, and it has no FAB; these make one, and keep the reference's constants.

ART's own ``AutoAttack`` with its defaults is a different ensemble (APGD-CE with 5 restarts,
untargeted APGD-DLR, DeepFool, Square with 5 restarts), hence this module.

Where this module differs from the reference code (the composition record, ``describe``, says
what ran):

- the reference's targeted DLR reads the 4th-largest logit, so it needs 4 classes; here a
  3-class model takes the 3rd-largest in its place, and a 2-class model (CIFAKE: REAL/FAKE)
  runs APGD-T on targeted cross-entropy towards the other class; for 2 classes its
  sign-gradient steps point the same way as APGD-CE's, so it acts as a second APGD-CE run from
  a new random start.
- APGD stops stepping a sample once an iterate fools the model (the reference runs on and keeps
  the last adversarial iterate); Square draws its square's position per sample (the reference:
  one per batch); both draw from a torch generator seeded from numpy's (``seed``).
- FAB-T follows the paper's algorithm with the reference's constants; where the box keeps the
  linearised boundary out of reach, it moves every coordinate to its bound (the reference
  moves them further and clips).

The ``rand`` version (randomized models; chosen automatically by ``harness.evaluate`` when a
defence declares ``randomized``) runs APGD-CE, then untargeted APGD-DLR, each gradient the mean
of 20 (EoT), as the reference's ``rand`` version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness.attacks import autoattack_reference as reference
from harness.attacks.apgd_loop import APGDLoop
from harness.attacks.autoattack_parts import (
    EOT_ITER,
    PartRun,
    n_targets,
    note,
    part_names,
    parts,
)
from harness.attacks.base import attack, project
from harness.attacks.fab import fab_targeted
from harness.attacks.square_loop import SquareLoop
from harness.params import Check, all_of, expect, ints

logger = logging.getLogger(__name__)

VERSIONS = ("standard", "rand")  # rand: for randomized models (APGD-CE, APGD-DLR with EoT)
DEFAULTS = {
    "version": "standard",
    "apgd_iter": 100,  # Croce & Hein 2020, standard version
    "n_target_classes": 9,  # APGD-T targets (the reference's FAB-T also uses 9)
    "fab_iter": 100,  # FAB-T iterations per target, the standard version's
    "square_queries": 5000,
    "batch_size": 128,
    "seed": 0,
    "implementation": "art",  # "reference": fra31's own code (harness.attacks.autoattack_reference)
}
IMPLEMENTATIONS = ("art", "reference")
SQUARE_P_INIT = 0.8  # the reference's standard version
CLEAN = "clean"  # broken_by of a sample misclassified before any attack
NOT_BROKEN = ""  # broken_by of a sample every part failed on

Run = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (x, y, ranked) -> x_adv


@dataclass(frozen=True)
class Step:
    """One attack run of the ensemble; APGD-T contributes one step per target class."""

    part: str  # one of PART_NAMES: recorded in ``broken_by``
    run: Run  # x (n, C, H, W), y (n,), ranked (n, K-1) other classes by clean logit -> x_adv


def uses_dlr(num_classes: int) -> bool:
    """The DLR loss divides by z_pi1 - z_pi3: it needs a third class."""
    return num_classes >= 3


def describe(params: dict[str, Any], num_classes: int) -> list[str]:
    """The composition that runs for these parameters on a num_classes model, one line a part."""
    if params.get("implementation") == "reference":
        return reference.describe(params, num_classes)
    if params["version"] == "rand":
        return describe_rand(params, num_classes)
    iters, targets = params["apgd_iter"], n_targets(params, num_classes)
    noun = "target" if targets == 1 else "targets"
    if uses_dlr(num_classes):
        apgd_t = f"APGD-T DLR ({iters} iter, {targets} {noun}, 1 restart each)"
    else:
        apgd_t = (
            f"APGD-T CE ({iters} iter, {targets} {noun}, 1 restart each): the DLR loss needs "
            f">= 3 classes and this model has {num_classes}, so targeted cross-entropy "
            "towards the other class runs instead"
        )
    return [
        f"APGD-CE ({iters} iter, 1 restart)",
        apgd_t,
        f"FAB-T ({params['fab_iter']} iter, {targets} {noun}, 1 restart each; the harness's "
        "own FAB, ART 1.20.1 has none)",
        f"Square ({params['square_queries']} queries, 1 restart, p_init {SQUARE_P_INIT})",
    ]


def describe_rand(params: dict[str, Any], num_classes: int) -> list[str]:
    """The rand version (randomized models): two untargeted APGD runs, gradients averaged."""
    iters, eot = params["apgd_iter"], f"EoT {EOT_ITER} gradient samples per step"
    dlr = "DLR" if uses_dlr(num_classes) else "CE (the DLR loss needs >= 3 classes)"
    return [
        f"APGD-CE ({iters} iter, 1 restart, {eot}; rand version: the model is randomized)",
        f"APGD-DLR ({iters} iter, 1 restart, loss {dlr}, {eot})",
    ]


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


def _version(params: dict[str, Any], where: str) -> None:
    version = params["version"]
    expect(version in VERSIONS, where, "version", version, f"one of {', '.join(VERSIONS)}")
    impl = params["implementation"]
    expect(impl in IMPLEMENTATIONS, where, "implementation", impl, "'art' or 'reference'")
    if impl == "reference":
        reference.require(f"{where}.implementation")


CHECK: Check = all_of(
    ints(apgd_iter=1, n_target_classes=1, fab_iter=1, square_queries=2, batch_size=1),
    _version,
)


@attack(
    "autoattack",
    norm="linf",
    defaults=DEFAULTS,
    check=CHECK,
    sweep="nested",
    composition=describe,
    ensemble=True,
    effort=("apgd_iter", "fab_iter", "square_queries"),
)
def autoattack(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """AutoAttack standard (Croce & Hein 2020, "Reliable evaluation of ... parameter-free attacks"), L-inf.

    APGD-CE, then APGD-T and FAB-T (one run per target class each), then Square, each on the
    samples all earlier runs failed on; a sample keeps the first adversarial example found, so
    robust accuracy is the per-sample worst case. See ``describe`` for what ran.
    Paper: Croce & Hein 2020, arXiv:2003.01690 (reference code fra31/auto-attack).
    Norm: L-inf; eps in pixel units.
    Arguments: version ("standard", the only one); apgd_iter (100): APGD iterations per run,
    initial step 2 eps, 1 random start; n_target_classes (9): APGD-T targets, the other classes
    with the largest clean logits, at most num_classes - 1 (DLR loss for >= 3 classes, targeted
    cross-entropy for 2), FAB-T uses the same targets; fab_iter (100): FAB-T iterations per
    target; square_queries (5000, 1 restart, p_init 0.8); batch_size (128); seed (0): random
    starts and squares come from numpy's global generator, seeded per call by ``generate``;
    implementation ("art"): "reference" runs fra31/auto-attack's own code (the ``reference``
    extra, package ``pyautoattack``) with the same budgets.
    Input: pixels in [0, 1]; untargeted overall, true labels; samples misclassified clean are
    left as they are.
    """
    if params["implementation"] == "reference":
        return reference.ReferenceAutoAttack(classifier, eps, params)
    return StandardAutoAttack(classifier, eps, params)
