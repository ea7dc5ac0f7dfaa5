"""The empirical spectral density (ESD) of a layer's weights and its power-law exponent alpha
(WeightWatcher, Martin & Mahoney 2019, 2021), fitted by the harness itself.

This is WeightWatcher 0.7.7's method with its default options (``pool=True``, ``pl_package="ww"``,
no ``xmax``, no ``fix_fingers``), written out so that the weight analysis works without it;
when WeightWatcher is installed, ``harness.esd_ww`` asks it instead, and
tests/test_esd_weightwatcher.py checks that both give the same alpha (within 0.05) on the layers
of the harness's models.

- Each Linear weight W is a matrix; each Conv2d weight (out, in, kh, kw) gives kh*kw matrices
  W[:, :, i, j] of shape (out, in), one per spatial position. A matrix is transposed so that it
  has N >= M (N rows, the larger dimension).
- The ESD is that of the correlation matrix X = W^T W / N, i.e. the squared singular values
  divided by N: M eigenvalues per matrix, and the kh*kw slices of a Conv2d pooled into ONE ESD.
  (WeightWatcher leaves out the 1/N; alpha is scale-free, only xmin moves.)
- Eigenvalues of W^T W at or below 1e-5 (WeightWatcher's ``EVALS_THRESH``) are left out of the
  fit; a layer with fewer than ``MIN_EVALS`` eigenvalues in all is not fitted.
- The tail p(lambda) ~ lambda^-alpha for lambda >= xmin is fitted by maximum likelihood,
  alpha = 1 + n / sum(ln(lambda / xmin)), for every eigenvalue but the largest as xmin; the
  xmin kept is the one with the smallest distance D = max |F_emp - F_fit| over the tail, with
  F_emp = 0, 1/n, ..., (n-1)/n (WeightWatcher's Kolmogorov-Smirnov distance, Clauset, Shalizi
  & Newman 2009).
- Fewer than 20 eigenvalues (WeightWatcher's small-N fit): the bias-corrected estimator
  alpha = 1 + (n - 1) / sum(ln(lambda / xmin)), on tails of at least 8, again the xmin of the
  smallest D. (WeightWatcher 0.7.7's small-N fit ranks xmin by D - 0.868 / sqrt(n), but its
  caller then keeps the xmin of the smallest D; the harness does what it returns.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

MIN_EVALS = 10  # fewer eigenvalues than this: no power-law fit
EVALS_FLOOR = 1e-5  # WeightWatcher's EVALS_THRESH, on eigenvalues of W^T W (not divided by N)
SMALL_N = 20  # WeightWatcher's SMALL_N_CUTOFF: fewer eigenvalues take the small-N fit
SMALL_N_MIN_TAIL = 8  # the small-N fit's shortest tail (its k_min)
ESD_BINS = 40  # log-spaced bins of the stored ESD
KS_STRIDE = 16  # every 16th sample of a tail bounds its D from below (``_bounded``)


def eigenvalues(module: nn.Module, grams: np.ndarray | None = None) -> np.ndarray:
    """Sorted eigenvalues of X = W^T W / N (W transposed to N >= M); Conv2d slices pooled.
    ``grams``: the layer's ``slice_grams`` when already computed."""
    g = slice_grams(module.weight) if grams is None else grams
    return np.sort(_gram_eigenvalues(g).ravel()) / rows(module.weight.shape)


def slice_grams(weight: torch.Tensor) -> np.ndarray:
    """The smaller Gram matrix of each of the layer's matrices (a Linear's W, a Conv2d's kh*kw
    slices W[:, :, i, j]), (S, M, M) float64: W W^T when out <= in, else W^T W. Its eigenvalues
    are the squared singular values; W W^T summed over the slices is the Gram matrix of the
    reshaped (out, in*kh*kw) weight, whose top eigenvalue is the spectral norm squared."""
    w = weight.detach().double().cpu()
    mats = w[None] if w.ndim == 2 else w.permute(2, 3, 0, 1).reshape(-1, w.shape[0], w.shape[1])
    m = mats.numpy()
    return m @ m.transpose(0, 2, 1) if w.shape[0] <= w.shape[1] else m.transpose(0, 2, 1) @ m


def _gram_eigenvalues(grams: np.ndarray) -> np.ndarray:
    """Eigenvalues of each symmetric Gram matrix, (S, M), rounding noise below 0 set to 0.

    LAPACK's symmetric solver on the M x M Gram matrix takes a third of the time of an SVD of
    the matrix itself (ResNet-18: 16 vs 45 ms per 512 x 512 slice) and gives its squared
    singular values within about 1e-14 of the largest (absolute): the same figures except for
    eigenvalues that far below the top, which the fit leaves out anyway (``EVALS_FLOOR``)."""
    return np.maximum(np.linalg.eigvalsh(grams), 0.0)


def esd(matrix: np.ndarray) -> np.ndarray:
    """Eigenvalues of W^T W / N for one matrix, N = the larger dimension (M = min eigenvalues)."""
    w = torch.from_numpy(np.asarray(matrix, dtype=np.float64))
    return _gram_eigenvalues(slice_grams(w))[0] / rows(w.shape)


def rows(shape: tuple[int, ...] | torch.Size) -> int:
    """N of a layer's weight of this shape: the larger of (out, in), the same for every slice."""
    return int(max(shape[0], shape[1]))


def fit_power_law(eigs: np.ndarray) -> dict[str, float | int]:
    """Fit p(x) ~ x^-alpha on x >= xmin (see the module docstring): alpha, xmin, D, n_tail.

    Values <= 0 are dropped (zero eigenvalues of rank-deficient matrices). NaN alpha when no
    candidate xmin gives a tail (fewer than 2 values, or all equal).
    """
    x = np.sort(np.asarray(eigs, dtype=np.float64))
    x = x[x > 0]
    fits = _small_n_fits(x) if len(x) < SMALL_N else _fits(x)
    if not fits:
        return {"alpha": math.nan, "xmin": math.nan, "D": math.inf, "n_tail": 0}
    _, k, alpha, d = min(fits)  # the first of equal scores, as numpy's argmin
    return {"alpha": alpha, "xmin": float(x[k]), "D": d, "n_tail": int(np.sum(x >= x[k]))}


def _fits(x: np.ndarray) -> list[tuple[float, int, float, float]]:
    """(score = D, index of xmin, alpha, D) for every xmin but the largest value (the MLE) whose
    D can be the smallest: the others' D is known to exceed it (``_bounded``), so the minimum
    and its ties are those of scoring every xmin."""
    tails = _tails(x)
    if not tails:
        return []
    k, n, denom = (np.array(c) for c in zip(*tails, strict=True))
    alpha = 1.0 + n / denom
    k, alpha, d = _bounded(x, k, alpha)
    return [
        (float(di), int(ki), float(ai), float(di)) for ki, ai, di in zip(k, alpha, d, strict=True)
    ]


def _bounded(
    x: np.ndarray, ks: np.ndarray, alphas: np.ndarray, stride: int = KS_STRIDE, group: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ks, alphas, D) of the candidates whose D can be the smallest, D exact.

    The largest gap over every ``stride``-th sample of a tail is a lower bound of its D (the
    same numbers, fewer of them). Candidates are scored exactly in order of their bound until
    the next bound exceeds the smallest D found: 4608 eigenvalues (a ResNet-18 layer) then take
    a small fraction of the n^2 / 2 gaps of scoring them all."""
    cols = np.unique(np.r_[np.arange(0, len(x), stride), len(x) - 1])
    bound = _ks_many(x, ks, alphas, cols)
    order, best, kept = np.argsort(bound, kind="stable"), math.inf, []
    for g in range(0, len(order), group):
        pick = np.sort(order[g : g + group])
        if bound[order[g]] > best:
            break  # every candidate left has D >= its bound > best
        d = _ks_many(x, ks[pick], alphas[pick])
        best = min(best, float(d.min()))
        kept.append((pick, d))
    pick = np.concatenate([p for p, _ in kept])
    return ks[pick], alphas[pick], np.concatenate([d for _, d in kept])


def _ks_many(
    x: np.ndarray,
    ks: np.ndarray,
    alphas: np.ndarray,
    cols: np.ndarray | None = None,
    block: int = 256,
) -> np.ndarray:
    """``_ks(x[k:], alpha)`` for each (k, alpha), a block of xmin candidates per numpy pass (the
    one loop over xmin in Python cost more than the arithmetic on a 4608-eigenvalue layer).
    ``cols``: only these sorted sample indices (the last one among them) count, a lower bound."""
    logs, out = np.log(x), np.empty(len(ks))
    cols = np.arange(len(x)) if cols is None else cols
    for b in range(0, len(ks), block):
        k, a = ks[b : b + block, None], alphas[b : b + block, None]
        n = len(x) - k
        i = cols[cols >= k.min()]
        tail = i[None, :] >= k  # (block, columns): the samples of each tail
        above = np.maximum(logs[None, i] - logs[k], 0.0)  # ln(x / xmin), 0 off the tail
        power = np.exp((1.0 - a) * above)
        gap = np.abs(1.0 - power - (i[None, :] - k) / n)
        out[b : b + block] = np.where(tail, gap, 0.0).max(axis=1)
    return out


def _small_n_fits(x: np.ndarray) -> list[tuple[float, int, float, float]]:
    """The same for fewer than SMALL_N values: bias-corrected alpha, tails of SMALL_N_MIN_TAIL+."""
    tails = [t for t in _tails(x) if t[2] > 1e-12]
    out = [_small_n_fit(x, *t) for t in tails if t[1] >= SMALL_N_MIN_TAIL]
    out = [f for f in out if f[2] > 1.0]
    # no tail long enough: WeightWatcher takes the whole ESD as the tail
    return out or [_small_n_fit(x, *t) for t in tails[:1] if t[0] == 0]


def _small_n_fit(x: np.ndarray, k: int, n: int, denom: float) -> tuple[float, int, float, float]:
    alpha = 1.0 + (n - 1.0) / denom
    d = _ks(x[k:], alpha)
    return (d, k, alpha, d)


def _tails(x: np.ndarray) -> list[tuple[int, int, float]]:
    """(k, n, sum(ln(x / x[k])) over x[k:]) for each candidate xmin x[k], k < len(x) - 1."""
    logs = np.log(x)
    tail_log = np.cumsum(logs[::-1])[::-1]  # tail_log[k] = sum(log x[k:])
    out = []
    for k in range(len(x) - 1):
        n = len(x) - k
        denom = float(tail_log[k] - n * logs[k])
        if denom > 0:  # 0 when the whole tail equals xmin: no fit
            out.append((k, n, denom))
    return out


def _ks(tail: np.ndarray, alpha: float) -> float:
    """max |F_emp - F_fit| over the sorted ``tail``, F_emp = i/n for i = 0..n-1 (WeightWatcher's)."""
    n = len(tail)
    cdf = 1.0 - (tail / tail[0]) ** (1.0 - alpha)
    return float(np.max(np.abs(cdf - np.arange(n) / n)))


def esd_alpha(matrix: np.ndarray | torch.Tensor, min_evals: int = MIN_EVALS) -> dict[str, Any]:
    """WeightWatcher's alpha for one matrix: alpha, xmin, D, n_tail, n_evals, and ``note`` (why
    it was skipped, else ""; alpha/xmin/D are None then). Pooled eigenvalues: ``alpha_of``."""
    m = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else matrix
    return alpha_of(esd(m), min_evals, EVALS_FLOOR / rows(m.shape))


def alpha_of(eigs: np.ndarray, min_evals: int = MIN_EVALS, floor: float = 0.0) -> dict[str, Any]:
    """Power-law fit of a layer's ESD eigenvalues (those > ``floor``), or None values and a note
    if the layer has fewer than ``min_evals`` eigenvalues or the fit fails."""
    eigs = np.asarray(eigs, dtype=np.float64)
    n = int(np.sum(eigs > 0))
    if len(eigs) < min_evals:
        return _no_fit(n, f"{len(eigs)} eigenvalues < {min_evals}: no fit")
    fit = fit_power_law(eigs[eigs > floor])
    if not math.isfinite(fit["alpha"]):
        return _no_fit(n, "power-law fit failed: too few distinct non-zero eigenvalues")
    return {**fit, "n_evals": n, "note": ""}


def _no_fit(n_evals: int, note: str) -> dict[str, Any]:
    return {"alpha": None, "xmin": None, "D": None, "n_tail": 0, "n_evals": n_evals, "note": note}


def log_histogram(eigs: np.ndarray, bins: int = ESD_BINS) -> tuple[list[int], list[float]]:
    """Counts over log-spaced bins of the positive eigenvalues (for the log-log ESD plot)."""
    x = np.asarray(eigs, dtype=np.float64)
    x = x[x > 0]
    if len(x) == 0:
        return [], []
    lo, hi = np.log10(x.min()), np.log10(x.max())
    edges = np.logspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
    counts, _ = np.histogram(x, bins=edges)
    return [int(c) for c in counts], [float(f"{e:.5g}") for e in edges]
