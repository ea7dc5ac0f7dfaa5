"""AutoAttack (L-inf and L2), as RobustBench runs it, on the harness's own loops.

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
  moves them further and clips; in L2 it does the same as here).
- in L2, the reference's targeted APGD scales every sample's step by the first sample's step
  size (``step_size[0]`` in its ``autopgd_pt.py``); here each sample keeps its own, as in its
  untargeted APGD.
- APGD-DLR (``plus``, ``rand``) on a model with fewer than 3 classes runs on cross-entropy.

Here: the declaration (parameters, checks, what runs); the ensemble itself is
``harness.attacks.autoattack_standard`` (or ``autoattack_fra31``), imported when one is built.

The ``rand`` version (randomized models; chosen automatically by ``harness.evaluate`` when a
defence declares ``randomized``) runs APGD-CE, then untargeted APGD-DLR, each gradient the mean
of 20 (EoT), as the reference's ``rand`` version. The ``plus`` version is the reference's
``set_version("plus")``: APGD-CE, APGD-DLR and untargeted FAB with 5 restarts each, Square,
then APGD-T and FAB-T.

Two registered attacks, one per threat model, each declaring its norm: ``autoattack`` (L-inf)
and ``autoattack_l2`` (L2; RobustBench's L2 board: CIFAR-10 at eps 0.5), with the same
parameters, versions and parts; every part runs in the declared norm (the reference's L2 rules:
``harness.attacks.apgd_loop``, ``fab``, ``square_l2``). L1 is not implemented: pyautoattack
0.2.0, the reference installed here, has no L1 APGD either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.attacks import autoattack_reference as reference
from harness.attacks.autoattack_parts import EOT_ITER, PLUS_RESTARTS, n_targets
from harness.attacks.base import attack
from harness.params import Check, all_of, expect, ints

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

VERSIONS = ("standard", "plus", "rand")  # rand: randomized models (APGD-CE, APGD-DLR, EoT)
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


def uses_dlr(num_classes: int) -> bool:
    """The DLR loss divides by z_pi1 - z_pi3: it needs a third class."""
    return num_classes >= 3


def describe(params: dict[str, Any], num_classes: int) -> list[str]:
    """The composition that runs for these parameters on a num_classes model, one line a part."""
    if params.get("implementation") == "reference":
        return reference.describe(params, num_classes)
    if params["version"] == "rand":
        return describe_rand(params, num_classes)
    iters = params["apgd_iter"]
    targeted = [_apgd_t(params, num_classes), _fab_t(params, num_classes)]
    square = f"Square ({params['square_queries']} queries, 1 restart, p_init {SQUARE_P_INIT})"
    if params["version"] == "plus":
        r = f"{PLUS_RESTARTS} restarts"
        dlr = "DLR" if uses_dlr(num_classes) else "CE (the DLR loss needs >= 3 classes)"
        return [
            f"APGD-CE ({iters} iter, {r})",
            f"APGD-DLR ({iters} iter, {r}, loss {dlr})",
            f"FAB ({params['fab_iter']} iter, {r}, untargeted: the closest class's boundary)",
            square,
            *targeted,
        ]
    return [f"APGD-CE ({iters} iter, 1 restart)", targeted[0], targeted[1], square]


def _apgd_t(params: dict[str, Any], num_classes: int) -> str:
    iters, targets = params["apgd_iter"], n_targets(params, num_classes)
    noun = "target" if targets == 1 else "targets"
    if uses_dlr(num_classes):
        return f"APGD-T DLR ({iters} iter, {targets} {noun}, 1 restart each)"
    return (
        f"APGD-T CE ({iters} iter, {targets} {noun}, 1 restart each): the DLR loss needs "
        f">= 3 classes and this model has {num_classes}, so targeted cross-entropy "
        "towards the other class runs instead"
    )


def _fab_t(params: dict[str, Any], num_classes: int) -> str:
    targets = n_targets(params, num_classes)
    noun = "target" if targets == 1 else "targets"
    return (
        f"FAB-T ({params['fab_iter']} iter, {targets} {noun}, 1 restart each; the harness's "
        "own FAB, ART 1.20.1 has none)"
    )


def describe_rand(params: dict[str, Any], num_classes: int) -> list[str]:
    """The rand version (randomized models): two untargeted APGD runs, gradients averaged."""
    iters, eot = params["apgd_iter"], f"EoT {EOT_ITER} gradient samples per step"
    dlr = "DLR" if uses_dlr(num_classes) else "CE (the DLR loss needs >= 3 classes)"
    return [
        f"APGD-CE ({iters} iter, 1 restart, {eot}; rand version: the model is randomized)",
        f"APGD-DLR ({iters} iter, 1 restart, loss {dlr}, {eot})",
    ]


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


DECLARED: dict[str, Any] = {
    "defaults": DEFAULTS,
    "check": CHECK,
    "sweep": "nested",
    "composition": describe,
    "ensemble": True,
    "effort": ("apgd_iter", "fab_iter", "square_queries"),
}


@attack("autoattack", norm="linf", **DECLARED)
def autoattack(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """AutoAttack (Croce & Hein 2020, "Reliable evaluation of ... parameter-free attacks"), L-inf.

    APGD-CE, then APGD-T and FAB-T (one run per target class each), then Square, each on the
    samples all earlier runs failed on; a sample keeps the first adversarial example found, so
    robust accuracy is the per-sample worst case. See ``describe`` for what ran.
    Paper: Croce & Hein 2020, arXiv:2003.01690 (reference code fra31/auto-attack).
    Norm: L-inf; eps in pixel units.
    Arguments: version ("standard"; "plus": APGD-CE, APGD-DLR and FAB with 5 restarts, Square,
    APGD-T, FAB-T; "rand": APGD-CE and APGD-DLR with EoT 20, for randomized models);
    apgd_iter (100): APGD iterations per run, initial step 2 eps, 1 random start;
    n_target_classes (9): APGD-T targets, the other classes with the largest clean logits, at
    most num_classes - 1 (DLR loss for >= 3 classes, targeted cross-entropy for 2), FAB-T uses
    the same targets; fab_iter (100): FAB iterations per run; square_queries (5000, 1 restart,
    p_init 0.8); batch_size (128); seed (0): random starts and squares come from numpy's global
    generator, seeded per call by ``generate``; implementation ("art"): "reference" runs
    fra31/auto-attack's own code (the ``reference`` extra, package ``pyautoattack``) with the
    same budgets.
    Input: pixels in [0, 1]; untargeted overall, true labels; samples misclassified clean are
    left as they are.
    """
    return _build(classifier, eps, params, "linf")


@attack("autoattack_l2", norm="l2", family="autoattack", **DECLARED)
def autoattack_l2(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """AutoAttack (Croce & Hein 2020, "Reliable evaluation of ... parameter-free attacks"), L2.

    The same ensemble, versions and parameters as ``autoattack``, every part in L2 with the
    reference's L2 rules: APGD steps along the L2-normalised gradient and projects onto the L2
    ball (Gaussian random start of length eps); FAB-T projects onto the linearised boundary at
    minimal L2 distance; Square proposes the paper's L2 squares (Algorithm 3).
    Paper: Croce & Hein 2020, arXiv:2003.01690 (reference code fra31/auto-attack).
    Norm: L2 over C * H * W; eps in pixel units (RobustBench's CIFAR-10 board: 0.5).
    Arguments: as ``autoattack``: version ("standard", "plus", "rand"); apgd_iter (100);
    n_target_classes (9); fab_iter (100); square_queries (5000); batch_size (128); seed (0);
    implementation ("art"; "reference": fra31's code with norm "L2").
    Input: pixels in [0, 1]; untargeted overall, true labels; samples misclassified clean are
    left as they are.
    """
    return _build(classifier, eps, params, "l2")


def _build(classifier: PyTorchClassifier, eps: float, params: dict[str, Any], norm: str) -> Any:
    """The ensemble in ``norm``: fra31's code or the harness's loops, imported only now."""
    if params["implementation"] == "reference":
        from harness.attacks.autoattack_fra31 import ReferenceAutoAttack

        return ReferenceAutoAttack(classifier, eps, params, norm)
    from harness.attacks.autoattack_standard import StandardAutoAttack

    return StandardAutoAttack(classifier, eps, params, norm)
