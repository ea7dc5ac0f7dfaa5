"""Weight analysis (seed 003): weight/bias histograms across epochs, spectral norms, and the
heavy-tailed ESD power-law exponent alpha of WeightWatcher (Martin & Mahoney 2019, 2021).

WeightWatcher is not a dependency; its method is reimplemented here:

- Each Linear weight W is a matrix; each Conv2d weight (out, in, kh, kw) gives kh*kw matrices
  W[:, :, i, j] of shape (out, in), one per spatial position (WeightWatcher's default,
  ``conv2d_fft=False``). A matrix is transposed so that it has N >= M (N rows, the larger
  dimension), as WeightWatcher does.
- The empirical spectral density (ESD) is that of the correlation matrix X = W^T W / N, i.e.
  the squared singular values divided by N: M eigenvalues per matrix. For a Conv2d the
  eigenvalues of all kh*kw slices are pooled into ONE ESD (WeightWatcher's default
  ``pool=True``; ``pool=False``, formerly ``ww2x=True``, fits each slice). Dividing by N only
  moves xmin: alpha is scale-free.
- The tail p(lambda) ~ lambda^-alpha for lambda >= xmin is fitted by maximum likelihood,
  alpha = 1 + n / sum(ln(lambda / xmin)), with xmin chosen among the eigenvalues to minimise the
  Kolmogorov-Smirnov distance D between the empirical tail CDF and the fitted one (Clauset,
  Shalizi & Newman 2009), as the ``powerlaw`` package does for WeightWatcher.
  One difference: WeightWatcher passes ``xmax = max(lambda)`` to ``powerlaw.Fit``, which then
  fits a power law truncated at xmax; here the tail is not truncated (the closed-form MLE).

Reading of alpha (WeightWatcher's rule of thumb, ``harness.report.alpha_reading``): 2 < alpha < 6
is typical of well-trained layers, alpha > 6 of under-trained ones (close to a random,
Marchenko-Pastur bulk), alpha < 2 of very heavy-tailed, possibly over-fitted ones.

The spectral norm reported for a Conv2d is the largest singular value of the weight reshaped
to (out, in*kh*kw), NOT the operator norm of the convolution on images; that one (which depends
on the input size, stride and padding) is ``conv_operator_norm``, found by power iteration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.results import WeightAnalysis

BINS = 30  # histogram bins per layer and epoch
MAX_LAYERS = 8  # layers whose histograms the recorder keeps (keeps run.json small)
MIN_EVALS = 10  # fewer eigenvalues than this: no power-law fit
ESD_BINS = 40  # log-spaced bins of the stored ESD
DIGITS = 5  # significant digits of stored floats


def layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every Conv2d and Linear of ``model``, by its name in ``named_modules``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


# ---------------------------------------------------------------- histograms across epochs


def histograms(
    model: nn.Module, bins: int = BINS
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Layer name -> {"weight": (counts, edges), "bias": (counts, edges)} (no "bias" if none).

    counts (bins,) int64, edges (bins + 1,) float64, over the parameter's own range (its finite
    values: NaN/inf from a diverged training are left out rather than breaking the histogram).
    """
    out = {}
    for name, module in layers(model):
        params = {"weight": module.weight, "bias": module.bias}
        out[name] = {k: _histogram(p, bins) for k, p in params.items() if p is not None}
    return out


def _histogram(p: torch.Tensor, bins: int) -> tuple[np.ndarray, np.ndarray]:
    values = p.detach().double().cpu().numpy().ravel()
    return np.histogram(values[np.isfinite(values)], bins=bins)


def _round(v: float, digits: int = DIGITS) -> float:
    return float(f"{v:.{digits}g}")


def compact(hist: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> dict[str, Any]:
    """``histograms`` output as JSON-ready lists: counts as ints, edges rounded floats."""
    return {
        name: {
            k: {"counts": [int(c) for c in counts], "edges": [_round(e) for e in edges]}
            for k, (counts, edges) in parts.items()
        }
        for name, parts in hist.items()
    }


def spread(names: Sequence[str], k: int) -> list[str]:
    """At most ``k`` of ``names``, evenly spaced, always keeping the first and the last."""
    if len(names) <= k:
        return list(names)
    picks = np.linspace(0, len(names) - 1, k).round().astype(int)
    return [names[i] for i in dict.fromkeys(picks.tolist())]


class WeightRecorder:
    """Per-epoch weight/bias histograms; pass it as ``run_epochs(..., snapshot=recorder)``.

    ``epochs`` is a list of {"epoch": e, "layers": {name: {"weight": {"counts", "edges"},
    "bias": ...}}}; only ``max_layers`` layers (evenly spread, first and last kept) are stored.
    Call it with epoch 0 before training to keep the initial weights too.
    """

    def __init__(self, bins: int = BINS, max_layers: int = MAX_LAYERS) -> None:
        self.bins, self.max_layers = bins, max_layers
        self.epochs: list[dict[str, Any]] = []

    @torch.no_grad()
    def __call__(self, epoch: int, model: nn.Module) -> None:
        kept = set(spread([n for n, _ in layers(model)], self.max_layers))
        hist = {n: h for n, h in histograms(model, self.bins).items() if n in kept}
        self.epochs.append({"epoch": int(epoch), "layers": compact(hist)})


# ---------------------------------------------------------------- spectral norms


def matrix_of(module: nn.Module) -> torch.Tensor:
    """The weight as a matrix: Linear (out, in); Conv2d reshaped to (out, in*kh*kw)."""
    w = module.weight.detach().double()
    return w.reshape(w.shape[0], -1)


def spectral_norms(model: nn.Module) -> dict[str, float]:
    """Layer -> largest singular value of its weight matrix (Conv2d: the reshaped matrix); NaN
    for a layer whose weights are not finite (the SVD is undefined)."""
    return {name: _spectral_norm(m) for name, m in layers(model)}


def _spectral_norm(module: nn.Module) -> float:
    if not finite(module):
        return math.nan
    return float(torch.linalg.matrix_norm(matrix_of(module), ord=2))


def finite(module: nn.Module) -> bool:
    """Whether the layer's weight holds no NaN or inf."""
    return bool(torch.isfinite(module.weight.detach()).all())


def conv_input_sizes(model: nn.Module, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Conv2d name -> the (C, H, W) it sees when ``model`` gets one input of ``input_shape``."""
    sizes: dict[str, tuple[int, ...]] = {}

    def keep(name: str):
        def hook(_module: nn.Module, args: tuple, _output: torch.Tensor) -> None:  # None: no change
            sizes.setdefault(name, tuple(int(v) for v in args[0].shape[1:]))

        return hook

    hooks = [m.register_forward_hook(keep(n)) for n, m in layers(model) if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return sizes


def conv_operator_norm(conv: nn.Conv2d, input_chw: Sequence[int], iters: int = 100) -> float:
    """Largest singular value of the linear map x -> conv(x) (bias left out) on (C, H, W) inputs.

    Power iteration on A^T A, with A^T applied by autograd (the transposed convolution, so
    stride, padding, dilation and groups are handled exactly).
    """
    w = conv.weight.detach().double()
    apply = lambda x: conv._conv_forward(x, w, None)  # noqa: E731
    x = torch.randn(1, *input_chw, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sigma = 0.0
    for _ in range(iters):
        x = (x / x.norm()).requires_grad_(True)
        y = apply(x)
        (grad,) = torch.autograd.grad(0.5 * (y * y).sum(), x)  # A^T A x
        sigma = float(y.detach().norm())
        x = grad.detach()
    return sigma


# ---------------------------------------------------------------- ESD and power-law alpha


def eigenvalues(module: nn.Module) -> np.ndarray:
    """Sorted eigenvalues of X = W^T W / N (W transposed to N >= M); Conv2d slices pooled."""
    w = module.weight.detach().double()
    mats = (
        [w]
        if w.ndim == 2
        else [w[:, :, i, j] for i in range(w.shape[2]) for j in range(w.shape[3])]
    )
    out = [esd(m.cpu().numpy()) for m in mats]
    return np.sort(np.concatenate(out))


def esd(matrix: np.ndarray) -> np.ndarray:
    """Eigenvalues of W^T W / N for one matrix, N = the larger dimension (M = min eigenvalues)."""
    w = np.asarray(matrix, dtype=np.float64)
    n = max(w.shape)
    return np.linalg.svd(w, compute_uv=False) ** 2 / n


def fit_power_law(eigs: np.ndarray) -> dict[str, float | int]:
    """Fit p(x) ~ x^-alpha on x >= xmin: MLE alpha for each candidate xmin (every distinct value
    but the largest), keep the xmin with the smallest KS distance D (Clauset et al. 2009).

    Returns alpha, xmin, D, n_tail. Values <= 0 are dropped (zero eigenvalues of rank-deficient
    matrices; WeightWatcher drops them too).
    """
    x = np.sort(np.asarray(eigs, dtype=np.float64))
    x = x[x > 0]
    logs = np.log(x)
    # suffix sums of log x: the tail starting at index k has sum(log x[k:]) = tail_log[k]
    tail_log = np.cumsum(logs[::-1])[::-1]
    best = {"alpha": math.nan, "xmin": math.nan, "D": math.inf, "n_tail": 0}
    starts = np.unique(x[:-1], return_index=True)[1] if len(x) > 1 else []
    for k in starts:
        n = len(x) - k
        denom = tail_log[k] - n * logs[k]  # sum(ln(x / xmin)) over the tail
        if denom <= 0:
            continue
        alpha = 1.0 + n / denom
        d = _ks(x[k:], x[k], alpha)
        if d < best["D"]:
            best = {"alpha": float(alpha), "xmin": float(x[k]), "D": d, "n_tail": int(n)}
    return best


def _ks(tail: np.ndarray, xmin: float, alpha: float) -> float:
    """Two-sided KS distance between the sorted ``tail`` and the power law's CDF."""
    n = len(tail)
    cdf = 1.0 - (tail / xmin) ** (1.0 - alpha)
    steps = np.arange(1, n + 1) / n
    return float(max(np.max(steps - cdf), np.max(cdf - (steps - 1.0 / n))))


def esd_alpha(matrix: np.ndarray | torch.Tensor, min_evals: int = MIN_EVALS) -> dict[str, Any]:
    """WeightWatcher's alpha for one matrix: alpha, xmin, D, n_tail, n_evals, and ``note`` (why
    it was skipped, else ""; alpha/xmin/D are None then). Pooled eigenvalues: ``alpha_of``."""
    m = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else matrix
    return alpha_of(esd(m), min_evals)


def alpha_of(eigs: np.ndarray, min_evals: int = MIN_EVALS) -> dict[str, Any]:
    """Power-law fit of a set of ESD eigenvalues, or None values and a note if too few."""
    n = int(np.sum(np.asarray(eigs) > 0))
    if n < min_evals:
        note = f"{n} non-zero eigenvalues < {min_evals}: no fit"
        return {"alpha": None, "xmin": None, "D": None, "n_tail": 0, "n_evals": n, "note": note}
    fit = fit_power_law(eigs)
    return {**fit, "n_evals": n, "note": ""}


def log_histogram(eigs: np.ndarray, bins: int = ESD_BINS) -> tuple[list[int], list[float]]:
    """Counts over log-spaced bins of the positive eigenvalues (for the log-log ESD plot)."""
    x = np.asarray(eigs, dtype=np.float64)
    x = x[x > 0]
    if len(x) == 0:
        return [], []
    lo, hi = np.log10(x.min()), np.log10(x.max())
    edges = np.logspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
    counts, _ = np.histogram(x, bins=edges)
    return [int(c) for c in counts], [_round(e) for e in edges]


# ---------------------------------------------------------------- the whole model


def _layer_row(
    name: str, module: nn.Module, input_chw: Sequence[int] | None, min_evals: int
) -> dict[str, Any]:
    """One layer's shape, spectral norm, ESD fit and (a convolution's) operator norm."""
    eigs = eigenvalues(module)
    fit = alpha_of(eigs, min_evals)
    counts, edges = log_histogram(eigs)
    row = {
        "name": name,
        "kind": type(module).__name__,
        "shape": list(module.weight.shape),
        "spectral_norm": _round(_spectral_norm(module)),
        **{k: _round(v) if isinstance(v, float) else v for k, v in fit.items()},
        "esd_counts": counts,
        "esd_edges": edges,
    }
    if input_chw is not None:
        row["operator_norm"] = _round(conv_operator_norm(module, input_chw))
    return row


def _nonfinite_row(name: str, module: nn.Module) -> dict[str, Any]:
    """A layer with NaN/inf weights (a diverged training): no SVD, so no norms or fit."""
    note = "non-finite weights (NaN or inf): no spectral analysis"
    return {
        "name": name,
        "kind": type(module).__name__,
        "shape": list(module.weight.shape),
        "spectral_norm": None,
        **{"alpha": None, "xmin": None, "D": None, "n_tail": 0, "n_evals": 0, "note": note},
        "esd_counts": [],
        "esd_edges": [],
    }


def analyse(
    model: nn.Module,
    recorder: WeightRecorder | None = None,
    input_shape: Sequence[int] | None = None,
    min_evals: int = MIN_EVALS,
) -> WeightAnalysis:
    """Per Conv2d/Linear layer: shape, spectral norm, ESD alpha fit; plus the recorder's epochs.

    ``input_shape`` (C, H, W): also the operator norm of each convolution on inputs of that size.
    """
    sizes = conv_input_sizes(model, input_shape) if input_shape else {}
    rows = [
        _layer_row(name, module, sizes.get(name), min_evals)
        if finite(module)
        else _nonfinite_row(name, module)
        for name, module in layers(model)
    ]
    bins = recorder.bins if recorder else BINS
    return WeightAnalysis(layers=rows, epochs=list(recorder.epochs) if recorder else [], bins=bins)
