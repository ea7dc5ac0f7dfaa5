"""Probing a live model once for the sanity checks (``harness.sanity`` grades what it finds).

On a few hundred samples: input gradients that are all zero or not finite, probabilities
instead of logits out, non-deterministic outputs, clean accuracy, and the accuracy left by an
*unbounded* PGD (eps = 1 covers the whole [0, 1] pixel range; Carlini et al. 2019, §5).

Three of these repeat fra31/auto-attack's own flags (``autoattack/checks.py``) with its
thresholds: ``check_randomized`` (5 forward passes over ``RANDOM_SAMPLES`` of the samples, as the
reference checks one batch; random if the count of correct predictions changes or two
L2-normalised output rows differ by more than 1e-4 in L2), ``check_range_output``
(every output in (-1e-5, 1 + 1e-5) and every row summing to 1 within 1e-5: probabilities) and
``check_zero_gradients`` (the DLR loss's input gradient at APGD's random start is all zero for
some sample). The passes after the second and the random start run on a forked torch
generator and a local numpy one, so probing moves the global generators only by the first two
passes and the unbounded PGD. The outputs over all samples and their gradients are those of the
unbounded PGD's first step (``harness.probe_pgd``): no pass of their own.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from harness import device, oom
from harness.estimator import predict_logits
from harness.modes import evaluating
from harness.probe_pgd import unbounded_accuracy
from harness.provenance import timed
from harness.results.checks import RANDOM_TOL, ModelProbe

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

UNBOUNDED_EPS = 1.0  # L-inf radius covering the whole [0, 1] pixel range
# The probe's own instrument (L-inf PGD, harness.probe_pgd), not a choice among attacks. No random
# start: in an eps = 1 ball it is a uniform-noise image, which reaches chance even when the
# gradients are fully masked; from x itself only the gradient can move the input.
UNBOUNDED_PGD = {"steps": 20, "step_size": 0.1}
PROBABILITY_TOL = 1e-5  # fra31's check_range_output alpha: outputs in (-tol, 1 + tol), rows sum 1
RANDOM_PASSES = 5  # fra31's check_randomized: n = 5 forward passes (tolerance: RANDOM_TOL)
# The samples those passes run on: a random model's outputs move on every sample (the reference
# runs its check on one batch of its data); the outputs on all samples are the unbounded PGD's
# first forward pass's.
RANDOM_SAMPLES = 32
GRADIENT_BATCH = 128


def probe_model(
    model: nn.Module,
    classifier: PyTorchClassifier,
    x: np.ndarray,
    y: np.ndarray,
    n: int = 256,
    seed: int = 0,
    randomized: bool = False,
    eps: float | None = None,
    role: str = "",
) -> ModelProbe:
    """Probe ``model`` (and its ART ``classifier``) on up to ``n`` samples of x (N, C, H, W) in
    [0, 1] with labels y (N,), drawn without replacement by a generator seeded with ``seed``.
    x is not modified. ``randomized``: the model is random by design (graded WARN, not FAIL, if
    its outputs vary). ``eps``: L-inf radius (pixel units) of the random start at which the DLR
    gradient is taken, the run's largest eps as the reference takes its attack's (None: x itself).
    ``role``: the model's name in the run's timings (``harness.provenance.timed``)."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    xs, ys = x[pick].astype(np.float32), y[pick].astype(np.int64)  # fancy indexing: a copy
    k, timing = int(classifier.nb_classes), partial(timed, model=role, samples=len(xs))
    m = min(RANDOM_SAMPLES, len(xs))  # the randomness check's samples: the first m
    with timing("sanity.randomness", samples=m):
        passes = [predict_logits(model, xs[:m]) for _ in range(2)]
        with torch.random.fork_rng():  # the extra passes must not move the global generator
            passes += [predict_logits(model, xs[:m]) for _ in range(RANDOM_PASSES - 2)]
    with torch.random.fork_rng(), timing("sanity.dlr_gradient"):
        dlr_zero = _dlr_zero_gradients(model, xs, ys, eps, seed, k)
    with timing("sanity.unbounded_pgd"):  # its first step: the gradient and outputs at x
        unbounded, sample_steps, grads, first = unbounded_accuracy(
            model, xs, ys, UNBOUNDED_EPS, **UNBOUNDED_PGD
        )
    flat = grads.reshape(len(xs), -1)  # (n, C*H*W)
    second, ys_m = passes[1], ys[:m]
    return ModelProbe(
        n=len(xs),
        zero_grad_share=_share(np.all(flat == 0, axis=1)),
        nonfinite_grad_share=_share(~np.all(np.isfinite(flat), axis=1)),
        outputs_probabilities=_are_probabilities(first),
        min_output=float(first.min()) if first.size else 0.0,
        max_row_sum_error=float(np.abs(first.sum(1) - 1).max()) if first.size else 0.0,
        deterministic=not _random_by_reference(passes, ys_m),
        max_output_diff=float(np.nan_to_num(np.abs(passes[0] - second)).max()) if m else 0.0,
        unbounded_eps=UNBOUNDED_EPS,
        unbounded_steps=int(UNBOUNDED_PGD["steps"]),
        unbounded_accuracy=unbounded,
        num_classes=int(classifier.nb_classes),
        randomized=randomized,
        clean_accuracy=_share(first.argmax(1) == ys) if first.size else None,
        majority_share=float(np.bincount(ys).max() / len(ys)) if len(ys) else None,
        passes=len(passes),
        max_normalized_diff=_max_normalized_diff(passes),
        correct_counts_differ=len({int((p.argmax(1) == ys_m).sum()) for p in passes}) > 1,
        random_samples=m,
        max_output=float(first.max()) if first.size else 0.0,
        dlr_zero_grads=dlr_zero[0] if dlr_zero else None,
        dlr_samples=dlr_zero[1] if dlr_zero else None,
        dlr_eps=eps if dlr_zero else None,
        unbounded_sample_steps=sample_steps,
    )


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _are_probabilities(out: np.ndarray) -> bool:
    """fra31's check_range_output: all outputs in (-tol, 1 + tol), every row summing to 1."""
    if not out.size:
        return False
    rows_sum_to_one = np.abs(out.sum(axis=1) - 1) < PROBABILITY_TOL
    in_range = out.max() < 1 + PROBABILITY_TOL and out.min() > -PROBABILITY_TOL
    return bool(in_range and rows_sum_to_one.all())


def _max_normalized_diff(passes: list[np.ndarray]) -> float:
    """Largest L2 distance between the same row of two passes, each row scaled to unit L2 norm."""
    unit = [p / (np.linalg.norm(p, axis=1, keepdims=True) + 1e-10) for p in passes]
    diffs = [np.linalg.norm(a - b, axis=1).max() for i, a in enumerate(unit) for b in unit[i + 1 :]]
    return float(np.nan_to_num(max(diffs, default=0.0))) if passes[0].size else 0.0


def _random_by_reference(passes: list[np.ndarray], y: np.ndarray) -> bool:
    """fra31's check_randomized: the correct count changes, or some row moves by > RANDOM_TOL."""
    counts = {int((p.argmax(1) == y).sum()) for p in passes}
    return len(counts) > 1 or _max_normalized_diff(passes) > RANDOM_TOL


def _dlr_zero_gradients(
    model: nn.Module, x: np.ndarray, y: np.ndarray, eps: float | None, seed: int, num_classes: int
) -> tuple[int, int] | None:
    """(samples with an all-zero DLR-loss input gradient, samples looked at) at APGD's L-inf
    random start (x + eps t / ||t||_inf, t uniform in [-1, 1], clipped to [0, 1]).

    Only samples still correct at the start count, as APGD attacks only those: where the true
    class ranks exactly third, DLR = -(z_pi3 - z_pi1) / (z_pi1 - z_pi3) = 1 whatever the input,
    a zero gradient by construction, not masking. None under 3 classes or without samples."""
    if len(x) == 0:
        return None
    t = np.random.default_rng(seed).uniform(-1, 1, x.shape).astype(np.float32)
    scale = np.abs(t.reshape(len(x), -1)).max(1).reshape(-1, *[1] * (x.ndim - 1))
    start = np.clip(x + (eps or 0.0) * t / scale, 0, 1).astype(np.float32)
    if num_classes < 3:
        return None
    run = oom.batches_for(model, device.of(model)).run  # out of memory: the model's halving state
    grads, correct = run("dlr_gradient", partial(_dlr_gradient, model), [start, y], GRADIENT_BATCH)
    grads = grads.reshape(len(x), -1)
    zero = np.abs(grads).sum(1) == 0
    return int(np.count_nonzero(zero & correct)), int(np.count_nonzero(correct))


def _dlr_gradient(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of Croce & Hein's DLR loss, -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3), in eval
    mode on the model's device, and which samples are predicted correctly (3 outputs or more)."""
    dev = device.of(model)
    with evaluating(model):
        xt = torch.from_numpy(x).to(dev).requires_grad_(True)
        yt = torch.from_numpy(y).to(dev)
        z = model(xt)
        zs, _ = z.sort(dim=1)
        zy = z.gather(1, yt[:, None])[:, 0]
        other = z.masked_fill(nn.functional.one_hot(yt, z.shape[1]).bool(), -1e9)
        loss = -(zy - other.max(1).values) / (zs[:, -1] - zs[:, -3] + 1e-12)
        (grad,) = torch.autograd.grad(loss.sum(), xt)
        return grad.cpu().numpy(), (z.argmax(1) == yt).cpu().numpy()
