"""Randomized smoothing (Cohen et al. 2019) with ART's ``PyTorchRandomizedSmoothing``.

Training: the classifier learns on inputs with Gaussian noise of std ``sigma`` added (ART's
``fit``). Certification: ART's ``certify`` predicts the class most often output under noise
(``n_select`` samples), lower-bounds its probability from ``n`` more samples (Clopper-Pearson,
failure probability ``alpha``) and certifies the L2 radius sigma x Phi^-1(p_lower), or abstains
when p_lower < 1/2. Certified accuracy at radius r counts an image only when the prediction is
correct and certified at >= r; an abstention is wrong at every radius.

Empirical robustness: the model attacked by the standard sweep is ``Smoothed``, the soft smoothed
classifier (the mean softmax over ``eot_samples`` fresh noise draws per forward pass). Every
gradient an attack takes is then an expectation over the noise (EoT, Athalye et al. 2018).
``Smoothed`` lives in ``harness.defences.smoothed``; torch, ART and scipy are imported on use.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.attacks import numpy_seed
from harness.datasets.subset import stratified_indices
from harness.defences.base import HardenJob, defence
from harness.params import all_of, expect, ints, is_number
from harness.results import CertifiedCurve, EpochStats

if TYPE_CHECKING:
    from torch import nn


def smoothing_estimator(job: HardenJob, base: nn.Module, lr: float | None = None):
    """ART's randomized-smoothing classifier around ``base`` with the job's sigma and sample
    counts, on ``base``'s device."""
    import torch
    from art.estimators.certification.randomized_smoothing import PyTorchRandomizedSmoothing
    from torch import nn

    from harness import device

    p, dev = job.params, device.of(base)
    with device.art_context(dev):
        estimator = PyTorchRandomizedSmoothing(
            model=base,
            loss=nn.CrossEntropyLoss(),
            input_shape=tuple(job.input_shape),
            nb_classes=job.num_classes,
            optimizer=torch.optim.Adam(base.parameters(), lr=lr) if lr is not None else None,
            clip_values=(0.0, 1.0),
            preprocessing=(0.0, 1.0),  # identity: normalization is inside the model
            channels_first=True,
            device_type=device.art_type(dev),
            sample_size=p["n_select"],
            scale=p["sigma"],
            alpha=p["alpha"],
        )
    return device.pin(estimator, dev)


def certify(
    job: HardenJob, base: nn.Module, x: np.ndarray, y: np.ndarray, role: str
) -> CertifiedCurve:
    """ART's certificates on a stratified ``certify_images``-image subset of the test set, drawn
    with the run's seed (test sets are often stored class by class: the first images would be
    one class), with seeded numpy noise."""
    p = job.params
    pick = stratified_indices(y, p["certify_images"], job.seed)
    start = time.perf_counter()
    estimator = smoothing_estimator(job, base)
    base.eval()
    with numpy_seed(job.seed):
        pred, radius = estimator.certify(x[pick], n=p["n"], batch_size=p["batch_size"])
    return curve(role, p, pred, radius, y[pick], time.perf_counter() - start)


def curve(
    role: str,
    p: dict[str, Any],
    pred: np.ndarray,
    radius: np.ndarray,
    y: np.ndarray,
    seconds: float = 0.0,
) -> CertifiedCurve:
    """Certified accuracy over ``p["radii"]`` from per-image predictions (-1: abstain) and radii."""
    correct = (pred == y) & (pred >= 0)
    radii = [float(r) for r in p["radii"]]
    acc = [float(np.mean(correct & (radius >= r))) for r in radii]
    return CertifiedCurve(
        model=role,
        sigma=float(p["sigma"]),
        n=int(p["n"]),
        n_select=int(p["n_select"]),
        alpha=float(p["alpha"]),
        n_images=len(y),
        radii=radii,
        certified_accuracy=acc,
        abstain_rate=float(np.mean(pred < 0)),
        smoothed_accuracy=float(np.mean(correct)),
        median_radius=float(np.median(radius[correct])) if correct.any() else float("nan"),
        max_radius=largest_radius(p["sigma"], p["n"], p["alpha"]),
        seconds=round(seconds, 3),
    )


def largest_radius(sigma: float, n: int, alpha: float) -> float:
    """The largest radius any certificate can reach: all n noisy samples agree, so the
    Clopper-Pearson lower bound is alpha^(1/n) and the radius sigma x Phi^-1(alpha^(1/n))."""
    from scipy.stats import norm

    return float(sigma * norm.ppf(alpha ** (1 / n)))


def _smoothed(job: HardenJob, base: nn.Module | None) -> nn.Module:
    from harness.defences.smoothed import Smoothed

    assert base is not None
    p = job.params
    return Smoothed(base, p["sigma"], p["eot_samples"], job.seed)


def _radii(params: dict[str, Any], where: str) -> None:
    r = params["radii"]
    ok = isinstance(r, list | tuple) and r and all(is_number(v) and v >= 0 for v in r)
    expect(
        bool(ok) and list(r) == sorted(r), where, "radii", r, "an increasing list of L2 radii >= 0"
    )
    a = params["alpha"]
    expect(is_number(a) and 0 < a < 0.5, where, "alpha", a, "a probability in (0, 0.5)")
    s = params["sigma"]
    expect(is_number(s) and s > 0, where, "sigma", s, "a noise std > 0 in pixel units")


@defence(
    "randomized_smoothing",
    defaults={
        "sigma": 0.25,
        "n_select": 100,
        "n": 1000,
        "alpha": 0.001,
        "certify_images": 500,
        "radii": [0.0, 0.125, 0.25, 0.5, 0.75, 1.0],
        "eot_samples": 16,
        "batch_size": 256,
    },
    check=all_of(_radii, ints(n_select=1, n=1, certify_images=0, eot_samples=1, batch_size=1)),
    assemble=_smoothed,
    randomized=True,
    certify=certify,
)
def randomized_smoothing(job: HardenJob, base: nn.Module) -> list[EpochStats]:
    """Randomized smoothing (Cohen et al. 2019) with ART's ``PyTorchRandomizedSmoothing``.

    The classifier is trained on inputs plus Gaussian noise of std ``sigma`` (pixel units);
    certified accuracy over L2 ``radii`` on ``certify_images`` test images (``n_select`` samples
    pick the class, ``n`` certify it at failure probability ``alpha``; abstentions count as
    wrong). The empirical sweep attacks the smoothed classifier with EoT over ``eot_samples``
    noise draws per gradient. Adam with the training spec's lr.
    """
    from harness.training import run_epochs

    estimator = smoothing_estimator(job, base, lr=job.train.lr)
    x, y = job.data.x_train, job.data.y_train

    def fit_epoch(epoch: int) -> None:
        estimator.fit(x, y, batch_size=job.train.batch_size, nb_epochs=1)

    return run_epochs(
        base,
        job.data,
        job.train.epochs,
        fit_epoch,
        "randomized smoothing",
        job.snapshot,
        state={"optimizer": estimator.optimizer},  # ART's noise: the global generators
    )
