"""What every attack shares: its declaration (``AttackDef``), the registry, and how it is run.

Every attack is built on the harness's ART classifier (``harness.estimator``), always receives
labels (ART would otherwise attack the *predicted* label), and eps=0 returns the input
unchanged. Adding an attack is one decorated function in one file of this package; every ART
argument is pinned explicitly, in pixel units, because ART's defaults assume other scales or
settings.

Conventions shared by every attack:

- labels: ``generate`` passes the true labels, or the target classes for a targeted attack;
  ``attack_labels`` is the one place that chooses (see there).
- randomness: an attack declares how it draws (``draws``). "per_sample": every random number
  it draws for a sample (random starts, restarts, random targets) comes from that sample's own
  key (``harness.attacks.keyed``: the run's seed, the attack, the sample's test index), which
  the sweep passes to ``generate`` as ``keys``, so batch size, chunking, out-of-memory halving
  and sharding cannot change a sample's result. "per_batch": it draws for a whole call (ART's
  attacks, from numpy's *global* generator, which ``generate`` seeds with the attack's ``seed``
  parameter for the call and restores afterwards): the same cut gives the same numbers, another
  cut other ones. "none": it draws nothing. run.json records whether a run's numbers are
  independent of the cut.
- minimal-perturbation attacks (C&W, DeepFool) have no eps bound of their own: their factory
  wraps them in ``EpsBall`` (``harness.attacks.eps_ball``), which projects the result onto the eps ball of the attack's norm.
- capabilities: an attack declares what it is (norm, white- or black-box, iterative, its effort
  parameters, ...) on its ``AttackDef``; the sanity checks, the naive attacker and the app
  choose attacks by those (``harness.attacks.select``), never by name.
- imports: declaring an attack (this module, and each family's ``@attack``) imports neither ART
  nor torch, so ``harness validate`` and ``harness list attacks`` stay light; a factory, and the
  loops it builds, import them when an attack is made.

Docstring template of an attack factory (the first line is what ``harness list attacks``
prints)::

    <Name> (<authors> <year>, "<paper title>"), <norm>.

    <what it does, one paragraph>
    Paper: <authors, year, title or link>.
    Norm: <L-inf | L2>; eps in pixel units.
    Arguments: <name> (<default>[, unit]): <meaning>; ...
    Input: pixels in [0, 1]; <which labels>.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks.keyed import TARGET_TAG
from harness.errors import HarnessError
from harness.finite import require_finite
from harness.params import Check, expect, is_int, is_number, resolve_params
from harness.registry import Registry
from harness.spec import AttackSpec

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

    from harness.attacks.keyed import SampleKeys

# ART types as strings: declaring an attack imports no ART or torch (factories import them)
Factory = Callable[["PyTorchClassifier", float, dict[str, Any]], Any]  # -> ART EvasionAttack
# (classifier, params, x, y, keys) -> (logits (n, K) of the forward pass the gradient took at x,
# the eps-independent step direction (n, C, H, W)) of a one-step attack; keys: the samples'
# SampleKeys or None
Direction = Callable[
    ["PyTorchClassifier", dict[str, Any], np.ndarray, np.ndarray, Any],
    tuple[np.ndarray, np.ndarray],
]
# (params, num_classes) -> lines saying exactly what runs, for the report (ensembles)
Composition = Callable[[dict[str, Any], int], list[str]]
SWEEPS = ("independent", "nested", "one_step", "project_once")  # see harness.sweep
NORMS = ("linf", "l2")
NORM_LABELS = {"linf": "L-inf", "l2": "L2"}
# what a spec may write for a norm (lower case, without "_" or "-") -> the declared name
NORM_NAMES = {"linf": "linf", "inf": "linf", "l∞": "linf", "l2": "l2", "2": "l2"}
BOXES = ("white", "black")
# how an attack draws random numbers; "base": as the attack it wraps (a transfer's params.attack)
DRAWS = ("none", "per_sample", "per_batch", "base")


@dataclass(frozen=True)
class AttackDef:
    """A registered attack: its factory, parameters, how it is swept, and what it is."""

    name: str
    norm: str  # threat model: "linf" or "l2"; eps is measured in this norm, pixel units
    make: Factory
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    check: Check | None = None  # validates resolved parameter values before any heavy work
    sweep: str = "independent"  # how harness.sweep runs it over increasing eps (SWEEPS)
    direction: Direction | None = None  # one_step attacks: the step, computed once per sample
    composition: Composition | None = None
    # ---- capabilities (harness.attacks.select chooses attacks by these, never by name)
    box: str = "white"  # "white": uses the model's gradients; "black": scores or a surrogate only
    iterative: bool = True  # False: a single step (FGSM)
    minimal: bool = False  # minimal-perturbation: no eps of its own, projected onto the ball
    transfer: bool = False  # crafted on another model of the run (a surrogate), then evaluated
    ensemble: bool = False  # several attacks in turn, per-sample worst case (``composition``)
    effort: tuple[str, ...] = ()  # parameters that only say how hard it tries: more never helps
    naive: bool = False  # the naive attacker may rerun it on the undefended baseline
    draws: str = "per_batch"  # DRAWS: an attack that does not say is taken to draw per call
    # attacks that are one method in different norms share a family (default: the name), so a
    # spec's `{name: pgd, norm: l2}` runs the family's L2 member (``in_norm``)
    family: str = ""

    def step(
        self,
        classifier: PyTorchClassifier,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        keys: SampleKeys | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A one-step attack's ``direction`` (logits, direction), both checked finite: its
        examples x + eps * direction are made by the caller, not by ``generate``."""
        assert self.direction is not None
        logits, direction = self.direction(classifier, params, x, y, keys)
        require_finite(logits, f"{self.name}: the model's outputs at the clean images")
        return logits, require_finite(direction, f"{self.name}: the step direction")

    def resolve(self, spec: AttackSpec, where: str = "attacks") -> dict[str, Any]:
        """The attack's parameters: its defaults updated with the spec's, unknown names refused.
        A ``norm`` is accepted when it names the attack's declared norm (and then dropped: the
        declaration records it); any other norm is refused, never run in the declared one."""
        given = dict(spec.params)
        if "norm" in given and "norm" not in self.defaults:
            self._check_norm(given.pop("norm"), where)
        return resolve_params("attack", self.name, self.defaults, given, self.check, where)

    def _check_norm(self, value: Any, where: str) -> None:
        norm = NORM_NAMES.get(str(value).strip().lower().replace("_", "").replace("-", ""))
        if norm is None:
            raise HarnessError(f"{where}.norm: expected linf or l2, got {value!r}")
        if norm != self.norm:
            others = ", ".join(n for n in ATTACKS.names() if ATTACKS.get(n).norm == norm)
            raise HarnessError(
                f"{where}.norm: {self.name} is implemented for {NORM_LABELS[self.norm]} only; "
                f"{NORM_LABELS[norm]} is not implemented for it (attacks with {NORM_LABELS[norm]}: "
                f"{others or 'none'})"
            )


ATTACKS: Registry[AttackDef] = Registry("attack")


def in_norm(d: AttackDef, value: Any) -> AttackDef:
    """The attack of ``d``'s family declared for the norm ``value`` names (``{name: autoattack,
    norm: l2}`` is ``autoattack_l2``); ``d`` itself when that is its own norm, when the value is
    not a norm or when no member has it (``resolve`` then says so in one line)."""
    norm = NORM_NAMES.get(str(value).strip().lower().replace("_", "").replace("-", ""))
    if norm is None or norm == d.norm:
        return d
    family = d.family or d.name
    members = [ATTACKS.get(n) for n in ATTACKS.names()]
    return next((m for m in members if (m.family or m.name) == family and m.norm == norm), d)


def attack(name: str, *, norm: str, **declared: Any) -> Callable[[Factory], Factory]:
    """Decorator registering an attack factory ``(classifier, eps, params) -> ART attack``.

    ``declared``: the other ``AttackDef`` fields (defaults, check, sweep, direction, composition
    and the capabilities). ``sweep``: "nested" for attacks whose success at eps implies success
    at every larger eps (iterative, black-box), "project_once" for eps-free minimal-perturbation
    attacks wrapped in ``EpsBall``, "one_step" with a ``direction`` for FGSM-like attacks; see
    ``harness.sweep``. The factory's first docstring line becomes the description.
    """

    def decorate(fn: Factory) -> Factory:
        doc = (fn.__doc__ or "").strip().splitlines()
        declared["defaults"] = dict(declared.get("defaults") or {})
        definition = AttackDef(name, norm, fn, description=doc[0] if doc else "", **declared)
        _check_declaration(definition)
        ATTACKS.register(name)(definition)
        return fn

    return decorate


def _check_declaration(d: AttackDef) -> None:
    """Refuse a declaration whose parts contradict each other, at import time."""
    one_step = d.sweep == "one_step"
    ok = (
        d.sweep in SWEEPS
        and d.norm in NORMS
        and d.box in BOXES
        and one_step == (d.direction is not None)
        and not (one_step and d.iterative)
        and d.minimal == (d.sweep == "project_once")
        and d.ensemble == (d.composition is not None)
        and set(d.effort) <= set(d.defaults)
        and d.draws in DRAWS
        and (d.draws == "base") == d.transfer
    )
    if not ok:
        raise ValueError(f"attack {d.name!r}: contradictory declaration {d}")


def generate(
    classifier: PyTorchClassifier,
    attack_def: AttackDef,
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    keys: SampleKeys | None = None,
    **start: np.ndarray,
) -> np.ndarray:
    """Adversarial examples for x (N, C, H, W) in [0, 1] with true labels y (N,) int64.

    ART receives ``attack_labels(params, y, ...)`` (the targets when targeted) and runs with
    numpy's global generator seeded by ``params["seed"]`` when the attack has one. ``keys``: the
    samples' ``SampleKeys`` (the sweep's), handed to an attack object that draws per sample
    (``takes_keys``) and used for random targets. Returns a new float32 array in [0, 1]; ``x``
    is never modified. eps=0 returns an unchanged copy. NaN or inf in the attack's output is one
    HarnessError line (``harness.finite``), never clipped. ``start``: passed on to the attack's
    ``generate`` (``x_init``: warm starts, harness.sweep).
    """
    if eps == 0 or len(x) == 0:
        return x.copy()
    art_attack = attack_def.make(classifier, float(eps), params)
    labels = attack_labels(params, y, classifier.nb_classes, keys)
    if keys is not None and getattr(art_attack, "takes_keys", False):
        start = {**start, "keys": keys}
    with numpy_seed(params.get("seed")):
        x_adv = art_attack.generate(x=x.copy(), y=labels, **start)
    require_finite(x_adv, f"{attack_def.name} at eps {eps:g}: the adversarial examples")
    return np.clip(x_adv.astype(np.float32), 0.0, 1.0)


def attack_labels(
    params: dict[str, Any], y: np.ndarray, num_classes: int, keys: SampleKeys | None = None
) -> np.ndarray:
    """The labels ART receives: the true labels y (N,), or the target classes when targeted.

    ``targeted: false`` (every attack without the parameter too): y itself, so ART moves away
    from the true class. ``targeted: true`` with ``target: k``: class k for every sample (samples
    whose true class is k are pushed to stay there). ``target: "random"``: for each sample a class
    drawn uniformly from the other num_classes - 1, so a target never equals the true label:
    from the sample's own key when ``keys`` are given (the same target in every chunk, batch and
    nested round), else from a numpy Generator seeded by ``seed`` over y in order.
    """
    if not params.get("targeted", False):
        return y
    target = params["target"]
    if target == "random" and keys is not None:
        shift = 1 + keys.integers(num_classes - 1, TARGET_TAG)
        return ((y + shift) % num_classes).astype(np.int64)
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


# ---------------------------------------------------------------- shared parameter checks

TARGETING = {"targeted": False, "target": None, "seed": 0}  # see attack_labels


def targeting(params: dict[str, Any], where: str) -> None:
    """``targeted: true`` needs a ``target`` (class index or "random"); false takes none."""
    targeted, target = params["targeted"], params["target"]
    expect(isinstance(targeted, bool), where, "targeted", targeted, "true or false")
    if targeted:
        ok = target == "random" or is_int(target, 0)
        expect(ok, where, "target", target, "a class index >= 0 or 'random' (targeted: true)")
    else:
        expect(target is None, where, "target", target, "no target unless targeted: true")


def pgd_step(params: dict[str, Any], where: str) -> None:
    """``random_start`` is a bool; ``step_size`` a positive pixel-unit step or null (eps / 4)."""
    start, step = params["random_start"], params["step_size"]
    expect(isinstance(start, bool), where, "random_start", start, "true or false")
    ok = step is None or (is_number(step) and step > 0)
    expect(ok, where, "step_size", step, "a positive step in pixel units, or null for eps/4")
