"""The records of a run's analyses beyond the sweep: the evasion table, the Grad-CAM
panel and attention shift, the noise and minimal-perturbation probes, adversarial example grids,
randomized smoothing's certificates and the weight analysis. Plain data, no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.results.epsilons import eps_position


@dataclass
class WeightAnalysis:
    """The weight analysis of one model (see ``harness.weights``); plain JSON data.

    ``layers``: one dict per Conv2d/Linear: name, kind, shape, spectral_norm (Conv2d: of the weight
    reshaped to (out, in*kh*kw)), operator_norm (Conv2d, when the input size was known), alpha,
    xmin, D (KS distance), n_tail, n_evals, note (why no fit), esd_counts / esd_edges (the ESD over
    log-spaced bins). ``epochs``: per-epoch histograms, {"epoch", "layers": {name: {"weight":
    {"counts", "edges"}, "bias": ...}}} for at most a few layers; empty when weights were loaded.
    """

    layers: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    bins: int = 30


@dataclass(frozen=True)
class EvasionRow:
    """The single-image evasion: smallest FGSM eps in a grid that flips the prediction."""

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
    """The overconfidence probe: uniform-noise images the model is sure about."""

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
class AttackConfusion:
    """Which classes an untargeted attack pushes a model's test images to: per swept ε, the
    counts of true (rows) vs predicted (columns) classes on the images that counted (the clean
    image where the sample was not attacked, i.e. wrong clean)."""

    model: str
    attack: str
    eps: list[float]
    counts: list[list[list[int]]]  # (E, K, K)

    def at(self, eps: float) -> list[list[int]] | None:
        i = eps_position(self.eps, eps)
        return None if i is None else self.counts[i]
