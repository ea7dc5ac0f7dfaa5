"""Weight analysis: weight/bias histograms across epochs, spectral norms, and the
heavy-tailed ESD power-law exponent alpha of WeightWatcher (Martin & Mahoney 2019, 2021).

The ESD and its fit are ``harness.esd``'s. Where WeightWatcher (the optional extra ``esd``) is
installed, alpha, xmin, D and the tail size come from WeightWatcher itself (``harness.esd_ww``),
otherwise from the harness's fit of the same method; each layer's ``fit`` field says which
("weightwatcher 0.7.7" or "harness").

Reading of alpha (WeightWatcher's rule of thumb, ``harness.report.alpha_reading``): 2 < alpha < 6
is typical of well-trained layers, alpha > 6 of under-trained ones (close to a random,
Marchenko-Pastur bulk), alpha < 2 of very heavy-tailed, possibly over-fitted ones.

The spectral norm reported for a Conv2d is the largest singular value of the weight reshaped
to (out, in*kh*kw), NOT the operator norm of the convolution on images; that one (which depends
on the input size, stride and padding) is ``conv_operator_norm`` (``harness.conv_norm``, Lanczos).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from harness import device, esd_ww
from harness.conv_norm import conv_operator_norm
from harness.esd import (
    EVALS_FLOOR,
    MIN_EVALS,
    alpha_of,
    eigenvalues,
    log_histogram,
    rows,
    slice_grams,
)
from harness.modes import evaluating
from harness.results import WeightAnalysis

BINS = 30  # histogram bins per layer and epoch
# the largest input side a convolution's operator norm is computed on (``bounded_input``), so
# that the cost stops growing with the input's pixels: a ResNet-18 behind a 224 x 224 resize
# (feature maps up to 112 x 112) took 66 CPU s uncut and 43 s cut (11 s at 32 x 32 inputs);
# no shipped benchmark's input is larger than 32 x 32, so none of their numbers change
OPERATOR_NORM_SIDE = 32
MAX_LAYERS = 8  # layers whose histograms the recorder keeps (keeps run.json small)
HARNESS_FIT = "harness"  # the ``fit`` of a layer fitted by harness.esd
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

    def state_dict(self) -> dict[str, Any]:
        """The histograms so far (plain lists), for a training checkpoint."""
        return {"epochs": self.epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = list(state["epochs"])


# ---------------------------------------------------------------- spectral norms


def matrix_of(module: nn.Module) -> torch.Tensor:
    """The weight as a matrix: Linear (out, in); Conv2d reshaped to (out, in*kh*kw)."""
    w = module.weight.detach().double()
    return w.reshape(w.shape[0], -1)


def spectral_norms(model: nn.Module) -> dict[str, float]:
    """Layer -> largest singular value of its weight matrix (Conv2d: the reshaped matrix); NaN
    for a layer whose weights are not finite (the SVD is undefined)."""
    return {name: _spectral_norm(m) for name, m in layers(model)}


def _spectral_norm(module: nn.Module, grams: np.ndarray | None = None) -> float:
    """sqrt of the largest eigenvalue of the smaller Gram matrix of ``matrix_of``: (out, out)
    for a Conv2d, whose (out, in*kh*kw) matrix is wide, ten times cheaper than its SVD and equal
    to it within 1e-14 relative (float64). ``grams``: the layer's ``slice_grams``, whose sum is
    that Gram matrix when out <= in (then it costs no product of its own)."""
    if not finite(module):
        return math.nan
    w = module.weight
    if grams is not None and w.shape[0] <= w.shape[1]:
        gram = torch.from_numpy(grams.sum(axis=0))
    else:
        m = matrix_of(module)
        gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return math.sqrt(max(float(torch.linalg.eigvalsh(gram)[-1]), 0.0))


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
    try:
        with evaluating(model, grad=False):
            model(torch.zeros(1, *input_shape, device=device.of(model)))
    finally:
        for h in hooks:
            h.remove()
    return sizes


# ---------------------------------------------------------------- the whole model


def _spectrum(module: nn.Module) -> tuple[np.ndarray, float]:
    """A finite layer's ESD and spectral norm, from one set of Gram matrices (``slice_grams``)."""
    grams = slice_grams(module.weight)
    return eigenvalues(module, grams), _spectral_norm(module, grams)


def _layer_row(
    name: str,
    module: nn.Module,
    input_chw: Sequence[int] | None,
    eigs: np.ndarray,
    spectral_norm: float,
    fit: dict[str, Any],
) -> dict[str, Any]:
    """One layer's shape, spectral norm, ESD fit and (a convolution's) operator norm."""
    counts, edges = log_histogram(eigs)
    row = {
        "name": name,
        "kind": type(module).__name__,
        "shape": list(module.weight.shape),
        "spectral_norm": _round(spectral_norm),
        **{k: _round(v) if isinstance(v, float) else v for k, v in fit.items()},
        "esd_counts": counts,
        "esd_edges": edges,
    }
    if input_chw is not None:
        used = bounded_input(input_chw)
        row["operator_norm"] = _round(conv_operator_norm(module, used))
        if used != tuple(input_chw):  # a lower bound of the norm on the whole input
            row["operator_norm_input"] = list(used)
    return row


def bounded_input(input_chw: Sequence[int]) -> tuple[int, ...]:
    """The (C, H, W) a convolution's operator norm is computed on: its input, cut to at most
    ``OPERATOR_NORM_SIDE`` on a side. The norm on a top-left crop is a lower bound of the norm on the whole
    input (a crop, zero-filled to the full size, is one of the full size's inputs, and the
    convolution's outputs over the crop are the crop's own), and it approaches the whole
    input's as the crop grows (Sedghi et al. 2019: both tend to the circular convolution's)."""
    c, h, w = (int(v) for v in input_chw)
    return (c, min(h, OPERATOR_NORM_SIDE), min(w, OPERATOR_NORM_SIDE))


def spectra(model: nn.Module) -> dict[str, np.ndarray]:
    """Finite layer's name -> its ESD (``harness.esd.eigenvalues``)."""
    return {n: eigenvalues(m) for n, m in layers(model) if finite(m)}


def esd_fits(
    model: nn.Module,
    min_evals: int = MIN_EVALS,
    weightwatcher: bool | None = None,
    esds: dict[str, np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """Finite layer's name -> its ESD power-law fit: alpha, xmin, D, n_tail, n_evals, note, and
    ``fit``, the implementation that fitted it. ``weightwatcher``: whether WeightWatcher fits
    (None: where it is installed); else the harness's fit (``harness.esd``). ``esds``: the
    layers' ``spectra`` when already computed."""
    esds = spectra(model) if esds is None else esds
    if not (esd_ww.available() if weightwatcher is None else weightwatcher):
        n_rows = {n: rows(m.weight.shape) for n, m in layers(model)}
        return {n: _harness_fit(e, n_rows[n], min_evals) for n, e in esds.items()}
    ww, label = esd_ww.fits(model, list(esds), min_evals), esd_ww.label()
    return {n: _ww_fit(ww.get(n), e, min_evals, label) for n, e in esds.items()}


def _harness_fit(eigs: np.ndarray, n_rows: int, min_evals: int) -> dict[str, Any]:
    floor = EVALS_FLOOR / n_rows  # WeightWatcher's threshold on W^T W, on the scale of W^T W / N
    return {**alpha_of(eigs, min_evals, floor), "fit": HARNESS_FIT}


def _ww_fit(
    ww: dict[str, Any] | None, eigs: np.ndarray, min_evals: int, label: str
) -> dict[str, Any]:
    """WeightWatcher's fit of one layer (None: it skipped the layer) with the harness's fields."""
    if ww is None:
        note = f"{len(eigs)} eigenvalues < {min_evals}: no fit"  # its only reason to skip one
        ww = {"alpha": None, "xmin": None, "D": None, "n_tail": 0, "note": note}
    n_evals = int(np.sum(eigs > 0))
    keys = ("alpha", "xmin", "D", "n_tail")
    return {
        **{k: ww[k] for k in keys},
        "n_evals": n_evals,
        "note": ww.get("note", ""),
        "fit": label,
    }


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
    weightwatcher: bool | None = None,
) -> WeightAnalysis:
    """Per Conv2d/Linear layer: shape, spectral norm, ESD alpha fit; plus the recorder's epochs.

    ``input_shape`` (C, H, W): also the operator norm of each convolution on inputs of that size.
    ``weightwatcher``: see ``esd_fits``.
    """
    sizes = conv_input_sizes(model, input_shape) if input_shape else {}
    found = {n: _spectrum(m) for n, m in layers(model) if finite(m)}
    esds = {n: eigs for n, (eigs, _) in found.items()}
    fits = esd_fits(model, min_evals, weightwatcher, esds)
    out = [
        _layer_row(name, module, sizes.get(name), *found[name], fits[name])
        if name in fits
        else _nonfinite_row(name, module)
        for name, module in layers(model)
    ]
    bins = recorder.bins if recorder else BINS
    return WeightAnalysis(layers=out, epochs=list(recorder.epochs) if recorder else [], bins=bins)
