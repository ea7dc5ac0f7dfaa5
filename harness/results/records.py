"""Result dataclasses: what a run produced, independent of how it is rendered.

``RunResult`` round-trips through JSON (``to_dict`` / ``from_dict``) except for the Grad-CAM
arrays, which the report renders to ``gradcam.png``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.results.checks import Check, ModelProbe

METRICS = (
    "clean_accuracy",  # correct clean predictions / all test samples
    "robust_accuracy",  # correct under attack / all test samples
    "attack_success_rate",  # broken by the attack / clean-correct (attacked) samples
    "targeted_success_rate",  # predicted the target class / attacked samples (targeted attacks)
    "mean_linf",  # mean L-inf perturbation over attacked samples, pixel units
    "mean_l2",  # mean L2 perturbation over attacked samples, pixel units
)
CSV_COLUMNS = ("model", "attack", "eps", "metric", "value")


@dataclass(frozen=True)
class Measurement:
    """One row of ``results.csv``. ``eps`` in pixel units (0 for clean); values are fractions."""

    model: str  # "baseline", "robust", or a model name
    attack: str  # "none" for clean accuracy, else the attack's registered name
    eps: float
    metric: str  # one of METRICS
    value: float


@dataclass(frozen=True)
class AttackRecord:
    """What a run records about one attack it swept (run.json ``attacks``): enough to read the
    report, re-grade the sanity checks and compare runs without the attack's code."""

    name: str  # the run's name for it: the spec's label (e.g. "pgd50x10"), or "<label>_naive"
    attack: str  # the registered attack it ran (harness.attacks)
    norm: str = "linf"  # threat model: "linf" or "l2"; eps in this norm, pixel units
    params: dict[str, Any] = field(default_factory=dict)  # resolved parameters, pixel units
    sweep: str = ""  # how it was run over eps (harness.sweep.SWEEPS; "": an early run's record)
    naive_of: str | None = None  # a naive twin: the attack it repeats, crafted on the baseline
    composition: list[str] | None = None  # an ensemble: exactly what runs, one line a part

    @property
    def targeted(self) -> bool:
        return bool(self.params.get("targeted", False))

    def to_dict(self) -> dict[str, Any]:
        """run.json's form: the optional fields only when set (older runs read the same)."""
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttackRecord:
        """A record from run.json; one without ``attack`` (early runs) names its own attack."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**({"attack": d["name"]} | {k: v for k, v in d.items() if k in known}))


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float = 0.0
    kept: bool = False  # train.keep: best -- the epoch whose weights the model ends with


@dataclass(frozen=True)
class ClassStats:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class WeightAnalysis:
    """Seed 003's weight analysis of one model (see ``harness.weights``); plain JSON data.

    ``layers``: one dict per Conv2d/Linear: name, kind, shape, spectral_norm (Conv2d: of the weight
    reshaped to (out, in*kh*kw)), operator_norm (Conv2d, when the input size was known), alpha,
    xmin, D (KS distance), n_tail, n_evals, note (why no fit), esd_counts / esd_edges (the ESD over
    log-spaced bins). ``epochs``: per-epoch histograms, {"epoch", "layers": {name: {"weight":
    {"counts", "edges"}, "bias": ...}}} for at most a few layers; empty when weights were loaded.
    """

    layers: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    bins: int = 30


@dataclass
class ModelResult:
    role: str  # "baseline" / "robust"
    arch: str  # registered name or the user's builder
    n_params: int
    clean_accuracy: float
    per_class: list[ClassStats]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    history: list[EpochStats] = field(default_factory=list)  # empty when weights were loaded
    training: str = ""  # how it was obtained: "trained", "reused <path>", "loaded <path>"
    weights: str = ""  # path of the weights file
    gradcam_layer: str = ""  # name of the layer Grad-CAM used
    defence: dict[str, Any] = field(default_factory=dict)  # defence parameters, if hardened
    weight_analysis: WeightAnalysis | None = None  # seed 003: histograms, norms, ESD alpha


@dataclass(frozen=True)
class EvasionRow:
    """Seed 000's single-image evasion: smallest FGSM eps in a grid that flips the prediction."""

    model: str
    index: int  # index into the test subset
    true_label: str
    clean_pred: str
    clean_conf: float  # softmax probability of clean_pred
    flip_eps: float | None  # None: not flipped within the grid
    adv_pred: str  # prediction at flip_eps (or at the largest eps when never flipped)
    adv_conf: float


@dataclass
class GradcamPanel:
    """Images and heatmaps for the Grad-CAM grid; arrays are not stored in run.json."""

    eps: float
    attack: str
    indices: list[int]
    labels: list[str]  # true labels of the images
    clean: np.ndarray  # (K, C, H, W) float32 in [0, 1]
    adversarial: dict[str, np.ndarray]  # model -> (K, C, H, W) adversarial images
    cams_clean: dict[str, np.ndarray]  # model -> (K, H, W) in [0, 1]
    cams_adv: dict[str, np.ndarray]  # model -> (K, H, W) in [0, 1]
    preds_clean: dict[str, list[str]]
    preds_adv: dict[str, list[str]]


@dataclass(frozen=True)
class NoiseProbe:
    """Seed 003's overconfidence probe: uniform-noise images the model is sure about."""

    model: str
    n_images: int
    threshold: float  # softmax confidence counted as "overconfident"
    overconfident_fraction: float  # noise images with max softmax >= threshold / n_images
    mean_confidence: float  # mean max-softmax over all noise images
    class_counts: dict[str, int]  # predicted class -> count, over the overconfident images


@dataclass(frozen=True)
class MinimalPerturbation:
    """Per-sample minimal adversarial perturbation (DeepFool / C&W), summarised."""

    model: str
    method: str  # registered minimal-perturbation attack, e.g. "deepfool"
    norm: str  # "l2" or "linf", pixel units
    n_samples: int  # clean-correct samples attacked
    median: float  # median minimal norm over the samples (inf where the attack failed)
    norms: list[float]  # sorted per-sample minimal norms, for the CDF (inf: not found)
    empirical_robustness: (
        float  # ART's empirical_robustness (mean ||delta|| / ||x||) on the same samples
    )


@dataclass(frozen=True)
class AttentionRow:
    """How Grad-CAM shifts and fades under attack, one model and eps (``explain.attention_row``).

    Mass is the mean unscaled CAM value (logit-gradient x activation units: compare within a
    model, not across models); ``mass_ratio`` is the per-image adversarial / clean mass, averaged.
    """

    model: str
    attack: str
    eps: float  # pixel units
    similarity: float  # mean cosine similarity of clean and adversarial CAMs (1 = unchanged)
    clean_mass: float  # mean raw CAM value on clean images
    adv_mass: float  # mean raw CAM value on adversarial images
    mass_ratio: float  # mean of adv / clean mass per image (NaN: no clean CAM with mass > 0)
    blank_fraction: float  # adversarial CAMs with peak <= 1e-6 or < 5% of the clean peak / n
    n: int  # images


@dataclass
class ExampleGrid:
    """Adversarial examples to show: clean, perturbation, adversarial, with labels."""

    attack: str
    eps: float
    model: str
    indices: list[int]
    clean: np.ndarray  # (K, C, H, W) in [0, 1]
    adversarial: np.ndarray  # (K, C, H, W) in [0, 1]
    true_labels: list[str]
    clean_preds: list[str]
    adv_preds: list[str]


@dataclass(frozen=True)
class CertifiedCurve:
    """Randomized smoothing's certificates (Cohen et al. 2019) for one model, over L2 radii.

    certified_accuracy[i]: share of the certified images whose smoothed prediction is correct
    *and* certified at L2 radius >= radii[i]; an abstention counts as wrong at every radius.
    """

    model: str
    sigma: float  # std of the Gaussian noise, pixel units
    n: int  # Monte Carlo samples for the certificate (n0 = n_select picks the class)
    n_select: int
    alpha: float  # failure probability of each certificate
    n_images: int
    radii: list[float]
    certified_accuracy: list[float]
    abstain_rate: float  # share of images where the smoothed classifier abstained
    smoothed_accuracy: float  # correct and not abstained (certified accuracy at radius 0)
    median_radius: float  # median certified radius over correctly classified images (NaN: none)
    seconds: float
    max_radius: float = float("nan")  # the largest radius n samples at alpha can certify


@dataclass(frozen=True)
class BreakdownPart:
    """One part of an ensemble at one eps, in the order the parts ran."""

    name: str  # "APGD-CE", ..., or, for the spec's worst case, the attack's run name
    implementation: str  # "art", "harness" (the harness's own code) or "reference" (fra31's)
    black_box: bool  # the part uses only scores (declared capability), no gradients
    broke_first: int  # samples it broke that every earlier part had left correct
    robust_accuracy_after: float  # still correct after this and every earlier part / all samples


@dataclass(frozen=True)
class EnsembleBreakdown:
    """What each part of an ensemble broke first at one eps, as AutoAttack's own log reports.

    ``ensemble``: an ``autoattack`` run's name, or "worst_case" (the spec's untargeted attacks in
    spec order). The parts' ``broke_first`` add up to ``clean_correct`` minus the samples no part
    broke; a nested sweep counts a sample broken at a smaller eps for the part that broke it there.
    """

    model: str  # the model's role
    ensemble: str
    eps: float  # pixel units
    n_samples: int  # every test sample (robust accuracy is over these)
    clean_correct: int  # the samples any part was run on
    parts: tuple[BreakdownPart, ...]
    version: str = ""  # autoattack's version ("standard"; "rand" for a randomized model)

    @property
    def robust_accuracy(self) -> float:
        """After every part (the ensemble's robust accuracy)."""
        return self.parts[-1].robust_accuracy_after if self.parts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnsembleBreakdown:
        parts = tuple(BreakdownPart(**p) for p in d["parts"])
        return cls(**{**d, "parts": parts})


@dataclass
class RunResult:
    name: str
    spec: dict[str, Any]  # the resolved spec
    seed: int
    data: dict[str, Any]  # dataset summary: name, source, class names, sizes, input shape
    models: list[ModelResult]
    measurements: list[Measurement]
    attacks: list[AttackRecord]  # every attack swept, with its resolved parameters
    evasion: list[EvasionRow] = field(default_factory=list)
    gradcam: GradcamPanel | None = None
    provenance: dict[str, Any] = field(default_factory=dict)  # versions, git, timings, hashes
    noise: list[NoiseProbe] = field(default_factory=list)
    minimal: list[MinimalPerturbation] = field(default_factory=list)
    examples: list[ExampleGrid] = field(default_factory=list)  # not stored in run.json
    sanity_probes: dict[str, ModelProbe] = field(default_factory=dict)  # per model role
    sanity: list[Check] = field(default_factory=list)
    attention: list[AttentionRow] = field(default_factory=list)  # Grad-CAM shift per model, eps
    certified: list[CertifiedCurve] = field(default_factory=list)  # randomized smoothing
    breakdowns: list[EnsembleBreakdown] = field(default_factory=list)  # per ensemble, model, eps

    def model(self, role: str) -> ModelResult:
        return next(m for m in self.models if m.role == role)

    def value(self, model: str, attack: str, eps: float, metric: str) -> float:
        for m in self.measurements:
            if (m.model, m.attack, m.metric) == (model, attack, metric) and abs(
                m.eps - eps
            ) < 1e-12:
                return m.value
        raise KeyError((model, attack, eps, metric))

    def to_dict(self) -> dict[str, Any]:
        arrays = ("gradcam", "examples")
        d = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in arrays
        }
        return _plain(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        models = []
        for m in d["models"]:
            m = dict(m)
            m["per_class"] = [ClassStats(**c) for c in m["per_class"]]
            m["history"] = [EpochStats(**e) for e in m["history"]]
            if m.get("weight_analysis") is not None:
                m["weight_analysis"] = WeightAnalysis(**m["weight_analysis"])
            models.append(ModelResult(**m))
        return cls(
            name=d["name"],
            spec=d["spec"],
            seed=d["seed"],
            data=d["data"],
            models=models,
            measurements=[Measurement(**m) for m in d["measurements"]],
            attacks=[AttackRecord.from_dict(a) for a in d["attacks"]],
            evasion=[EvasionRow(**e) for e in d.get("evasion", [])],
            provenance=d.get("provenance", {}),
            noise=[NoiseProbe(**p) for p in d.get("noise", [])],
            minimal=[MinimalPerturbation(**m) for m in d.get("minimal", [])],
            sanity_probes={
                k: ModelProbe.from_dict(v) for k, v in d.get("sanity_probes", {}).items()
            },
            sanity=[Check.from_dict(c) for c in d.get("sanity", [])],
            attention=[AttentionRow(**a) for a in d.get("attention", [])],
            certified=[CertifiedCurve(**c) for c in d.get("certified", [])],
            breakdowns=[EnsembleBreakdown.from_dict(b) for b in d.get("breakdowns", [])],
        )


def _plain(obj: Any) -> Any:
    """Dataclasses, tuples and numpy scalars -> JSON-ready Python values."""
    if isinstance(obj, AttackRecord):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
