"""Registered probes: eps-free analyses of one model, run once per model (spec ``probes:``).

An attack answers "how accurate is the model inside a ball of radius eps?"; a probe answers a
question without an eps: how sure is the model about pure noise (``noise``), how far is each
sample from the decision boundary (``minimal``). Probes are registered like attacks, and their
parameters are resolved and checked the same way, before any data or weights are loaded.

How the runner calls one (``harness.runner``)::

    planned = plan(spec.probes)                                  # at validation time
    for p in planned:                                            # per model, after clean eval
        out = p.run(classifier, x_test, y_test, clean.pred, class_names, role)
        # out: NoiseProbe -> RunResult.noise, MinimalPerturbation -> RunResult.minimal
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import metrics
from harness.attacks import ATTACKS, AttackDef, generate
from harness.attacks.select import names
from harness.evasion import pick_per_class
from harness.params import all_of, expect, ints, maxima, numbers, resolve_params
from harness.registry import Registry
from harness.results import MinimalPerturbation, NoiseProbe
from harness.spec import AttackSpec
from harness.spec.sizes import MAX_PROBE_IMAGES, MAX_PROBE_STEPS

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

Check = Callable[[dict[str, Any], str], None]  # (resolved params, where) -> raises HarnessError
# (classifier, x (N, C, H, W) in [0, 1], y (N,), clean_pred (N,), class_names, params, model)
Probe = Callable[
    ["PyTorchClassifier", np.ndarray, np.ndarray, np.ndarray, Sequence[str], dict[str, Any], str],
    NoiseProbe | MinimalPerturbation,
]
GREY_LEVELS = 255  # ART's FGSM search grid for empirical robustness: one 8-bit grey level a step


@dataclass(frozen=True)
class ProbeDef:
    name: str
    run: Probe
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    check: Check | None = None  # validates resolved parameter values before any heavy work

    def resolve(self, spec: AttackSpec, where: str = "probes") -> dict[str, Any]:
        """The probe's parameters: its defaults updated with the spec's, unknown names refused."""
        return resolve_params("probe", self.name, self.defaults, spec.params, self.check, where)


PROBES: Registry[ProbeDef] = Registry("probe")


def probe(
    name: str, *, defaults: dict[str, Any] | None = None, check: Check | None = None
) -> Callable[[Probe], Probe]:
    """Decorator registering ``fn(classifier, x, y, clean_pred, class_names, params, model)``."""

    def decorate(fn: Probe) -> Probe:
        doc = (fn.__doc__ or "").strip().splitlines()
        PROBES.register(name)(
            ProbeDef(name, fn, dict(defaults or {}), doc[0] if doc else "", check)
        )
        return fn

    return decorate


@dataclass(frozen=True)
class PlannedProbe:
    definition: ProbeDef
    params: dict[str, Any]  # resolved
    label: str = ""  # the spec's label, if any

    @property
    def name(self) -> str:
        return self.label or self.definition.name

    def run(
        self,
        classifier: PyTorchClassifier,
        x: np.ndarray,  # (N, C, H, W) float32 in [0, 1], the test set
        y: np.ndarray,  # (N,) int64 true labels
        clean_pred: np.ndarray,  # (N,) int64 clean predictions (``CleanEval.pred``)
        class_names: Sequence[str],
        model_name: str,
    ) -> NoiseProbe | MinimalPerturbation:
        return self.definition.run(
            classifier, x, y, clean_pred, class_names, self.params, model_name
        )


def plan(probes: Sequence[AttackSpec], section: str = "probes") -> list[PlannedProbe]:
    """Resolve every probe of a spec; a bad name or parameter raises before any heavy work."""
    planned = []
    for i, p in enumerate(probes):
        definition = PROBES.get(p.name, f"{section}[{i}].name")
        planned.append(PlannedProbe(definition, definition.resolve(p, f"{section}[{i}]"), p.key))
    return planned


# ---------------------------------------------------------------- noise


@probe(
    "noise",
    defaults={"n_images": 1000, "threshold": 0.9, "seed": 0, "batch_size": 256},
    check=all_of(
        ints(n_images=1, batch_size=1), maxima(n_images=MAX_PROBE_IMAGES), numbers(threshold=0)
    ),
)
def noise(
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    clean_pred: np.ndarray,
    class_names: Sequence[str],
    params: dict[str, Any],
    model_name: str,
) -> NoiseProbe:
    """Noise overconfidence (after Nguyen et al. 2015, "Deep Neural Networks are Easily Fooled").

    Feeds ``n_images`` images of i.i.d. uniform noise in [0, 1] (the model's input shape) and
    counts those whose max softmax probability is >= ``threshold``: a calibrated model should
    be unsure about inputs from no class. No norm (not an attack on test images). n_images
    (1000); threshold (0.9, softmax probability; above 1 counts nothing); seed (0): noise from
    ``numpy.random.default_rng(seed)``, the same images for every model; batch_size (256):
    images drawn and predicted per batch. Ignores the test set.
    """
    rng = np.random.default_rng(params["seed"])
    shape, bs = tuple(classifier.input_shape), int(params["batch_size"])  # (C, H, W)
    top = []  # per batch: (max softmax (b,), predicted class (b,))
    for start in range(0, params["n_images"], bs):
        b = min(bs, params["n_images"] - start)
        probs = metrics.softmax(classifier.predict(rng.random((b, *shape), dtype=np.float32), b))
        top.append((probs.max(axis=1), probs.argmax(axis=1)))
    conf, pred = (np.concatenate(parts) for parts in zip(*top, strict=True))
    sure = conf >= params["threshold"]
    counts = np.bincount(pred[sure], minlength=classifier.nb_classes)
    return NoiseProbe(
        model=model_name,
        n_images=int(params["n_images"]),
        threshold=float(params["threshold"]),
        overconfident_fraction=float(sure.mean()),
        mean_confidence=float(conf.mean()),
        class_counts={_name(class_names, k): int(c) for k, c in enumerate(counts)},
    )


def _name(class_names: Sequence[str], k: int) -> str:
    return str(class_names[k]) if k < len(class_names) else str(k)


# ---------------------------------------------------------------- minimal perturbation


def minimal_methods() -> list[str]:
    """Registered attacks without an eps of their own (declared ``minimal``)."""
    return list(names(lambda d: d.minimal))


def _minimal_check(params: dict[str, Any], where: str) -> None:
    ints(n_samples=1, fgsm_steps=1)(params, where)
    maxima(n_samples=MAX_PROBE_IMAGES, fgsm_steps=MAX_PROBE_STEPS)(params, where)
    method = params["method"]
    d = ATTACKS.get(str(method), f"{where}.method")
    expected = f"a minimal-perturbation attack ({', '.join(minimal_methods())})"
    expect(d.minimal, where, "method", method, expected)
    expect(isinstance(params["params"], dict), where, "params", params["params"], "a mapping")
    d.resolve(AttackSpec(d.name, params["params"]), f"{where}.params")


def unbounded_eps(norm: str, shape: Sequence[int]) -> float:
    """A radius containing all of [0, 1]^(C*H*W) around any point: 1 (L-inf), sqrt(C*H*W) (L2)."""
    return 1.0 if norm == "linf" else float(np.sqrt(np.prod(shape)))


def minimal_norms(
    classifier: PyTorchClassifier,
    attack_def: AttackDef,
    params: dict[str, Any],  # the attack's resolved parameters
    x: np.ndarray,  # (n, C, H, W) in [0, 1], clean-correct samples
    y: np.ndarray,  # (n,) their labels
) -> tuple[np.ndarray, np.ndarray]:
    """The attack run once without a bound: (x_adv (n, C, H, W), minimal norms (n,)).

    A sample's minimal norm is ||x_adv - x|| in the attack's norm (pixel units) when the
    prediction on x_adv differs from y, else inf (the attack found nothing).
    """
    eps = unbounded_eps(attack_def.norm, x.shape[1:])  # as harness.sweep._project_once
    x_adv = generate(classifier, attack_def, params, x, y, eps)
    flipped = classifier.predict(x_adv).argmax(axis=1) != y if len(x) else np.zeros(0, bool)
    linf, l2 = metrics.perturbation_norms(x, x_adv)
    norms = linf if attack_def.norm == "linf" else l2
    return x_adv, np.where(flipped, norms, np.inf)


def art_empirical_robustness(
    classifier: PyTorchClassifier, x: np.ndarray, norm: str, steps: int = GREY_LEVELS
) -> float:
    """ART's ``empirical_robustness`` with its FGSM crafter, in ``norm`` (pixel units).

    ART 1.20.1 supports only "fgsm", "hsj" and "auto" there (not DeepFool or C&W), so this is
    its FGSM-based metric: for each sample the smallest eps on the grid k * R / steps (k = 1 ..
    steps, R = ``unbounded_eps``; with 255 steps one 8-bit grey level per step in L-inf, one
    grey level on every pixel in L2) at which the FGSM step flips the *predicted* label, then
    the mean of ||delta|| / ||x|| over the flipped samples (0.0 when none flips, as ART returns).
    """
    if len(x) == 0:
        return 0.0
    radius = unbounded_eps(norm, x.shape[1:])
    step = radius / steps
    art_params = {
        "norm": np.inf if norm == "linf" else 2,
        "eps": radius + step / 2,  # ART adds eps_step while <= eps: keep the last grid point
        "eps_step": step,
        "batch_size": 128,
    }
    from art.metrics import empirical_robustness  # on use: declaring probes imports no ART

    return float(empirical_robustness(classifier, x, "fgsm", art_params))


def pick_correct(y: np.ndarray, clean_pred: np.ndarray, n: int) -> np.ndarray:
    """Up to n indices of clean-correct samples, classes taken in turn, in increasing order."""
    correct = np.flatnonzero(clean_pred == y)
    return np.sort(correct[pick_per_class(y[correct], n)]).astype(np.int64)


@probe(
    "minimal",
    defaults={"method": "deepfool", "n_samples": 200, "params": {}, "fgsm_steps": GREY_LEVELS},
    check=_minimal_check,
)
def minimal(
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    clean_pred: np.ndarray,
    class_names: Sequence[str],
    params: dict[str, Any],
    model_name: str,
) -> MinimalPerturbation:
    """Minimal adversarial perturbation per sample (DeepFool: Moosavi-Dezfooli et al. 2016; C&W).

    Runs ``method`` once without an eps bound on ``n_samples`` clean-correct test samples
    (classes taken in turn, ``pick_per_class``) and records each sample's perturbation norm in
    the method's norm (L2 for deepfool and cw_l2, L-inf for cw_linf; pixel units), inf where
    the prediction did not change. method ("deepfool"; any registered attack whose sweep is
    "project_once"); n_samples (200; fewer if fewer are clean-correct); params ({}: the
    attack's own parameters, checked like an attack's); fgsm_steps (255): grid steps of the
    FGSM search behind ART's empirical robustness, recorded on the same samples
    (``art_empirical_robustness``; FGSM-based whatever the method).
    """
    attack_def = ATTACKS.get(params["method"])
    attack_params = attack_def.resolve(AttackSpec(attack_def.name, params["params"]))
    idx = pick_correct(y, clean_pred, params["n_samples"])
    _, norms = minimal_norms(classifier, attack_def, attack_params, x[idx], y[idx])
    norms = np.sort(norms)
    return MinimalPerturbation(
        model=model_name,
        method=attack_def.name,
        norm=attack_def.norm,
        n_samples=len(idx),
        median=float(np.median(norms)) if len(norms) else float("inf"),
        norms=[float(v) for v in norms],
        empirical_robustness=art_empirical_robustness(
            classifier, x[idx], attack_def.norm, params["fgsm_steps"]
        ),
    )
