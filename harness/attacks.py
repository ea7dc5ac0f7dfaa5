"""Registered attacks: a few lines each on top of ART, parameters in [0, 1] pixel units.

Every attack is built on the harness's ART classifier (``harness.estimator``), always receives
labels (ART would otherwise attack the *predicted* label), and eps=0 returns the input
unchanged. Adding an attack is one decorated function here; every ART argument is pinned
explicitly, in pixel units, because ART's defaults assume other scales or settings.

Conventions shared by every attack:

- labels: ``generate`` passes the true labels, or the target classes for a targeted attack;
  ``attack_labels`` is the one place that chooses (see there).
- randomness: ART draws random starts (PGD) and squares (Square) from numpy's *global*
  generator; ``generate`` seeds it with the attack's ``seed`` parameter for the duration of the
  call and restores it afterwards, so a result does not depend on what ran before.
- minimal-perturbation attacks (C&W, DeepFool) have no eps bound of their own: their factory
  wraps them in ``EpsBall``, which projects the result onto the eps ball of the attack's norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from art.attacks.attack import EvasionAttack
from art.attacks.evasion import (
    CarliniL2Method,
    CarliniLInfMethod,
    DeepFool,
    FastGradientMethod,
    ProjectedGradientDescentPyTorch,
    SquareAttack,
)
from art.estimators.classification import PyTorchClassifier

from harness.errors import HarnessError
from harness.params import (
    Check,
    all_of,
    expect,
    fractions,
    ints,
    is_int,
    is_number,
    numbers,
    resolve_params,
)
from harness.registry import Registry
from harness.spec import AttackSpec

Factory = Callable[[PyTorchClassifier, float, dict[str, Any]], Any]  # -> ART EvasionAttack
# (classifier, params, x, y) -> the eps-independent step direction of a one-step attack
Direction = Callable[[PyTorchClassifier, dict[str, Any], np.ndarray, np.ndarray], np.ndarray]
SWEEPS = ("independent", "nested", "one_step", "project_once")  # see harness.sweep


@dataclass(frozen=True)
class AttackDef:
    name: str
    norm: str  # threat model: "linf" or "l2"; eps is measured in this norm, pixel units
    make: Factory
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    check: Check | None = None  # validates resolved parameter values before any heavy work
    sweep: str = "independent"  # how harness.sweep runs it over increasing eps (SWEEPS)
    direction: Direction | None = None  # one_step attacks: the step, computed once per sample
    # (params, num_classes) -> lines saying exactly what runs, for the report (ensembles)
    composition: Callable[[dict[str, Any], int], list[str]] | None = None

    def resolve(self, spec: AttackSpec, where: str = "attacks") -> dict[str, Any]:
        """The attack's parameters: its defaults updated with the spec's, unknown names refused."""
        return resolve_params("attack", self.name, self.defaults, spec.params, self.check, where)


ATTACKS: Registry[AttackDef] = Registry("attack")


def attack(
    name: str,
    *,
    norm: str,
    defaults: dict[str, Any] | None = None,
    check: Check | None = None,
    sweep: str = "independent",
    direction: Direction | None = None,
    composition: Callable[[dict[str, Any], int], list[str]] | None = None,
) -> Callable[[Factory], Factory]:
    """Decorator registering an attack factory ``(classifier, eps, params) -> ART attack``.

    ``sweep``: "nested" for attacks whose success at eps implies success at every larger eps
    (iterative, black-box), "project_once" for eps-free minimal-perturbation attacks wrapped in
    ``EpsBall``, "one_step" with a ``direction`` for FGSM-like attacks; see ``harness.sweep``.
    """
    if sweep not in SWEEPS or (sweep == "one_step") != (direction is not None):
        raise ValueError(f"attack {name!r}: bad sweep {sweep!r} / direction")

    def decorate(fn: Factory) -> Factory:
        doc = (fn.__doc__ or "").strip().splitlines()
        ATTACKS.register(name)(
            AttackDef(
                name,
                norm,
                fn,
                dict(defaults or {}),
                doc[0] if doc else "",
                check,
                sweep,
                direction,
                composition,
            )
        )
        return fn

    return decorate


def generate(
    classifier: PyTorchClassifier,
    attack_def: AttackDef,
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
) -> np.ndarray:
    """Adversarial examples for x (N, C, H, W) in [0, 1] with true labels y (N,) int64.

    ART receives ``attack_labels(params, y, ...)`` (the targets when targeted) and runs with
    numpy's global generator seeded by ``params["seed"]`` when the attack has one. Returns a new
    float32 array in [0, 1]; ``x`` is never modified. eps=0 returns an unchanged copy.
    """
    if eps == 0 or len(x) == 0:
        return x.copy()
    art_attack = attack_def.make(classifier, float(eps), params)
    labels = attack_labels(params, y, classifier.nb_classes)
    with numpy_seed(params.get("seed")):
        x_adv = art_attack.generate(x=x.copy(), y=labels)
    return np.clip(x_adv.astype(np.float32), 0.0, 1.0)


def attack_labels(params: dict[str, Any], y: np.ndarray, num_classes: int) -> np.ndarray:
    """The labels ART receives: the true labels y (N,), or the target classes when targeted.

    ``targeted: false`` (every attack without the parameter too): y itself, so ART moves away
    from the true class. ``targeted: true`` with ``target: k``: class k for every sample (samples
    whose true class is k are pushed to stay there). ``target: "random"``: for each sample a class
    drawn uniformly from the other num_classes - 1, from a numpy Generator seeded by ``seed``, so
    the same seed gives the same targets and a target never equals the true label.
    """
    if not params.get("targeted", False):
        return y
    target = params["target"]
    if target == "random":
        shift = np.random.default_rng(params["seed"]).integers(1, num_classes, size=len(y))
        return ((y + shift) % num_classes).astype(np.int64)
    if not 0 <= target < num_classes:
        raise HarnessError(
            f"target: expected a class index in [0, {num_classes - 1}], got {target}"
        )
    return np.full(len(y), target, dtype=np.int64)


@contextmanager
def numpy_seed(seed: int | None) -> Iterator[None]:
    """Seed numpy's global generator (ART's source of randomness) and restore it afterwards."""
    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def project(x: np.ndarray, x_adv: np.ndarray, eps: float, norm: str) -> np.ndarray:
    """x_adv moved into the ``norm`` ball of radius eps around x, and into [0, 1]; a new array.

    L-inf clips each pixel's change to [-eps, eps]; L2 keeps a perturbation whose norm is <= eps
    and scales a longer one back onto the sphere. Clipping to [0, 1] afterwards only shortens
    the perturbation (x itself is in [0, 1]), so both bounds hold up to float32 rounding.
    """
    delta = x_adv.astype(np.float64) - x  # (N, C, H, W)
    if norm == "linf":
        delta = np.clip(delta, -eps, eps)
    else:
        length = np.linalg.norm(delta.reshape(len(x), -1), axis=1)  # (N,)
        scale = np.minimum(1.0, eps / np.maximum(length, 1e-12))
        delta *= scale.reshape(-1, *[1] * (x.ndim - 1))
    return np.clip(x + delta, 0.0, 1.0).astype(np.float32)


class EpsBall(EvasionAttack):
    """An ART attack whose adversarial examples are projected onto the eps ball (``project``).

    Wraps minimal-perturbation attacks that have no eps of their own, so that the bound holds
    wherever the attack is used (``generate``, or ART's ``AdversarialTrainer``).
    """

    _estimator_requirements = ()

    def __init__(self, inner: EvasionAttack, eps: float, norm: str) -> None:
        super().__init__(estimator=inner.estimator)
        self.inner, self.eps, self.norm = inner, eps, norm
        self._targeted = inner.targeted

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        return project(x, self.inner.generate(x, y=y, **kwargs), self.eps, self.norm)


# ---------------------------------------------------------------- parameter checks


def _targeting(params: dict[str, Any], where: str) -> None:
    """``targeted: true`` needs a ``target`` (class index or "random"); false takes none."""
    targeted, target = params["targeted"], params["target"]
    expect(isinstance(targeted, bool), where, "targeted", targeted, "true or false")
    ints(seed=0)(params, where)
    if targeted:
        ok = target == "random" or is_int(target, 0)
        expect(ok, where, "target", target, "a class index >= 0 or 'random' (targeted: true)")
    else:
        expect(target is None, where, "target", target, "no target unless targeted: true")


def _pgd_step(params: dict[str, Any], where: str) -> None:
    start, step = params["random_start"], params["step_size"]
    expect(isinstance(start, bool), where, "random_start", start, "true or false")
    ok = step is None or (is_number(step) and step > 0)
    expect(ok, where, "step_size", step, "a positive step in pixel units, or null for eps/4")


# ---------------------------------------------------------------- attacks

TARGETING = {"targeted": False, "target": None, "seed": 0}  # see attack_labels


def fgsm_direction(
    classifier: PyTorchClassifier, params: dict[str, Any], x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """sign(grad_x loss) per sample (its negative when targeted), in ART FGSM's own batches.

    FGSM's step does not depend on eps, so a sweep computes it once; x + eps * direction clipped
    to [0, 1] is then exactly ART's ``FastGradientMethod`` output at that eps.
    """
    labels = np.eye(classifier.nb_classes, dtype=np.float32)[
        attack_labels(params, y, classifier.nb_classes)
    ]
    sign = -1.0 if params["targeted"] else 1.0
    bs = int(params["batch_size"])
    grads = [
        classifier.loss_gradient(x[i : i + bs], labels[i : i + bs]) for i in range(0, len(x), bs)
    ]
    grad = np.concatenate(grads) if grads else np.zeros_like(x)
    return np.sign(np.nan_to_num(grad * sign, nan=0.0)).astype(np.float32)


@attack(
    "fgsm",
    norm="linf",
    defaults={"batch_size": 256, **TARGETING},
    check=all_of(ints(batch_size=1), _targeting),
    sweep="one_step",
    direction=fgsm_direction,
)
def fgsm(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """FGSM (Goodfellow et al. 2015, "Explaining and Harnessing Adversarial Examples"), L-inf.

    One step x + eps * sign(grad_x loss(x, y)), clipped to [0, 1]; eps in pixel units.
    batch_size (256): samples per gradient batch. targeted (false), target (null: class index or
    "random"), seed (0): with targeted true, one step *down* the loss of the target class
    (``attack_labels``). Inputs: pixels in [0, 1].
    """
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


PGD_DEFAULTS = {
    "steps": 30,  # seed 004
    "step_size": None,  # None: eps / 4 (seed 004)
    "random_start": True,
    "restarts": 1,
    "batch_size": 256,
    **TARGETING,
}
PGD_CHECK = all_of(ints(steps=1, restarts=0, batch_size=1), _targeting, _pgd_step)


def _pgd(classifier: PyTorchClassifier, eps: float, params: dict[str, Any], norm: float) -> Any:
    """ART's PyTorch PGD (not the numpy fallback) with every default pinned."""
    step = eps / 4 if params["step_size"] is None else float(params["step_size"])
    return ProjectedGradientDescentPyTorch(
        classifier,
        norm=norm,
        eps=eps,
        eps_step=step,
        decay=None,  # no momentum
        max_iter=int(params["steps"]),
        targeted=bool(params["targeted"]),
        num_random_init=int(params["restarts"]) if params["random_start"] else 0,
        batch_size=int(params["batch_size"]),
        random_eps=False,
        summary_writer=False,
        verbose=False,
    )


@attack("pgd", norm="linf", defaults=PGD_DEFAULTS, check=PGD_CHECK, sweep="nested")
def pgd(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """PGD (Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks"), L-inf.

    ``steps`` iterations of x <- clip_[x0 - eps, x0 + eps](x + step_size * sign(grad_x loss)),
    clipped to [0, 1]; eps and step_size in pixel units. steps (30); step_size (null: eps / 4);
    random_start (true): start uniformly in the eps ball; restarts (1): number of random starts
    (ART's num_random_init; 0 or random_start false: start at x), a later start replaces a sample
    only if it succeeds; batch_size (256); targeted, target, seed as for fgsm (seed also seeds the
    random starts). The final iterate is returned, not the best one. Inputs: pixels in [0, 1].
    """
    return _pgd(classifier, eps, params, np.inf)


@attack("pgd_l2", norm="l2", defaults=PGD_DEFAULTS, check=PGD_CHECK, sweep="nested")
def pgd_l2(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """PGD (Madry et al. 2018) in L2: steps along the normalised gradient, projected on the L2 ball.

    x <- x0 + P_eps(x + step_size * g / ||g||_2 - x0), clipped to [0, 1]; eps (the L2 radius over
    all C*H*W pixels) and step_size in pixel units. Parameters and defaults as for ``pgd``:
    steps (30), step_size (null: eps / 4), random_start (true), restarts (1), batch_size (256),
    targeted (false), target (null), seed (0). Inputs: pixels in [0, 1].
    """
    return _pgd(classifier, eps, params, 2)


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
)
def cw_l2(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """C&W L2 (Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural Networks"), L2.

    Minimal-perturbation attack: Adam in tanh space on ||delta||_2^2 + c * max(z_y - max_{k!=y}
    z_k, -confidence), with a binary search over c. It has no eps; the harness projects its
    result onto the L2 ball of radius eps (``project``), so a perturbation longer than eps is
    scaled back and may stop fooling the model. confidence (0, logit margin); learning_rate
    (0.01, in tanh space); binary_search_steps (5; ART's default 10, halved for speed);
    max_iter (50 Adam steps per search step); initial_const (0.01); batch_size (128); ART's
    learning-rate line search pinned to 5 halvings / 5 doublings. Untargeted, true labels.
    Inputs: pixels in [0, 1].
    """
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
)
def cw_linf(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """C&W L-inf (Carlini & Wagner 2017), L-inf: shrinking bound tau with a penalty on |delta| > tau.

    Minimal-perturbation attack, one sample at a time: tau starts at 1.0 (the whole [0, 1]
    range) and shrinks by decrease_factor while the attack still succeeds, down to 1/256; for
    each tau, c grows from initial_const by const_factor up to largest_const, each with max_iter
    Adam steps. ART 1.20.1's CarliniLInfMethod has no eps argument, so the harness clips its
    result to [x - eps, x + eps] (``project``). confidence (0, logit margin); learning_rate
    (0.01, tanh space); max_iter (10); decrease_factor (0.9); initial_const (1e-5); largest_const
    (20); const_factor (2); batch_size (128, prediction batches only). Slow: about
    log2(largest_const / initial_const) * max_iter * 3 passes per sample and tau. Untargeted,
    true labels. Inputs: pixels in [0, 1].
    """
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


@attack(
    "deepfool",
    norm="l2",
    defaults={"max_iter": 50, "overshoot": 1e-6, "nb_grads": 10, "batch_size": 128},
    check=all_of(ints(max_iter=1, nb_grads=1, batch_size=1), numbers(overshoot=0)),
    sweep="project_once",
)
def deepfool(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """DeepFool (Moosavi-Dezfooli et al. 2016, "DeepFool: a simple and accurate method ..."), L2.

    Minimal-perturbation attack: repeatedly steps to the nearest linearised decision boundary
    among the nb_grads most likely classes until the prediction changes, then scales the total
    perturbation by 1 + overshoot. It has no eps; the harness projects its result onto the L2
    ball of radius eps (``project``). max_iter (50); overshoot (1e-6, ART's ``epsilon`` and
    default; the paper uses 0.02, but ART applies it once, after the prediction has changed);
    nb_grads (10: classes whose gradients are computed, all of them for up to 10 classes);
    batch_size (128). Attacks the *predicted* label (ART ignores y); the harness only attacks
    clean-correct samples, where that is the true label. Inputs: pixels in [0, 1].
    """
    inner = DeepFool(
        classifier,
        max_iter=int(params["max_iter"]),
        epsilon=float(params["overshoot"]),
        nb_grads=int(params["nb_grads"]),
        batch_size=int(params["batch_size"]),
        verbose=False,
    )
    return EpsBall(inner, eps, "l2")


@attack(
    "square",
    norm="linf",
    defaults={"max_queries": 5000, "p_init": 0.8, "nb_restarts": 1, "batch_size": 128, "seed": 0},
    check=all_of(ints(max_queries=2, nb_restarts=1, batch_size=1, seed=0), fractions("p_init")),
    sweep="nested",
)
def square(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """Square Attack (Andriushchenko et al. 2020, "Square Attack: a query-efficient ..."), L-inf.

    Black-box (scores only): starts from vertical stripes of +-eps, then tries one random
    square of +-2 eps per iteration (kept if the margin loss drops), projected on the eps ball
    and [0, 1]; eps in pixel units. max_queries (5000): queries per sample and restart, one for
    the stripes and one per iteration (ART's max_iter = max_queries - 1; ART also re-scores the
    current point, so the model sees about 3 passes per query); p_init (0.8): initial fraction
    of pixels in a square, shrinking on the paper's schedule; nb_restarts (1); batch_size (128);
    seed (0): squares are drawn from numpy's global generator, seeded per call by ``generate``.
    Untargeted, true labels. Inputs: pixels in [0, 1].
    """
    _, height, width = classifier.input_shape  # (C, H, W)
    side = max(round(math.sqrt(params["p_init"] * height * width)), 1)  # ART's first square
    if side >= min(height, width):  # ART would fail in np.random.randint(0, 0)
        raise HarnessError(
            f"square.p_init: {params['p_init']} makes the first square cover the whole "
            f"{height}x{width} image; expected a smaller fraction"
        )
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


def _transfer_check(params: dict[str, Any], where: str) -> None:
    expect(
        isinstance(params["source"], str),
        where,
        "source",
        params["source"],
        "a model role such as baseline",
    )
    base = ATTACKS.get(str(params["attack"]), f"{where}.attack")
    expect(
        base.name != "transfer" and base.norm == "linf",
        where,
        "attack",
        base.name,
        "an L-inf attack",
    )
    expect(isinstance(params["params"], dict), where, "params", params["params"], "a mapping")
    base.resolve(AttackSpec(base.name, params["params"]), f"{where}.params")


@attack(
    "transfer",
    norm="linf",
    defaults={"source": "baseline", "attack": "pgd", "params": {}, "seed": 0},
    check=_transfer_check,
)
def transfer(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """Transfer attack (Papernot et al. 2016, "Transferability in Machine Learning"), L-inf.

    Adversarial examples are crafted with ``attack`` (default pgd, its own ``params``) on the
    *surrogate* model named by ``source`` (a model of the same run: "baseline" or "robust") and
    evaluated on every other model of the run; the harness's sweep hands this factory the
    surrogate's classifier. eps in pixel units; untargeted, true labels; seed (0) seeds numpy for
    the base attack's random start. Inputs: pixels in [0, 1].
    """
    base = ATTACKS.get(str(params["attack"]))
    return base.make(classifier, eps, base.resolve(AttackSpec(base.name, params["params"])))


from harness import autoattack  # noqa: E402,F401  registers "autoattack"
